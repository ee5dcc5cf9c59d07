import ClassboxTestSupport
import DTLS
import Foundation
import ICE
import Session
import Synchronization
import Testing
import Wire
@testable import Transport

/// A relayed candidate on a real TURN server (Debian's coturn, long-term credentials): one
/// transport offers and checks only its relayed candidate, the other only host candidates,
/// so ICE, DTLS and the data after it can only work through the relay.
@Suite(.serialized) struct RelayTests {
    /// coturn on 127.0.0.1 (loopback peers allowed: both transports live on loopback here).
    final class TURNServer {
        let process: ExternalProcess
        let port = ExternalProcess.freeUDPPort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coturn-\(UUID().uuidString)").path

        /// TLS on its own port (`tlsPort`) when `certificates` are given; TCP and UDP on `port`.
        let tlsPort: UInt16

        init(certificates: TestCertificates? = nil) throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let relayBase = 49152 + Int(port % 200) * 50
            let tlsPort = ExternalProcess.freeTCPPort()
            self.tlsPort = tlsPort
            let tls = certificates.map { ["--tls-listening-port=\(tlsPort)", "--cert=\($0.serverCertificate)", "--pkey=\($0.serverKey)", "--no-tlsv1", "--no-tlsv1_1"] }
            process = try ExternalProcess("/usr/bin/turnserver", [
                "-n", "--listening-ip=127.0.0.1", "--listening-port=\(port)", "--relay-ip=127.0.0.1",
                "--min-port=\(relayBase)", "--max-port=\(relayBase + 49)", "--lt-cred-mech", "--user=klasse4b:geheim",
                "--realm=schule.example", "--allow-loopback-peers", "--no-cli", "--no-dtls",
                "--fingerprint", "--log-file=stdout", "--simple-log", "--pidfile=\(directory)/pid", "--db=\(directory)/turndb",
            ] + (tls ?? ["--no-tls"]))
            let deadline = Date().addingTimeInterval(10)
            while !process.output.contains("Total General servers") && Date() < deadline { usleep(50_000) }
        }

        deinit {
            process.interrupt(timeout: 5)
            try? FileManager.default.removeItem(atPath: directory)
        }

        var address: SocketAddress { SocketAddress(host: "127.0.0.1", port: port)! }
    }

    static func transport(relayOnly: Bool) throws -> MediaTransport {
        var configuration = MediaTransport.Configuration()
        configuration.loopback = true
        configuration.ipv6 = false
        configuration.relayOnly = relayOnly
        return try MediaTransport(configuration: configuration, certificate: try DTLSCertificate())
    }

    static func session(_ transport: MediaTransport, setup: DTLSSetup) -> MediaSession {
        MediaSession(ice: transport.localCredentials, candidates: transport.signalledCandidates,
                     fingerprint: transport.certificate.fingerprint, setup: setup, media: [])
    }

    /// Over UDP, over TCP and over TLS to the server (the relay is UDP each time).
    @Test(arguments: ["udp", "tcp", "tls"]) func mediaGoesThroughTheDistrictsTURNServer(way: String) throws {
        let certificates = way == "tls" ? try TestCertificates(names: ["IP:127.0.0.1"]) : nil
        let server = try TURNServer(certificates: certificates)
        let box = try Self.transport(relayOnly: true)
        let bridge = try Self.transport(relayOnly: false)
        let relayServer: MediaTransport.RelayServer = switch way {
        case "udp": .init(address: server.address, username: "klasse4b", password: "geheim")
        case "tcp": .init(way: .tcp(host: "127.0.0.1", port: Int(server.port)), username: "klasse4b", password: "geheim")
        default: .init(way: .tls(host: "127.0.0.1", port: Int(server.tlsPort), caBundle: certificates?.caCertificate), username: "klasse4b", password: "geheim")
        }
        let problems = box.allocateRelays(on: [relayServer])
        #expect(problems.isEmpty, "\(problems)")
        let relay = try #require(box.relayCandidates.first)
        #expect(relay.kind == .relay && relay.address.port != server.port && relay.relatedAddress?.host == "127.0.0.1")
        #expect(box.signalledCandidates == [relay], "relay only: no host candidate is offered")

        let connected = Mutex<Set<String>>([])
        let received = Mutex<[[UInt8]]>([])
        box.onStateChange = { if case .connected = $0 { connected.withLock { _ = $0.insert("box") } } }
        bridge.onStateChange = { if case .connected = $0 { connected.withLock { _ = $0.insert("bridge") } } }
        bridge.onApplicationData = { bytes, _ in received.withLock { $0.append(bytes) } }
        try box.start(remote: Self.session(bridge, setup: .passive), iceRole: .controlled, dtlsRole: .client)
        try bridge.start(remote: Self.session(box, setup: .active), iceRole: .controlling, dtlsRole: .server)
        defer { box.stop(); bridge.stop() }
        let deadline = Date().addingTimeInterval(10)
        while connected.withLock({ $0.count }) < 2 && Date() < deadline { usleep(20_000) }
        #expect(connected.withLock { $0 } == ["box", "bridge"], "ICE and DTLS through the relay")
        // The bridge sees the box at its relayed address on the TURN server, nowhere else.
        #expect(bridge.path.withLock { $0?.remote } == relay.address)
        #expect(box.path.withLock { $0?.port.localAddress } == relay.address)
        let serverAddress = way == "tls" ? "127.0.0.1:\(server.tlsPort)" : "\(server.address)"
        #expect(box.mediaPath == "TURN relay (\(way)) via \(serverAddress)" && bridge.mediaPath == "direct")
        // Once the pair is chosen, a channel is bound and media goes in ChannelData.
        let relayPort = try #require(box.relayPorts.first)
        while relayPort.channels.withLock({ $0.isEmpty }) && Date() < deadline { usleep(20_000) }
        #expect(relayPort.channels.withLock { $0.keys.contains(bridge.localCandidates[0].address) })
        for index in 0..<20 { box.sendApplicationData([UInt8](repeating: UInt8(index), count: 600)) }
        while received.withLock({ $0.count }) < 20 && Date() < deadline { usleep(20_000) }
        #expect(received.withLock { $0.count } == 20 && received.withLock { $0.last } == [UInt8](repeating: 19, count: 600))
    }

    @Test func aWrongPasswordIsOneLineWithoutTheSecretAndNoCandidate() throws {
        let server = try TURNServer()
        let box = try Self.transport(relayOnly: false)
        let problems = box.allocateRelays(on: [.init(address: server.address, username: "klasse4b", password: "falsch")])
        #expect(problems.count == 1 && problems[0].contains("refused the user name or password") && !problems[0].contains("falsch"), "\(problems)")
        #expect(box.relayCandidates.isEmpty && box.signalledCandidates == box.localCandidates)
    }

    @Test func aTURNServerWhoseCertificateIsNotTrustedIsOneLine() throws {
        let certificates = try TestCertificates(names: ["IP:127.0.0.1"])
        let other = try TestCertificates(names: ["IP:127.0.0.1"])
        let server = try TURNServer(certificates: certificates)
        let box = try Self.transport(relayOnly: false)
        let problems = box.allocateRelays(on: [.init(way: .tls(host: "127.0.0.1", port: Int(server.tlsPort), caBundle: other.caCertificate),
                                                     username: "klasse4b", password: "geheim")])
        #expect(problems.count == 1 && problems[0].hasPrefix("TURN server 127.0.0.1:\(server.tlsPort) (tls): ")
                && problems[0].contains("not trusted"), "\(problems)")
        #expect(box.relayCandidates.isEmpty)
    }

    @Test func aTURNServerThatDoesNotAnswerCostsAtMostTheTimeout() throws {
        let silent = BoundUDPPort()
        let box = try Self.transport(relayOnly: false)
        let started = Date()
        let problems = box.allocateRelays(on: [.init(address: SocketAddress(host: "127.0.0.1", port: silent.port)!, username: "u", password: "p")],
                                          timeout: 1_500_000_000)
        withExtendedLifetime(silent) {}
        #expect(Date().timeIntervalSince(started) < 2.5)
        #expect(problems == ["TURN server 127.0.0.1:\(silent.port) (udp) did not allocate within 1 s"])
    }
}
