import AudioProcessing
import BridgeChannel
import Codecs
import Congestion
import JitterBuffer
import Logging
import Media
import RTCP
import RTP
import Runtime
import Session
import Synchronization
import Transport
import Wire

extension MediaTransport: PacketSink {
    func send(_ datagram: UnsafeRawBufferPointer) throws(SocketError) {
        guard transmit(datagram) else { throw .system("no selected ICE pair", errno: 101) }
    }
}

/// The media of one call: the transport, the two sending threads once DTLS has produced
/// keys, and RTCP in both directions. RTCP runs on the transport's network thread: NACKs
/// are answered from the send history, PLI/FIR make a keyframe (rate-limited), receiver
/// reports and REMB steer the video bitrate, and the box reports on what it receives.
final class CallMedia: @unchecked Sendable {
    struct Sources: Sendable {
        var video: VideoSendPlan.Source?
        var audio: AudioLoopPlan.Capture?
        var encoder: VP8EncoderSettings
        var opus: OpusEncoderSettings
        /// Where the others are played; `.null` measures the mix and drops it.
        var playback: AudioLoopPlan.Playback = .null
        var volume = 80
        var processing = MicrophoneProcessingSettings()
    }

    let transport: MediaTransport
    let plan: CallPlan
    let sources: Sources
    let control: SendControl
    let logger: Logger
    /// Called (on the network thread) when media flows, stops, or fails, with a reason.
    var onStateChange: ((MediaTransport.State) -> Void)?
    /// Bridge-channel messages about the conference (speakers, forwarded sources), on the
    /// network thread.
    var onBridgeMessage: ((BridgeChannelMessage) -> Void)?

    private let lock = Lock()
    private var threads: [BackgroundThread] = []
    // The state below is touched only on the transport's network thread (its callbacks).
    private var videoOutput: VideoPacketOutput?
    /// Paces the video's packets (issue 13 item 3); nil before the transport connected. Set
    /// under `lock` on the network thread; read through `pacer` from others.
    private var videoPacer: VideoPacer?
    var pacer: VideoPacer? { lock.withLock { videoPacer } }
    private var keyframes = KeyframeRequestLimiter()
    private var bitrate: LossBasedBitrate
    private var rembKbps: Int?
    private var received: [UInt32: ReceiveStatistics] = [:]
    private var nacks: [UInt32: NACKGenerator] = [:]
    private var nextReport: UInt64 = 0
    /// The RTP times the sender reports carried last, per stream.
    var videoReportTimeline = SenderReportTimeline()
    var audioReportTimeline = SenderReportTimeline()
    /// Transport-cc feedback on what the box receives, when negotiated.
    var transportFeedback = TransportFeedbackGenerator()
    /// The peer's transport-cc feedback on what the box sent, joined with the send history,
    /// and GoogCC's delay-based estimate from it (network thread).
    var feedbackAdapter = TransportFeedbackAdapter()
    var delayBased: DelayBasedEstimator
    /// The others' audio on its way to the audio thread, and what that thread plays.
    let remoteAudio = RemoteAudioIntake()
    let playback = PlaybackMonitor()
    /// The others' video on its way to the video receive thread, and what that thread decodes.
    let remoteVideo = RemoteVideoIntake()
    let videoReceived = VideoReceiveMonitor()
    /// Where decoded pictures go; set before `start`.
    var videoSink: any VideoSink = DiscardingVideoSink()
    /// Where the box's own pictures go for the screen's self view; set before `start`.
    var selfView: (any SelfViewSink)?
    let receivedPackets = Atomic<Int>(0)
    let keyframeRequests = Atomic<Int>(0)
    /// PLIs the box sent for the others' video.
    let keyframeRequestsSent = Atomic<Int>(0)
    let nacksReceived = Atomic<Int>(0)
    /// Transport-cc feedback packets the box sent, and the packets they reported received.
    let transportFeedbackSent = Atomic<Int>(0)
    let transportFeedbackReported = Atomic<Int>(0)
    /// What the peer's transport-cc feedback said of the box's packets, and the rate it
    /// acknowledged (kbit/s, 0 until measured).
    let peerFeedback = Mutex(TransportFeedbackAdapter.Statistics())
    let acknowledgedKbps = Atomic<Int>(0)
    /// The delay-based estimate (kbit/s, 0 until feedback came), its detector's verdict and
    /// how often it found the path overused: why the video rate is what it is.
    let delayBasedKbps = Atomic<Int>(0)
    let delayUsage = Atomic<Int>(0)
    let overuses = Atomic<Int>(0)

    /// Where a real camera's permits come from; nil: the test pattern only.
    let permits: (any CameraPermits)?
    /// The bridge channel, when the session has one.
    let bridgeChannel: BridgeChannelLink?

    init(transport: MediaTransport, plan: CallPlan, sources: Sources, logger: Logger, cameraLive: Bool, micMuted: Bool = false,
         permits: (any CameraPermits)? = nil) {
        self.transport = transport
        self.plan = plan
        self.sources = sources
        self.logger = logger
        self.permits = permits
        control = SendControl(videoBitrateKbps: sources.encoder.bitrateKbps, cameraLive: cameraLive, micMuted: micMuted)
        bridgeChannel = plan.bridgeChannel ? BridgeChannelLink(transport: transport, dtlsClient: plan.dtlsRole == .client, port: plan.sctpPort, logger: logger) : nil
        bitrate = LossBasedBitrate(minimumKbps: 100, maximumKbps: sources.encoder.bitrateKbps, startKbps: sources.encoder.bitrateKbps)
        // Started at what the encoder starts at with the audio on top: a path that carries
        // less is found by the first overuse (within a second), one that carries it is used
        // at once (there is no prober yet to climb fast from a lower start).
        delayBased = DelayBasedEstimator(startBps: (sources.encoder.bitrateKbps + Self.audioReserveKbps) * 1000,
                                         minimumBps: (100 + Self.audioReserveKbps) * 1000,
                                         maximumBps: (sources.encoder.bitrateKbps + Self.audioReserveKbps) * 2000)
        applyTargets()  // the pacing target before any estimate
    }

    /// Starts ICE/DTLS towards `remote`; media starts by itself once keys exist.
    func start(remote: MediaSession) throws {
        transport.onStateChange = { [weak self] state in self?.transportChanged(state) }
        transport.onRTCP = { [weak self] packets, now in self?.handle(packets, now: now) }
        transport.onRTP = { [weak self] packet, now in self?.handleRTP(packet, now: now) }
        transport.onTick = { [weak self] now in
            self?.tick(now: now)
            self?.bridgeChannel?.tick(now: now)
        }
        if let bridgeChannel {
            // Weak: the link holds the transport, and the transport this callback.
            transport.onApplicationData = { [weak bridgeChannel] record, _ in bridgeChannel?.input(record) }
            bridgeChannel.onMessage = { [weak self] message in self?.bridgeSaid(message) }
        }
        remoteAudio.setOwnSources([plan.audio?.ssrc].compactMap { $0 })
        remoteAudio.setSources(remote.media(.audio)?.sources.map(\.ssrc) ?? [])
        remoteVideo.setOwnSources([plan.video?.ssrc, plan.video?.rtx?.ssrc].compactMap { $0 })
        remoteVideo.setSources(remote.media(.video)?.sources ?? [], groups: remote.media(.video)?.sourceGroups ?? [])
        let ssrcs = [plan.audio?.ssrc, plan.video?.ssrc].compactMap { $0 }
        try transport.start(remote: remote, iceRole: plan.iceRole, dtlsRole: plan.dtlsRole, goodbyeSSRCs: ssrcs)
    }

    /// Opens or closes the camera (the privacy state decides, nothing else).
    func setCameraLive(_ live: Bool) {
        control.cameraLive.store(live, ordering: .relaxed)
    }

    func setMicMuted(_ muted: Bool) {
        control.micMuted.store(muted, ordering: .relaxed)
    }

    /// Stops the senders, says goodbye and closes the transport.
    func stop() {
        control.stopRequested.store(true, ordering: .relaxed)
        let running = lock.withLock { () -> [BackgroundThread] in
            defer { threads = [] }
            return threads
        }
        running.forEach { $0.join() }
        transport.stop()
        bridgeChannel?.stop()
    }

    private func transportChanged(_ state: MediaTransport.State) {
        switch state {
        case .connected(let profile, let key):
            logger.info("media transport connected (\(profile)); sending")
            startSenders(keying: SRTPKeying(profile: profile, masterKey: key))
            bridgeChannel?.start()
        case .failed(let reason):
            logger.error("media transport failed: \(reason); no media is sent")
            control.stopRequested.store(true, ordering: .relaxed)
        case .connecting, .closed:
            break
        }
        onStateChange?(state)
    }

    private func startSenders(keying: SRTPKeying) {
        var started: [BackgroundThread] = []
        if let video = plan.video, let source = sources.video {
            let sendPlan = VideoSendPlan(source: source, encoder: sources.encoder, payloadType: video.payloadType, ssrc: video.ssrc,
                                         extensionIDs: video.extensions, srtp: keying, rtx: video.rtx)
            do {
                let output = try sendPlan.makeOutput(sink: transport, control: control)
                let pacer = VideoPacer(control: control, maximumLength: sendPlan.mtu + 64)
                output.pace(with: pacer)
                lock.withLock { videoOutput = output; videoPacer = pacer }
                started.append(try BackgroundThread(name: "classbox-pacer") { pacer.run(output: output) })
                let (control, logger, permits, selfView) = (self.control, self.logger, self.permits, self.selfView)
                started.append(try BackgroundThread(name: "classbox-video") {
                    do { try VideoSender(plan: sendPlan, output: output, control: control, logger: logger, permits: permits, selfView: selfView).run() } catch {
                        logger.error("video stopped: \(error)")
                    }
                })
            } catch {
                logger.error("video cannot start: \(error)")
            }
        }
        // One audio thread for both directions: the microphone to the sender, the others to
        // the loudspeaker, and the loudspeaker's mix to the echo canceller.
        let sending = plan.audio.flatMap { audio in sources.audio.map { _ in audio } }
        if sending != nil || plan.receivedAudio != nil {
            let loopPlan = AudioLoopPlan(capture: sending != nil ? sources.audio ?? .silence : .silence,
                                         playback: plan.receivedAudio != nil ? sources.playback : nil, processing: sources.processing)
            let (control, logger, transport, remoteAudio, playback) = (self.control, self.logger, self.transport, self.remoteAudio, self.playback)
            let (volume, opus) = (sources.volume, sources.opus)
            do {
                started.append(try BackgroundThread(name: "classbox-audio") {
                    // A sender that cannot start (encoder, SRTP) leaves the box mute, not deaf.
                    var sender: AudioSender?
                    do {
                        sender = try sending.map { audio in
                            try AudioSender(plan: AudioSendPlan(encoder: opus, payloadType: audio.payloadType, ssrc: audio.ssrc,
                                                                extensionIDs: audio.extensions, srtp: keying),
                                            sink: transport, control: control, logger: logger)
                        }
                    } catch {
                        logger.error("audio cannot be sent: \(error)")
                    }
                    var receiver: AudioReceiver?
                    if loopPlan.playback != nil {
                        do {
                            receiver = try AudioReceiver(intake: remoteAudio, monitor: playback, volume: volume, logger: logger)
                        } catch {
                            logger.error("the others cannot be played: \(error)")
                        }
                    }
                    guard sender != nil || receiver != nil else { return }
                    AudioLoop(plan: loopPlan, sender: sender, receiver: receiver, control: control, monitor: playback, logger: logger).run()
                })
            } catch {
                logger.error("audio cannot start: \(error)")
            }
        }
        if plan.receivedVideo != nil {
            let receiver = VideoReceiver(intake: remoteVideo, sink: videoSink, monitor: videoReceived, control: control, logger: logger)
            do {
                started.append(try BackgroundThread(name: "classbox-video-rx") { receiver.run() })
            } catch {
                logger.error("the others' video cannot be received: \(error)")
            }
        }
        // A stop that came while these started has taken the list already: end them here.
        let late = lock.withLock { () -> [BackgroundThread] in
            if control.isStopping { return started }
            threads += started
            return []
        }
        late.forEach { $0.join() }
    }

    // MARK: Network-thread state, used by CallMedia+RTCP

    var videoOutputForRetransmission: VideoPacketOutput? { videoOutput }

    func allowKeyframe(now: UInt64) -> Bool { keyframes.request(now: now) }

    /// What the audio takes of the estimate: Opus at 32 kbit/s and ~25 kbit/s of RTP, SRTP,
    /// UDP and IP headers at 50 packets/s.
    static let audioReserveKbps = 60

    /// A receiver report about the box's video: the loss controller's part.
    func updateBitrate(report: ReceptionReport, now: UInt64) {
        bitrate.roundTrip = UInt64(max(0, control.roundTripNanoseconds.load(ordering: .relaxed)))
        bitrate.update(report: report, now: now)
        applyTargets()
    }

    func setREMB(_ kbps: Int) {
        rembKbps = max(100, kbps)
        applyTargets()
    }

    /// A new delay-based estimate: the loss controller works from the rate really used.
    func delayBasedChanged(kbps: Int) {
        delayBasedKbps.store(kbps, ordering: .relaxed)
        bitrate.limit(to: Self.videoShare(ofPathKbps: kbps))
        applyTargets()
    }

    /// What of a path's rate the video may use: less the audio, and less the video's own packet
    /// overhead (RTP with its extensions, the SRTP tag, UDP, IP: ~60 octets on ~1200, 5 %) —
    /// the estimate counts the wire, the encoder's rate is payload (libwebrtc subtracts the
    /// overhead likewise); without it the box settled a few per cent above a bottleneck and
    /// its queue grew too slowly for the trend to see.
    static func videoShare(ofPathKbps kbps: Int) -> Int { max(100, (kbps - audioReserveKbps) * 95 / 100) }

    /// The video's rate — the least of the loss-based rate, the delay-based estimate's video
    /// share (once transport-cc feedback came) and the receiver's REMB, as GoogCC takes the
    /// minimum of its controllers — and the pacing target: what the path is thought to carry
    /// (the delay-based estimate or REMB, the lower when both), never less than what is sent.
    /// The pacer paces at 2.5× that, as libwebrtc paces at 2.5× its estimate, not at the
    /// encoder's rate (an encoder held below a fast path by its own maximum would otherwise
    /// trickle its key frames out).
    func applyTargets() {
        let delayKbps = delayBasedKbps.load(ordering: .relaxed)
        let video = min(bitrate.currentKbps, rembKbps ?? .max, delayKbps > 0 ? Self.videoShare(ofPathKbps: delayKbps) : .max)
        control.videoBitrateKbps.store(video, ordering: .relaxed)
        let path = min(delayKbps > 0 ? delayKbps : .max, rembKbps ?? .max)
        let sent = video + Self.audioReserveKbps
        control.pacingTargetKbps.store(path == .max ? sent : max(sent, path), ordering: .relaxed)
    }

    func updateReceived(_ ssrc: UInt32, clockRate: UInt32 = 90000, _ body: (inout ReceiveStatistics) -> Void) {
        body(&received[ssrc, default: ReceiveStatistics(ssrc: ssrc, clockRate: clockRate)])
    }

    func updateNACK(_ ssrc: UInt32, _ body: (inout NACKGenerator) -> Void) {
        body(&nacks[ssrc, default: NACKGenerator()])
    }

    func dueNACKs(now: UInt64) -> [(UInt32, [UInt16])] {
        let interval = nackRetryInterval
        return nacks.keys.sorted().map { ssrc in (ssrc, nacks[ssrc]!.due(now: now, retryInterval: interval)) }
    }

    /// How long a NACK waits before it is asked again: a round trip and a little, at least
    /// 20 ms (libwebrtc's NackRequester); 40 ms while no round trip is known (a box whose
    /// camera is private gets no report on its video, which is where the round trip comes from).
    var nackRetryInterval: UInt64 {
        let roundTrip = control.roundTripNanoseconds.load(ordering: .relaxed)
        return roundTrip > 0 ? max(UInt64(roundTrip) + 10_000_000, 20_000_000) : 40_000_000
    }

    var nextReportTime: UInt64 { nextReport }

    /// RTCP about every second, randomised ±50 % as RFC 3550 §6.3.5 asks.
    func scheduleReport(now: UInt64) {
        nextReport = now + UInt64.random(in: 500_000_000...1_500_000_000)
    }

    func receptionReports(now: UInt64) -> [ReceptionReport] {
        received.keys.sorted().prefix(31).compactMap { received[$0]?.report(now: now) }
    }
}

extension CallMedia {
    /// What the bridge tells the box on the bridge channel (network thread).
    func bridgeSaid(_ message: BridgeChannelMessage) {
        switch message {
        case .senderSourceConstraints(let sourceName, let maxHeight):
            guard plan.videoSourceName == nil || sourceName == plan.videoSourceName else {
                logger.debug("bridge channel: constraints for another source \(sourceName) ignored")
                return
            }
            let before = control.bridgeMaxHeight.exchange(maxHeight, ordering: .relaxed)
            if before != maxHeight {
                logger.info("bridge: \(maxHeight == 0 ? "nobody watches our video" : "our video is watched at up to \(maxHeight) lines")",
                            metadata: ["event": "bridge_channel.sender_constraints", "maxHeight": "\(maxHeight)"])
            }
        case .dominantSpeakerChange(let change):
            logger.debug("bridge: dominant speaker changed (\(change.previousSpeakers.count) before)")
            onBridgeMessage?(message)
        case .forwardedSources, .lastNEndpointsChange, .endpointConnectivityStatus:
            onBridgeMessage?(message)
        default:
            break
        }
    }
}
