import AudioProcessing
import Codecs
import DTLS
import Logging
import Provisioning
import Transport

/// What every call is made of, from the provisioning file: the media transport (host
/// candidates, server-reflexive ones from the district's STUN servers) and the sources.
enum MediaSetup {
    /// Host candidates on the configured interfaces, plus server-reflexive ones from the
    /// district's STUN servers (and only those).
    static func makeTransport(_ config: ProvisioningConfig, logger: Logger) throws -> MediaTransport {
        var configuration = MediaTransport.Configuration()
        configuration.interfaces = config.network.interfaces
        configuration.ipv6 = config.network.ipv6
        configuration.loopback = config.network.loopback
        let transport = try MediaTransport(configuration: configuration, certificate: try DTLSCertificate())
        let servers = config.network.stun.flatMap { HostResolver.udpAddresses(host: $0.host, port: UInt16($0.port), ipv6: config.network.ipv6) }
        if !config.network.stun.isEmpty {
            for problem in transport.gatherServerReflexive(servers: servers) {
                logger.warning("\(problem)", metadata: ["event": "ice.gathering"])
            }
            if servers.isEmpty { logger.warning("no district STUN server resolved", metadata: ["event": "ice.gathering"]) }
            logger.info("candidates: \(transport.signalledCandidates.map(\.description).joined(separator: ", "))",
                        metadata: ["event": "ice.gathering"])
        }
        return transport
    }

    static func sources(_ config: ProvisioningConfig) -> CallMedia.Sources {
        let video: VideoSendPlan.Source? = {
            switch config.camera.source {
            case .testPattern: return .testPattern
            case .device(let path): return .camera(path: path)
            }
        }()
        let audio: AudioLoopPlan.Capture = {
            switch config.audio.capture {
            case .tone: return .tone(hz: config.audio.toneHz)
            case .null: return .silence
            case .pcm(let name): return .pcm(name)
            }
        }()
        var encoder = VP8EncoderSettings(width: config.camera.width, height: config.camera.height, fps: config.camera.fps,
                                         bitrateKbps: config.camera.maxBitrateKbps)
        encoder.threads = config.camera.encoderThreads
        encoder.cpuUsed = config.camera.encoderCpuUsed
        encoder.errorResilient = config.camera.errorResilient
        encoder.temporalLayers = config.camera.temporalLayers
        encoder.maxIntraBitratePercent = 900
        let playback: AudioLoopPlan.Playback = {
            switch config.audio.playback {
            case .null: return .null
            case .pcm(let name): return .pcm(name)
            }
        }()
        return CallMedia.Sources(video: video, audio: audio, encoder: encoder,
                                 opus: OpusEncoderSettings(bitrateKbps: config.audio.bitrateKbps, dtx: config.audio.dtx),
                                 playback: playback, volume: config.audio.volume,
                                 processing: MicrophoneProcessingSettings(echoCancellation: config.audio.echoCancellation,
                                                                          noiseSuppression: config.audio.noiseSuppression))
    }
}
