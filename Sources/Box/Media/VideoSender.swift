#if canImport(Glibc)
import Glibc
#endif
import Capture
import Runtime
import Codecs
import Congestion
import Logging
import Media
import RTCP
import RTP
import Synchronization
import Transport
import VideoScaling
import Wire

/// Where sent packets go: a UDP socket now, the ICE/DTLS transport later.
protocol PacketSink: Sendable {
    /// Typed, so a failed send (counted, not fatal) boxes no error on the heap.
    func send(_ datagram: UnsafeRawBufferPointer) throws(SocketError)
}

extension UDPSocket: PacketSink {}

/// Master key and profile for static-key SRTP (`classbox send --srtp-key`), or later the
/// keys exported by DTLS.
struct SRTPKeying: Sendable, Equatable {
    var profile: SRTPProfile
    var masterKey: [UInt8]
}

/// Everything a video sending thread needs, as plain values.
struct VideoSendPlan: Sendable {
    enum Source: Sendable, Equatable {
        case testPattern
        case camera(path: String)
    }

    var source: Source
    var encoder: VP8EncoderSettings
    var payloadType: UInt8
    var ssrc: UInt32
    var extensionIDs: RTPHeaderExtensionIDs
    var srtp: SRTPKeying?
    /// Retransmissions on an RTX stream (RFC 4588), when negotiated.
    var rtx: VideoPacketOutput.RTX?
    /// Largest datagram on the wire, SRTP tag included.
    var mtu = 1200

    /// The output the video thread and the network thread share (history, SRTP, sink).
    func makeOutput(sink: any PacketSink, control: SendControl) throws -> VideoPacketOutput {
        let srtp = try self.srtp.map { try SRTPSession(profile: $0.profile, masterKey: $0.masterKey, direction: .outbound) }
        return VideoPacketOutput(sink: sink, srtp: srtp, history: SendHistory(bitrateKbps: max(encoder.bitrateKbps, 2000), slotSize: mtu),
                                 rtx: rtx, transportSequenceID: extensionIDs.transportWideSequence, absSendTimeID: extensionIDs.absSendTime,
                                 control: control)
    }
}

/// The video path, run on its own thread: frame → VP8 (read in place) → RTP packets in one
/// reusable buffer → send history → SRTP in place → socket. Nothing is allocated per frame (but
/// libyuv, when the picture is scaled by other ratios than halves and quarters: see VideoScaler).
///
/// A camera that disappears or stalls is closed and opened again every second until it is
/// back; the audio thread is not affected.
final class VideoSender {
    private let plan: VideoSendPlan
    private let output: VideoPacketOutput
    private let control: SendControl
    private let logger: Logger
    /// Where a real camera's permits come from (the privacy state); nil: no camera at all.
    private let permits: (any CameraPermits)?
    private var encoder: VP8Encoder
    private var packetizer: VP8Packetizer
    private let wire: UnsafeMutableRawBufferPointer
    private let timestampOffset = UInt32.random(in: 0...UInt32.max)
    /// The bridge said nobody watches: frames are dropped before the encoder.
    private var unwatched = false
    /// Pictures scaled down to what the bridge asks for; made for the camera's size when first needed.
    private var scaler: VideoScaler?
    /// Whether the camera stamps frames on the monotonic clock, decided on the first frame
    /// (a frame merely late on a loaded host must not switch clocks).
    private var cameraClockIsMonotonic: Bool?
    /// The size and frame rate the video's rate carries (issue 13 item 4), and when the last
    /// picture was encoded (a lower rung's frame rate skips pictures).
    private var ladder = ResolutionLadder()
    private var lastEncodedAt: UInt64?
    /// The classroom screen's self view (nil: no screen).
    private let selfView: (any SelfViewSink)?

    init(plan: VideoSendPlan, output: VideoPacketOutput, control: SendControl, logger: Logger, permits: (any CameraPermits)? = nil,
         selfView: (any SelfViewSink)? = nil) throws {
        self.plan = plan
        self.selfView = selfView
        self.permits = permits
        self.output = output
        self.control = control
        self.logger = logger
        encoder = try VP8Encoder(plan.encoder)
        let overhead = plan.srtp?.profile.rtpOverhead ?? 0
        packetizer = VP8Packetizer(ssrc: plan.ssrc, payloadType: plan.payloadType, extensionIDs: plan.extensionIDs,
                                   maxPacketSize: plan.mtu - overhead, initialSequenceNumber: .random(in: 0...UInt16.max),
                                   initialPictureID: .random(in: 0...0x7FFF))
        wire = .allocate(byteCount: plan.mtu + 64, alignment: 16)
    }

    deinit { wire.deallocate() }

    /// Sends until the control says stop; while the camera is private it holds no camera
    /// and sends nothing, and going live starts with a keyframe.
    func run() {
        switch plan.source {
        case .testPattern:
            let camera = TestPatternCamera(width: plan.encoder.width, height: plan.encoder.height, fps: plan.encoder.fps)
            var wasLive = false
            while !control.isStopping {
                guard control.isCameraLive else {
                    if wasLive { logger.info("video: private") }
                    wasLive = false
                    usleep(20_000)
                    continue
                }
                if !wasLive {
                    logger.info("video: test pattern \(plan.encoder.width)x\(plan.encoder.height)@\(plan.encoder.fps)")
                    encoder.requestKeyframe()
                    wasLive = true
                }
                let frame = camera.nextFrame()
                selfView?.showOwn(frame.layout)
                send(frame.layout, timestamp: frame.timestampNanoseconds)
            }
        case .camera(let path):
            runCamera(path)
        }
    }

    /// A real camera: opened only with a permit from the privacy state, closed the moment the
    /// permit is revoked (the next frame throws `.private`).
    private func runCamera(_ path: String) {
        var lastProblem: String?
        while !control.isStopping {
            guard control.isCameraLive, let permit = permits?.permit() else {
                usleep(20_000)  // private: the device is not even open
                continue
            }
            let camera: V4L2Camera
            do {
                camera = try V4L2Camera(.init(path: path, width: plan.encoder.width, height: plan.encoder.height, fps: plan.encoder.fps),
                                        permit: permit)
            } catch {
                if case .private = error { continue }
                guard error.isTransient else {
                    logger.error("video stopped: \(error)")
                    control.videoStopped.store(true, ordering: .relaxed)
                    return
                }
                if lastProblem != error.description { logger.warning("camera unavailable, retrying every second: \(error)") }
                lastProblem = error.description
                sleepBriefly(seconds: 1)
                continue
            }
            lastProblem = nil
            logger.info("camera \(path): \(camera.width)x\(camera.height) \(camera.format) at \(camera.fps) fps")
            encoder.requestKeyframe()  // the encoder follows the camera's size in `send`
            cameraClockIsMonotonic = nil  // another camera may stamp another clock
            var droppedBefore = 0
            var nextShutterCheck = Monotonic.nanoseconds()
            while !control.isStopping && control.isCameraLive {
                if Monotonic.nanoseconds() >= nextShutterCheck {
                    nextShutterCheck = Monotonic.nanoseconds() + 1_000_000_000
                    if camera.privacyControl() == true {
                        permits?.reportShutter(closed: true)  // the camera's own privacy control counts like the switch
                        break
                    }
                }
                do {
                    let frame = try camera.nextFrame(timeout: 2)
                    // The class sees what it sends, while the permit holds (read for each picture).
                    if camera.isPermitted { selfView?.showOwn(frame.layout) }
                    send(frame.layout, timestamp: frame.timestampNanoseconds, allowed: { camera.isPermitted })
                } catch {
                    if case .private = error { break }
                    if case .disconnected = error { permits?.reportDisconnected() }  // it may come back as another camera
                    logger.warning("camera \(error); reopening")
                    control.count(control.cameraRestarts)
                    break
                }
                control.count(control.droppedCameraFrames, camera.droppedFrames - droppedBefore)
                droppedBefore = camera.droppedFrames
            }
            logger.info("camera \(path): closed")
        }
    }

    /// Encodes one picture and sends its packets (also driven directly by the benchmark).
    /// `allowed` is asked again after encoding: a picture whose permit was revoked while it
    /// was being encoded (the switch closed meanwhile) is dropped, not sent.
    func send(_ picture: VideoFrameLayout, timestamp: UInt64, allowed: () -> Bool = { true }) {
        // Nobody watches (the bridge's SenderSourceConstraints said 0 lines): nothing is
        // encoded or sent until somebody does, and then a keyframe starts the picture.
        // Read once per picture: a change between two reads would encode a full-size keyframe
        // for a receiver that asked for nothing.
        let maxHeight = control.bridgeMaxHeight.load(ordering: .relaxed)
        guard maxHeight != 0 else {
            if !unwatched { logger.info("video: nobody watches; not sending") }
            unwatched = true
            return
        }
        if unwatched {
            unwatched = false
            logger.info("video: watched again; sending from a keyframe")
            encoder.requestKeyframe()
        }
        // The pacer still holds more than it sends in 300 ms: this picture is skipped (the
        // queue, and the picture's delay, would only grow; libvpx sizes the next one to fit).
        if output.pacer?.isBacklogged == true {
            control.count(control.framesSkippedForPacing)
            return
        }
        let now = Monotonic.nanoseconds()
        let videoTarget = control.videoBitrateKbps.load(ordering: .relaxed)  // one reading per picture
        let rung = ladder.update(targetKbps: videoTarget, now: now)
        // The top rung leaves the camera's own size and frame rate (a 1080p60 camera on a fast
        // path is neither cut to 720p nor to 30 frames/s).
        let fps = ladder.index == 0 ? plan.encoder.fps : min(rung.fps, plan.encoder.fps)
        if fps < plan.encoder.fps, let last = lastEncodedAt, now - last < 750_000_000 / UInt64(fps) { return }
        lastEncodedAt = now
        let linkHeight = ladder.index == 0 ? Int.max : rung.height
        let byLink = maxHeight < 0 || linkHeight < maxHeight
        guard let picture = fitted(picture, maxHeight: byLink ? linkHeight : maxHeight,
                                   reason: byLink ? "the link carries \(videoTarget) kbit/s"
                                                  : "the others watch at most \(maxHeight) lines") else { return }
        if control.keyframeRequested.exchange(false, ordering: .relaxed) { encoder.requestKeyframe() }
        // Held down by the link, a rung may use 20 % more than the next rung's floor: the
        // estimate grows to at most 1.5× what is acknowledged, so an encoder capped below that
        // floor (lib-jitsi-meet's 200 kbit/s at 180 lines) could never show the path carries more.
        let cap = byLink && ladder.index > 0 ? min(plan.encoder.bitrateKbps, ResolutionLadder.rungs[ladder.index - 1].floorKbps * 6 / 5)
            : Self.bitrateCap(height: picture.height, configured: plan.encoder.bitrateKbps)
        let target = min(videoTarget, cap)
        if target != encoder.settings.bitrateKbps {
            do { try encoder.setBitrate(kbps: target) } catch { logger.warning("bitrate change failed: \(error)") }
        }
        let rtpTimestamp = MediaClock.rtpTimestamp(nanoseconds: timestamp, rate: 90000, offset: timestampOffset)
        do {
            try encoder.encode(picture, pts: Int64(timestamp / 100_000 * 9), duration: 90000 / fps) { encoded in
                guard allowed() else { return }
                control.count(control.framesEncoded)
                if encoded.isKeyframe { control.count(control.keyframesSent) }
                let layer = encoded.temporalLayer.map { VP8LayerInfo(temporalLayer: $0.id, layerSync: $0.sync) }
                packetizer.packetize(frame: encoded.data, timestamp: rtpTimestamp, nonReference: encoded.isDroppable, layer: layer,
                                     into: wire, extensions: {
                                         // Room only: the send time and the transport-wide number are
                                         // stamped as the packet really leaves (VideoPacketOutput).
                                         RTPExtensionValues(absSendTime: 0, transportWideSequence: 0)
                                     }) { packet, sequence in
                    output.transmit(wire, length: packet.count, sequence: sequence, now: Monotonic.nanoseconds())
                }
                // The capture time on the monotonic clock, as V4L2 drivers stamp frames; a camera
                // stamping another clock (wall time) is far from now: then the send time stands in.
                let sent = Monotonic.nanoseconds()
                let monotonic = cameraClockIsMonotonic ?? (timestamp <= sent && sent - timestamp < 1_000_000_000)
                cameraClockIsMonotonic = monotonic
                let captured = monotonic ? timestamp : sent
                control.videoClock.withLock { $0 = RTPClockMark(timestamp: rtpTimestamp, capturedAt: captured) }
            }
        } catch {
            control.count(control.sendErrors)
            logger.warning("video encode failed: \(error)")
        }
    }

    /// The picture at the size to send — the camera's, or scaled down to the lines the bridge
    /// asks for (SenderSourceConstraints) — with the encoder made for that size. A new size
    /// makes a new encoder, which starts with a keyframe; that happens only when the camera
    /// or the constraint changes. Nil (counted) when the picture cannot be sent.
    private func fitted(_ picture: VideoFrameLayout, maxHeight: Int, reason: @autoclosure () -> String) -> VideoFrameLayout? {
        let size = VideoScaler.sendSize(width: picture.width, height: picture.height, maxHeight: maxHeight)
        if size.width != encoder.settings.width || size.height != encoder.settings.height {
            var settings = encoder.settings
            (settings.width, settings.height) = size
            settings.bitrateKbps = min(settings.bitrateKbps, Self.bitrateCap(height: size.height, configured: plan.encoder.bitrateKbps))
            do {
                encoder = try VP8Encoder(settings)
            } catch {
                control.count(control.sendErrors)
                logger.warning("video: no encoder for \(size.width)x\(size.height): \(error)")
                return nil
            }
            let why = size.height < picture.height ? " (\(reason()))" : ""
            logger.info("video: sending \(size.width)x\(size.height)\(why)", metadata: ["event": "video.size"])
        }
        guard size.width != picture.width || size.height != picture.height else { return picture }
        let needed = VideoFrameLayout.packedSize(width: picture.width, height: picture.height)
        if scaler.map({ $0.capacity < needed }) ?? true { scaler = VideoScaler(maxWidth: picture.width, maxHeight: picture.height) }
        guard let scaled = scaler?.scale(picture, width: size.width, height: size.height) else {
            control.count(control.sendErrors)
            return nil
        }
        return scaled
    }

    /// The bitrate a picture of `height` lines needs at most: lib-jitsi-meet's VP8 defaults
    /// for its simulcast layers (200 kbit/s at 180 lines, 500 at 360), the configured rate above.
    static func bitrateCap(height: Int, configured: Int) -> Int {
        switch height {
        case ...180: min(configured, 200)
        case ...360: min(configured, 500)
        default: configured
        }
    }
}

/// Sleeps in 100 ms steps so a stop request is noticed quickly.
func sleepBriefly(seconds: Double) {
    var remaining = seconds
    while remaining > 0 {
        usleep(UInt32(min(remaining, 0.1) * 1_000_000))
        remaining -= 0.1
    }
}
