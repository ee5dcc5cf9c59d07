import Foundation
import Session
import Testing
@testable import DTLS

/// Two DTLS endpoints exchanging datagrams in memory.
@Suite struct DTLSConnectionTests {
    /// Runs the handshake; `deliver` may drop or alter datagrams (true = delivered).
    func handshake(_ client: DTLSConnection, _ server: DTLSConnection, rounds: Int = 12,
                   deliver: (Int, [UInt8]) -> Bool = { _, _ in true }) -> (sizes: [Int], count: Int) {
        var toServer = client.start()
        var toClient: [[UInt8]] = []
        var sizes: [Int] = []
        var sent = 0
        for _ in 0..<rounds {
            for datagram in toServer {
                sizes.append(datagram.count)
                sent += 1
                if deliver(sent, datagram) { toClient += server.handle(datagram: datagram) }
            }
            toServer = []
            for datagram in toClient {
                sizes.append(datagram.count)
                sent += 1
                if deliver(sent, datagram) { toServer += client.handle(datagram: datagram) }
            }
            toClient = []
            if case .connected = client.state, case .connected = server.state { break }
        }
        return (sizes, sent)
    }

    @Test func handshakeAgreesOnProfileAndMirroredKeys() throws {
        let clientIdentity = try DTLSCertificate(), serverIdentity = try DTLSCertificate()
        let client = try DTLSConnection(role: .client, certificate: clientIdentity, remoteFingerprint: serverIdentity.fingerprint)
        let server = try DTLSConnection(role: .server, certificate: serverIdentity, remoteFingerprint: clientIdentity.fingerprint)
        let (sizes, _) = handshake(client, server)
        guard case .connected(let clientKeys) = client.state, case .connected(let serverKeys) = server.state else {
            Issue.record("not connected: \(client.state) / \(server.state)"); return
        }
        #expect(clientKeys.profile == "SRTP_AEAD_AES_128_GCM" && serverKeys.profile == clientKeys.profile)
        #expect(clientKeys.localMasterKey == serverKeys.remoteMasterKey && clientKeys.remoteMasterKey == serverKeys.localMasterKey)
        #expect(clientKeys.localMasterKey.count == 28 && clientKeys.localMasterKey != clientKeys.remoteMasterKey)
        #expect(sizes.allSatisfy { $0 <= 1200 - 28 }, "every datagram fits the MTU: \(sizes)")
        #expect(clientIdentity.fingerprint.digest.count == 32 && clientIdentity.fingerprint.algorithm == "sha-256")
    }

    /// After the handshake the association carries application data both ways (the data
    /// channel's SCTP packets, RFC 8261), one record per packet.
    @Test func applicationDataTravelsBothWaysAfterTheHandshake() throws {
        let clientIdentity = try DTLSCertificate(), serverIdentity = try DTLSCertificate()
        let client = try DTLSConnection(role: .client, certificate: clientIdentity, remoteFingerprint: serverIdentity.fingerprint)
        let server = try DTLSConnection(role: .server, certificate: serverIdentity, remoteFingerprint: clientIdentity.fingerprint)
        #expect([UInt8](repeating: 1, count: 10).withUnsafeBytes { client.send(applicationData: $0) }.isEmpty, "nothing before the handshake")
        _ = handshake(client, server)
        let packet = (0..<1100).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let datagrams = packet.withUnsafeBytes { client.send(applicationData: $0) }
        #expect(datagrams.count == 1 && datagrams[0].count <= 1200 - 28 + 64)
        for datagram in datagrams { #expect(server.handle(datagram: datagram).isEmpty) }
        #expect(server.takeApplicationData() == [packet])
        #expect(server.takeApplicationData().isEmpty, "taken once")
        let answers = [[UInt8]([1, 2, 3]), [UInt8]([4])].flatMap { bytes in bytes.withUnsafeBytes { server.send(applicationData: $0) } }
        for datagram in answers { _ = client.handle(datagram: datagram) }
        #expect(client.takeApplicationData() == [[1, 2, 3], [4]])
        guard case .connected = client.state, case .connected = server.state else { Issue.record("\(client.state)"); return }
    }

    @Test func aWrongFingerprintFailsBeforeAnyKeyIsExported() throws {
        let clientIdentity = try DTLSCertificate(), serverIdentity = try DTLSCertificate(), impostor = try DTLSCertificate()
        let client = try DTLSConnection(role: .client, certificate: clientIdentity, remoteFingerprint: impostor.fingerprint)
        let server = try DTLSConnection(role: .server, certificate: serverIdentity, remoteFingerprint: clientIdentity.fingerprint)
        _ = handshake(client, server)
        guard case .failed(.fingerprintMismatch(let expected, let got)) = client.state else {
            Issue.record("expected a fingerprint mismatch, got \(client.state)"); return
        }
        #expect(expected == impostor.fingerprint.hex && got == serverIdentity.fingerprint.hex)
    }

    @Test func aLostFlightIsRetransmittedOnTheTimer() throws {
        let clientIdentity = try DTLSCertificate(), serverIdentity = try DTLSCertificate()
        let client = try DTLSConnection(role: .client, certificate: clientIdentity, remoteFingerprint: serverIdentity.fingerprint)
        let server = try DTLSConnection(role: .server, certificate: serverIdentity, remoteFingerprint: clientIdentity.fingerprint)
        _ = client.start()  // the ClientHello is lost
        let remaining = try #require(client.timeoutRemaining)
        #expect(remaining > 0 && remaining <= 100_000_000, "the first retransmission comes after 100 ms")
        #expect(client.handleTimeout().isEmpty, "nothing is due before the timer runs out")
        usleep(UInt32(remaining / 1000) + 20_000)  // OpenSSL's DTLS timer runs on the wall clock
        let retransmitted = client.handleTimeout()
        #expect(!retransmitted.isEmpty)
        var toClient: [[UInt8]] = []
        for datagram in retransmitted { toClient += server.handle(datagram: datagram) }
        #expect(!toClient.isEmpty, "the server answers the retransmitted ClientHello")
    }

    @Test func recordsArePackedIntoDatagramsAtTheirBoundaries() {
        func record(_ length: Int, _ fill: UInt8) -> [UInt8] {
            [22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 1, UInt8(length >> 8), UInt8(length & 0xFF)] + [UInt8](repeating: fill, count: length)
        }
        let flight = record(500, 1) + record(500, 2) + record(300, 3) + record(100, 4)
        let datagrams = DTLSConnection.packRecords(flight, limit: 1172)
        #expect(datagrams.map(\.count) == [1026, 426])
        #expect(datagrams.joined().elementsEqual(flight))
    }

    @Test func fingerprintsParseFromSignalling() {
        let fingerprint = CertificateFingerprint(algorithm: "SHA-256", hex: "0A:1B:FF")
        #expect(fingerprint?.digest == [0x0A, 0x1B, 0xFF] && fingerprint?.algorithm == "sha-256" && fingerprint?.hex == "0A:1B:FF")
        #expect(CertificateFingerprint(algorithm: "sha-256", hex: "0A:1G") == nil)
        #expect(CertificateFingerprint(algorithm: "sha-256", hex: "") == nil)
    }
}
