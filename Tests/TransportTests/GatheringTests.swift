import ClassboxTestSupport
import DTLS
import Testing
import Transport
import Wire

/// Gathering on real sockets: a STUN server that never answers must not hold the call up
/// for longer than the retransmissions take, and must be reported.
struct GatheringTests {
    @Test func aSilentSTUNServerIsGivenUpOnAndReported() throws {
        let silent = BoundUDPPort()
        var configuration = MediaTransport.Configuration()
        configuration.loopback = true
        configuration.ipv6 = false
        let transport = try MediaTransport(configuration: configuration, certificate: try DTLSCertificate())
        let started = ContinuousClock.now
        let problems = transport.gatherServerReflexive(servers: [SocketAddress(host: "127.0.0.1", port: silent.port)!])
        let took = ContinuousClock.now - started
        withExtendedLifetime(silent) {}
        #expect(problems == ["STUN server 127.0.0.1:\(silent.port) did not answer"])
        #expect(transport.serverReflexiveCandidates.isEmpty)
        #expect(transport.signalledCandidates == transport.localCandidates)
        #expect(took < .seconds(3), "bounded by the retransmissions: \(took)")
    }

    @Test func resolvingKeepsLiteralsAndOrdersIPv4First() {
        #expect(HostResolver.udpAddresses(host: "192.0.2.1", port: 3478) == [SocketAddress("192.0.2.1:3478")!])
        #expect(HostResolver.udpAddresses(host: "2001:db8::1", port: 3478, ipv6: false).isEmpty)
        let local = HostResolver.udpAddresses(host: "localhost", port: 3478)
        #expect(local.first == SocketAddress("127.0.0.1:3478"), "\(local)")
        #expect(HostResolver.udpAddresses(host: "no-such-host.invalid", port: 3478).isEmpty)
    }
}
