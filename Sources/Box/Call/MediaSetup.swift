import AudioProcessing
import Codecs
import DTLS
import Logging
import Provisioning
import Signaling
import Transport

/// What every call is made of, from the provisioning file: the media transport (host
/// candidates, server-reflexive ones from the district's STUN servers) and the sources.
enum MediaSetup {
    /// Host candidates on the configured interfaces, plus server-reflexive ones from the
    /// district's STUN servers (and only those).
    static func makeTransport(_ config: ProvisioningConfig, externalServices: [ExternalService] = [], logger: Logger) throws -> MediaTransport {
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
        }
        let relays = relayServers(config, logger: logger) + relayServers(from: externalServices, config: config, logger: logger)
        if !relays.isEmpty {
            for problem in transport.allocateRelays(on: relays) {
                logger.warning("\(problem)", metadata: ["event": "ice.relay"])
            }
        }
        if !config.network.stun.isEmpty || !relays.isEmpty {
            logger.info("candidates: \(transport.signalledCandidates.map(\.description).joined(separator: ", "))",
                        metadata: ["event": "ice.gathering"])
        }
        return transport
    }

    /// The district's TURN servers and how to reach each: UDP (`turn:HOST`), TCP
    /// (`?transport=tcp`) or TLS (`turns:HOST`, checked against the server's CA bundle like the
    /// signalling connection). The relay is UDP whichever way the box reaches the server.
    static func relayServers(_ config: ProvisioningConfig, logger: Logger) -> [MediaTransport.RelayServer] {
        config.network.turn.compactMap { server in
            relayServer(host: server.url.host, port: server.url.port, tls: server.url.secure, tcp: server.url.transport == .tcp,
                        username: server.username, password: server.password.reveal(), config: config, logger: logger)
        }
    }

    /// The TURN servers of the conference server's XEP-0215 answer, with the short-lived
    /// credentials it gave: only those inside the district's domains (the box talks to
    /// district hosts only, whatever a server says), only with credentials.
    static func relayServers(from services: [ExternalService], config: ProvisioningConfig, logger: Logger) -> [MediaTransport.RelayServer] {
        let policy = DistrictPolicy(domains: config.network.districtDomains)
        return services.filter { $0.type == "turn" || $0.type == "turns" }.compactMap { service in
            guard policy.allows(host: service.host) else {
                logger.warning("the conference server names TURN server \(service) outside the district's domains: not used",
                               metadata: ["event": "privacy.destination"])
                return nil
            }
            guard let username = service.username, let password = service.password else {
                logger.warning("the conference server names TURN server \(service) without credentials: not used", metadata: ["event": "ice.relay"])
                return nil
            }
            let tls = service.type == "turns"
            return relayServer(host: service.host, port: service.port ?? (tls ? 443 : 3478), tls: tls, tcp: service.transport == "tcp",
                               username: username, password: password, config: config, logger: logger)
        }
    }

    /// One server, however it was named: TLS and TCP by host name (the stream resolves it, TLS
    /// checks the name), UDP at its first resolved address.
    static func relayServer(host: String, port: Int, tls: Bool, tcp: Bool, username: String, password: String,
                            config: ProvisioningConfig, logger: Logger) -> MediaTransport.RelayServer? {
        if tls { return .init(way: .tls(host: host, port: port, caBundle: config.server.caBundle), username: username, password: password) }
        if tcp { return .init(way: .tcp(host: host, port: port), username: username, password: password) }
        guard let address = HostResolver.udpAddresses(host: host, port: UInt16(port), ipv6: config.network.ipv6).first else {
            logger.warning("TURN server \(host) did not resolve", metadata: ["event": "ice.relay"])
            return nil
        }
        return .init(address: address, username: username, password: password)
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
