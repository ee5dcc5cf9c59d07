import Testing
@testable import STUN

/// The test vectors of RFC 5769 (STUN with short-term credentials, as ICE uses it).
@Suite struct RFC5769Tests {
    static let password = Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)
    static let transactionID: [UInt8] = [0xB7, 0xE7, 0xA7, 0x01, 0xBC, 0x34, 0xD6, 0x86, 0xFA, 0x87, 0xDF, 0xAE]

    /// §2.1: Binding request with SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, integrity, fingerprint.
    static let request: [UInt8] = [
        0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xA4, 0x42, 0xB7, 0xE7, 0xA7, 0x01, 0xBC, 0x34, 0xD6, 0x86, 0xFA, 0x87, 0xDF, 0xAE,
        0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4E, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6C, 0x69, 0x65, 0x6E, 0x74,  // SOFTWARE
        0x00, 0x24, 0x00, 0x04, 0x6E, 0x00, 0x01, 0xFF,                                                                          // PRIORITY
        0x80, 0x29, 0x00, 0x08, 0x93, 0x2F, 0xF9, 0xB1, 0x51, 0x26, 0x3B, 0x36,                                                  // ICE-CONTROLLED
        0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6A, 0x3A, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20,                          // USERNAME
        0x00, 0x08, 0x00, 0x14, 0x9A, 0xEA, 0xA7, 0x0C, 0xBF, 0xD8, 0xCB, 0x56, 0x78, 0x1E, 0xF2, 0xB5, 0xB2, 0xD3, 0xF2, 0x49,  // MESSAGE-INTEGRITY
        0xC1, 0xB5, 0x71, 0xA2,
        0x80, 0x28, 0x00, 0x04, 0xE5, 0x7A, 0x3B, 0xCF,                                                                          // FINGERPRINT
    ]

    /// §2.2: success response with an IPv4 XOR-MAPPED-ADDRESS (192.0.2.1:32853).
    static let responseIPv4: [UInt8] = [
        0x01, 0x01, 0x00, 0x3C, 0x21, 0x12, 0xA4, 0x42, 0xB7, 0xE7, 0xA7, 0x01, 0xBC, 0x34, 0xD6, 0x86, 0xFA, 0x87, 0xDF, 0xAE,
        0x80, 0x22, 0x00, 0x0B, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6F, 0x72, 0x20,                          // SOFTWARE
        0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xA1, 0x47, 0xE1, 0x12, 0xA6, 0x43,                                                  // XOR-MAPPED-ADDRESS
        0x00, 0x08, 0x00, 0x14, 0x2B, 0x91, 0xF5, 0x99, 0xFD, 0x9E, 0x90, 0xC3, 0x8C, 0x74, 0x89, 0xF9, 0x2A, 0xF9, 0xBA, 0x53,  // MESSAGE-INTEGRITY
        0xF0, 0x6B, 0xE7, 0xD7,
        0x80, 0x28, 0x00, 0x04, 0xC0, 0x7D, 0x4C, 0x96,                                                                          // FINGERPRINT
    ]

    /// §2.3: the same with an IPv6 address (2001:db8:1234:5678:11:2233:4455:6677, port 32853).
    static let responseIPv6: [UInt8] = [
        0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xA4, 0x42, 0xB7, 0xE7, 0xA7, 0x01, 0xBC, 0x34, 0xD6, 0x86, 0xFA, 0x87, 0xDF, 0xAE,
        0x80, 0x22, 0x00, 0x0B, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6F, 0x72, 0x20,                          // SOFTWARE
        0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xA1, 0x47, 0x01, 0x13, 0xA9, 0xFA, 0xA5, 0xD3, 0xF1, 0x79, 0xBC, 0x25, 0xF4, 0xB5,  // XOR-MAPPED-ADDRESS
        0xBE, 0xD2, 0xB9, 0xD9,
        0x00, 0x08, 0x00, 0x14, 0xA3, 0x82, 0x95, 0x4E, 0x4B, 0xE6, 0x7B, 0xF1, 0x17, 0x84, 0xC9, 0x7C, 0x82, 0x92, 0xC2, 0x75,  // MESSAGE-INTEGRITY
        0xBF, 0xE3, 0xED, 0x41,
        0x80, 0x28, 0x00, 0x04, 0xC8, 0xFB, 0x0B, 0x4C,                                                                          // FINGERPRINT
    ]

    @Test func sampleRequestDecodesAndVerifies() throws {
        try Self.request.withUnsafeBytes { raw in
            let message = try STUNMessage.decode(raw)
            #expect(message.messageClass == .request && message.method == STUNMessage.binding)
            #expect(message.transactionID == Self.transactionID)
            #expect(message.attribute(.username)?.stringValue == "evtj:h6vY")
            #expect(message.attribute(.software)?.stringValue == "STUN test client")
            #expect(message.attribute(.priority)?.uint32Value == 0x6E00_01FF)
            #expect(message.attribute(.iceControlled)?.uint64Value == 0x932F_F9B1_5126_3B36)
            try STUNMessage.verifyIntegrity(raw, key: Self.password)
        }
    }

    @Test(arguments: [(responseIPv4, [UInt8]([192, 0, 2, 1])),
                      (responseIPv6, [UInt8]([0x20, 0x01, 0x0D, 0xB8, 0x12, 0x34, 0x56, 0x78, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]))])
    func sampleResponsesDecodeAndVerify(bytes: [UInt8], address: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            let message = try STUNMessage.decode(raw)
            #expect(message.messageClass == .successResponse)
            let mapped = message.attribute(.xorMappedAddress)?.xorMappedAddressValue(transactionID: Self.transactionID)
            #expect(mapped?.address == address && mapped?.port == 32853)
            #expect(message.attribute(.software)?.stringValue == "test vector")
            try STUNMessage.verifyIntegrity(raw, key: Self.password)
        }
    }

    @Test func aWrongPasswordOrAFlippedBitIsDetected() throws {
        Self.request.withUnsafeBytes { raw in
            #expect(throws: STUNError.integrityMismatch) { try STUNMessage.verifyIntegrity(raw, key: Array("wrong".utf8)) }
        }
        var flipped = Self.request
        flipped[30] ^= 0x01
        flipped.withUnsafeBytes { raw in
            #expect(throws: STUNError.fingerprintMismatch) { try STUNMessage.decode(raw) }
        }
    }

    /// What we encode decodes back, verifies, and re-encodes to the same bytes.
    @Test func encodingRoundTrips() throws {
        let message = STUNMessage(messageClass: .request, transactionID: Self.transactionID, attributes: [
            .username("remote:local"), .priority(0x6E00_01FF), .iceControlling(tieBreaker: 0x0102_0304_0506_0708), .useCandidate,
        ])
        let bytes = message.encoded(integrityKey: Self.password)
        try bytes.withUnsafeBytes { raw in
            let decoded = try STUNMessage.decode(raw)
            try STUNMessage.verifyIntegrity(raw, key: Self.password)
            #expect(decoded.attributes.filter { $0.type != .messageIntegrity && $0.type != .fingerprint } == message.attributes)
            #expect(decoded.encoded(integrityKey: Self.password) == bytes)
        }
        let response = STUNMessage(messageClass: .errorResponse, transactionID: Self.transactionID,
                                   attributes: [.errorCode(487, reason: "Role Conflict"), .unknownAttributes([0x0031])])
        try response.encoded(integrityKey: Self.password).withUnsafeBytes { raw in
            let decoded = try STUNMessage.decode(raw)
            #expect(decoded.messageClass == .errorResponse)
            #expect(decoded.attribute(.errorCode)?.errorCodeValue?.code == 487)
            #expect(decoded.attribute(.errorCode)?.errorCodeValue?.reason == "Role Conflict")
        }
    }

    @Test func everyTruncatedPrefixFailsCleanly() {
        for length in 0..<Self.request.count {
            #expect(throws: STUNError.self) { try Array(Self.request[0..<length]).withUnsafeBytes { try STUNMessage.decode($0) } }
        }
    }

    @Test func otherProtocolsAreNotTakenForSTUN() {
        let rtp: [UInt8] = [0x80, 0x60, 0, 1] + [UInt8](repeating: 0, count: 20)
        let dtls: [UInt8] = [0x16, 0xFE, 0xFD] + [UInt8](repeating: 0, count: 20)
        #expect(!rtp.withUnsafeBytes { STUNMessage.looksLikeSTUN($0) })
        #expect(!dtls.withUnsafeBytes { STUNMessage.looksLikeSTUN($0) })
        #expect(Self.request.withUnsafeBytes { STUNMessage.looksLikeSTUN($0) })
    }
}
