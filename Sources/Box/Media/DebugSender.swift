import AudioProcessing
import Codecs
import Runtime
import Device
import Logging
import Provisioning
import RTP
import ServiceLifecycle
import Transport
import Wire

/// `classbox send`: streams the configured camera and microphone as (S)RTP to one address,
/// so IT can check a camera with GStreamer or ffplay without a conference.
///
/// It keeps the box's rules: a real camera is only used while the physical privacy switch
/// is open, and packets only go to this machine, the school's private network or the
/// district's own addresses.
public struct DebugSender {
    public struct Options: Sendable {
        /// Video goes here; audio to the next port but one (RTP convention) unless set.
        public var destination: SocketAddress
        public var audioDestination: SocketAddress?
        public var srtpKeyHex: String?
        public var srtpProfile: SRTPProfile = .aes128CmHmacSha1_80
        /// Stop after this many seconds; nil runs until SIGINT/SIGTERM.
        public var duration: Double?
        public var sendVideo = true
        public var sendAudio = true
        public var videoPayloadType: UInt8 = 96
        public var audioPayloadType: UInt8 = 111
        /// Fixed SSRCs let a receiver's pipeline name them (GStreamer's srtpdec needs that);
        /// nil picks random ones, as RFC 3550 wants.
        public var videoSSRC: UInt32?
        public var audioSSRC: UInt32?

        public init(destination: SocketAddress) {
            self.destination = destination
        }
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case destinationNotAllowed(SocketAddress)
        case badKey(String)
        case nothingToSend(String)

        public var description: String {
            switch self {
            case .destinationNotAllowed(let address):
                return "\(address) is not this machine, a private network address or a district address (network.district_domains / media_networks)"
            case .badKey(let reason): return reason
            case .nothingToSend(let reason): return "nothing to send: \(reason)"
            }
        }
    }

    let config: ProvisioningConfig
    let options: Options
    let logger: Logger

    public init(config: ProvisioningConfig, options: Options, logger: Logger) {
        self.config = config
        self.options = options
        self.logger = logger
    }

    /// Sends until the duration is over or a signal arrives; returns the final counters.
    public func run() async throws -> String {
        let audioDestination = options.audioDestination
            ?? SocketAddress(host: options.destination.host, port: options.destination.port &+ 2)!
        for address in [options.destination, audioDestination] where !isAllowed(address) {
            throw Failure.destinationNotAllowed(address)
        }
        let keying = try options.srtpKeyHex.map { hex -> SRTPKeying in
            guard let key = Hex.decode(hex), key.count == options.srtpProfile.masterKeyLength else {
                throw Failure.badKey("--srtp-key must be \(options.srtpProfile.masterKeyLength * 2) hex digits (key and salt) for \(options.srtpProfile)")
            }
            return SRTPKeying(profile: options.srtpProfile, masterKey: key)
        }
        let videoSource = options.sendVideo ? videoSourceAllowed() : nil
        guard videoSource != nil || options.sendAudio else { throw Failure.nothingToSend("video is off and --no-audio was given") }

        // The test pattern is no camera; a real one follows the privacy switch like in a call.
        let privacy = PrivacyController(config: config, logger: logger)
        let control = SendControl(videoBitrateKbps: config.camera.maxBitrateKbps, cameraLive: config.camera.source == .testPattern)
        if case .camera? = videoSource {
            privacy.observe { snapshot in
                control.cameraLive.store(snapshot.cameraLive, ordering: .relaxed)
                control.micMuted.store(snapshot.micMuted, ordering: .relaxed)
            }
            try privacy.start()
            logger.notice("the camera is private until the privacy switch is opened", metadata: ["event": "privacy"])
        }
        defer { privacy.stop() }
        var threads: [BackgroundThread] = []
        if let videoSource {
            let plan = VideoSendPlan(source: videoSource, encoder: encoderSettings(), payloadType: options.videoPayloadType,
                                     ssrc: options.videoSSRC ?? .random(in: 1...UInt32.max), extensionIDs: .jitsiDefaults, srtp: keying)
            let output = try plan.makeOutput(sink: try UDPSocket(connectedTo: options.destination), control: control)
            logger.info("video: VP8 payload type \(plan.payloadType) SSRC \(plan.ssrc) to \(options.destination)\(keying == nil ? "" : " (SRTP)")")
            threads.append(try BackgroundThread(name: "classbox-video") { [logger] in
                do { try VideoSender(plan: plan, output: output, control: control, logger: logger, permits: privacy).run() } catch {
                    logger.error("video stopped: \(error)")
                }
            })
        }
        if options.sendAudio {
            let plan = AudioSendPlan(encoder: OpusEncoderSettings(bitrateKbps: config.audio.bitrateKbps, dtx: config.audio.dtx),
                                     payloadType: options.audioPayloadType, ssrc: options.audioSSRC ?? .random(in: 1...UInt32.max),
                                     extensionIDs: .jitsiDefaults, srtp: keying)
            let sink = try UDPSocket(connectedTo: audioDestination)
            logger.info("audio: Opus payload type \(plan.payloadType) SSRC \(plan.ssrc) to \(audioDestination)\(keying == nil ? "" : " (SRTP)")")
            let loopPlan = AudioLoopPlan(capture: audioSource(), playback: nil, processing: MicrophoneProcessingSettings(
                echoCancellation: false, noiseSuppression: config.audio.noiseSuppression))
            threads.append(try BackgroundThread(name: "classbox-audio") { [logger] in
                do {
                    let sender = try AudioSender(plan: plan, sink: sink, control: control, logger: logger)
                    AudioLoop(plan: loopPlan, sender: sender, receiver: nil, control: control, monitor: PlaybackMonitor(), logger: logger).run()
                } catch {
                    logger.error("audio stopped: \(error)")
                }
            })
        }
        func stopAll() {
            control.stopRequested.store(true, ordering: .relaxed)
            threads.forEach { $0.join() }
        }
        let waiter = SendWaiter(duration: options.duration, control: control, logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: waiter, successTerminationBehavior: .gracefullyShutdownGroup)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            stopAll()
            throw error
        }
        stopAll()
        return control.summary
    }

    /// The privacy rule applies here too: the test pattern always; a real camera only with a
    /// physical switch, and then only while that switch has been opened (see ``PrivacyController``).
    func videoSourceAllowed() -> VideoSendPlan.Source? {
        switch config.camera.source {
        case .testPattern:
            return .testPattern
        case .device(let path):
            guard case .inputDevice = config.privacy.cameraSwitch else {
                logger.warning("camera is private: no physical privacy switch is configured, so no video is sent")
                return nil
            }
            return .camera(path: path)
        }
    }

    func audioSource() -> AudioLoopPlan.Capture { MediaSetup.sources(config).audio ?? .silence }

    func encoderSettings() -> VP8EncoderSettings { MediaSetup.sources(config).encoder }

    func isAllowed(_ address: SocketAddress) -> Bool {
        if address.isLoopback || address.isPrivate { return true }
        if DistrictPolicy(domains: config.network.districtDomains).allows(host: address.host) { return true }
        return config.network.mediaNetworks.contains { $0.contains(address.bytes) }
    }
}

/// Waits for the end of `classbox send` and logs the counters every 5 seconds.
struct SendWaiter: Service {
    let duration: Double?
    let control: SendControl
    let logger: Logger

    func run() async throws {
        let start = ContinuousClock.now
        try? await cancelWhenGracefulShutdown {
            var lastReport = ContinuousClock.now
            while true {
                try await Task.sleep(for: .milliseconds(100))
                if let duration, ContinuousClock.now - start >= .seconds(duration) { return }
                if ContinuousClock.now - lastReport >= .seconds(5) {
                    logger.info("\(control.summary)")
                    lastReport = .now
                }
            }
        }
    }
}

enum Hex {
    static func decode(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
