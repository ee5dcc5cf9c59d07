import Wire
import Foundation
import Testing
@testable import Transport

@Suite struct SRTPSessionTests {
    static let rtp: [UInt8] = [0x80, 0xE4, 0x00, 0x01, 0x00, 0x00, 0x10, 0x00, 0x11, 0x22, 0x33, 0x44] + Array("frame payload bytes".utf8)
    static let rtcp: [UInt8] = [0x80, 0xC9, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44]  // an empty receiver report

    func key(_ profile: SRTPProfile, seed: UInt8 = 1) -> [UInt8] { (0..<profile.masterKeyLength).map { UInt8($0) &* 13 &+ seed } }

    func protect(_ session: SRTPSession, _ packet: [UInt8], rtcp: Bool = false) throws -> [UInt8] {
        var buffer = packet + [UInt8](repeating: 0, count: 32)
        let length = try buffer.withUnsafeMutableBytes { raw in
            rtcp ? try session.protectRTCP(raw, length: packet.count) : try session.protect(raw, length: packet.count)
        }
        return Array(buffer[0..<length])
    }

    func unprotect(_ session: SRTPSession, _ packet: [UInt8], rtcp: Bool = false) throws -> [UInt8] {
        var buffer = packet
        let length = try buffer.withUnsafeMutableBytes { raw in
            rtcp ? try session.unprotectRTCP(raw, length: packet.count) : try session.unprotect(raw, length: packet.count)
        }
        return Array(buffer[0..<length])
    }

    @Test(arguments: SRTPProfile.allCases)
    func roundTripTamperAndReplay(profile: SRTPProfile) throws {
        let sender = try SRTPSession(profile: profile, masterKey: key(profile), direction: .outbound)
        let receiver = try SRTPSession(profile: profile, masterKey: key(profile), direction: .inbound)
        let wire = try protect(sender, Self.rtp)
        #expect(wire.count == Self.rtp.count + profile.rtpOverhead)
        #expect(Array(wire[0..<12]) == Array(Self.rtp[0..<12]), "the header stays in clear")
        #expect(Array(wire[12..<Self.rtp.count]) != Array(Self.rtp[12...]))
        var tampered = wire
        tampered[20] ^= 0x80
        #expect(throws: SRTPError.authenticationFailed) { try unprotect(receiver, tampered) }
        #expect(try unprotect(receiver, wire) == Self.rtp)
        #expect(throws: SRTPError.replayed) { try unprotect(receiver, wire) }

        let control = try protect(sender, Self.rtcp, rtcp: true)
        #expect(control.count == Self.rtcp.count + profile.rtcpOverhead)
        #expect(try unprotect(receiver, control, rtcp: true) == Self.rtcp)
    }

    @Test func aDifferentKeyFailsAuthentication() throws {
        let sender = try SRTPSession(profile: .aeadAes128Gcm, masterKey: key(.aeadAes128Gcm), direction: .outbound)
        let stranger = try SRTPSession(profile: .aeadAes128Gcm, masterKey: key(.aeadAes128Gcm, seed: 2), direction: .inbound)
        #expect(throws: SRTPError.authenticationFailed) { try unprotect(stranger, try protect(sender, Self.rtp)) }
    }

    @Test func badKeysAndShortBuffersAreErrors() throws {
        #expect(throws: SRTPError.badKeyLength(expected: 30, got: 16)) {
            try SRTPSession(profile: .aes128CmHmacSha1_80, masterKey: [UInt8](repeating: 1, count: 16), direction: .outbound)
        }
        let sender = try SRTPSession(profile: .aes128CmHmacSha1_80, masterKey: key(.aes128CmHmacSha1_80), direction: .outbound)
        var tight = Self.rtp
        #expect(throws: SRTPError.tooLarge) { try tight.withUnsafeMutableBytes { raw in try sender.protect(raw, length: raw.count) } }
        var garbage = [UInt8](repeating: 7, count: 4)
        #expect(throws: SRTPError.self) { try garbage.withUnsafeMutableBytes { raw in try sender.unprotect(raw, length: 4) } }
    }
}

@Suite struct UDPSocketTests {
    @Test func addressesParseAndClassify() throws {
        #expect(SocketAddress("127.0.0.1:5004")?.description == "127.0.0.1:5004")
        #expect(SocketAddress("[::1]:5004")?.isLoopback == true)
        #expect(SocketAddress("10.1.2.3:1")?.isPrivate == true && SocketAddress("172.20.0.1:1")?.isPrivate == true)
        #expect(SocketAddress("192.168.1.1:1")?.isPrivate == true && SocketAddress("[fd00::5]:9")?.isPrivate == true)
        #expect(SocketAddress("8.8.8.8:53")?.isPrivate == false && SocketAddress("172.32.0.1:1")?.isPrivate == false)
        for bad in ["localhost:5004", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "[::1]5004", "1.2.3.4.5:6"] {
            #expect(SocketAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func datagramsArriveAtTheConnectedPeer() throws {
        let receiver = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(receiver) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(receiver, $0, &length) } }
        let port = UInt16(bigEndian: address.sin_port)
        let socket = try UDPSocket(connectedTo: try #require(SocketAddress(host: "127.0.0.1", port: port)))
        try [UInt8]([1, 2, 3]).withUnsafeBytes { try socket.send($0) }
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = recv(receiver, &buffer, buffer.count, 0)
        #expect(Array(buffer[0..<max(0, count)]) == [1, 2, 3])
    }
}

@Suite struct SRTPCryptoBackendTests {
    /// libsrtp accepted the OpenSSL primitives: each passed libsrtp's self-test with its
    /// vectors (RFC 3711 B.2, GCM test case 4, RFC 2202) when it was installed.
    @Test func libsrtpRunsOnOpenSSL() {
        #expect(SRTPSession.usesOpenSSLPrimitives)
    }
}
