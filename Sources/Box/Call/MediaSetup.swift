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
        var servers: [MediaTransport.RelayServer] = []
        for server in config.network.turn {
            let (username, password) = (server.username, server.password.reveal())
            if server.url.secure {
                servers.append(.init(way: .tls(host: server.url.host, port: server.url.port, caBundle: config.server.caBundle), username: username, password: password))
            } else if server.url.transport == .tcp {
                servers.append(.init(way: .tcp(host: server.url.host, port: server.url.port), username: username, password: password))
            } else {
                let addresses = HostResolver.udpAddresses(host: server.url.host, port: UInt16(server.url.port), ipv6: config.network.ipv6)
                if addresses.isEmpty { logger.warning("TURN server \(server.url.host) did not resolve", metadata: ["event": "ice.relay"]) }
                servers += addresses.prefix(1).map { .init(address: $0, username: username, password: password) }
            }
        }
        return servers
    }

    /// The TURN servers of the conference server's XEP-0215 answer, with the short-lived
    /// credentials it gave: only those inside the district's domains (the box talks to
    /// district hosts only, whatever a server says), only with credentials.
    static func relayServers(from services: [ExternalService], config: ProvisioningConfig, logger: Logger) -> [MediaTransport.RelayServer] {
        let policy = DistrictPolicy(domains: config.network.districtDomains)
        var servers: [MediaTransport.RelayServer] = []
        for service in services where service.type == "turn" || service.type == "turns" {
            guard policy.allows(host: service.host) else {
                logger.warning("the conference server names TURN server \(service) outside the district's domains: not used",
                               metadata: ["event": "privacy.destination"])
                continue
            }
            guard let username = service.username, let password = service.password else {
                logger.warning("the conference server names TURN server \(service) without credentials: not used", metadata: ["event": "ice.relay"])
                continue
            }
            if service.type == "turns" {
                servers.append(.init(way: .tls(host: service.host, port: service.port ?? 443, caBundle: config.server.caBundle), username: username, password: password))
            } else if service.transport == "tcp" {
                servers.append(.init(way: .tcp(host: service.host, port: service.port ?? 3478), username: username, password: password))
            } else {
                let addresses = HostResolver.udpAddresses(host: service.host, port: UInt16(service.port ?? 3478), ipv6: config.network.ipv6)
                servers += addresses.prefix(1).map { .init(address: $0, username: username, password: password) }
            }
        }
        return servers
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
