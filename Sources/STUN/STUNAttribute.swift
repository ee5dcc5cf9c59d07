import Wire

public struct STUNAttributeType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let mappedAddress = Self(rawValue: 0x0001)
    public static let username = Self(rawValue: 0x0006)
    public static let messageIntegrity = Self(rawValue: 0x0008)
    public static let errorCode = Self(rawValue: 0x0009)
    public static let unknownAttributes = Self(rawValue: 0x000A)
    public static let realm = Self(rawValue: 0x0014)
    public static let nonce = Self(rawValue: 0x0015)
    public static let xorMappedAddress = Self(rawValue: 0x0020)
    /// RFC 8445 §16.1
    public static let priority = Self(rawValue: 0x0024)
    public static let useCandidate = Self(rawValue: 0x0025)
    public static let software = Self(rawValue: 0x8022)
    public static let fingerprint = Self(rawValue: 0x8028)
    public static let iceControlled = Self(rawValue: 0x8029)
    public static let iceControlling = Self(rawValue: 0x802A)

    /// Types below 0x8000 must be understood (RFC 8489 §14).
    public var isComprehensionRequired: Bool { rawValue < 0x8000 }

    public var description: String { "0x" + String(rawValue, radix: 16) }
}

/// One attribute: its type and raw value (without padding). Typed accessors decode it.
public struct STUNAttribute: Sendable, Equatable {
    public var type: STUNAttributeType
    public var value: [UInt8]

    public init(type: STUNAttributeType, value: [UInt8]) {
        self.type = type
        self.value = value
    }

    public static func username(_ text: String) -> STUNAttribute { .init(type: .username, value: Array(text.utf8)) }
    public static func software(_ text: String) -> STUNAttribute { .init(type: .software, value: Array(text.utf8)) }

    public static func priority(_ value: UInt32) -> STUNAttribute { .init(type: .priority, value: bigEndian(value)) }

    public static let useCandidate = STUNAttribute(type: .useCandidate, value: [])

    public static func iceControlling(tieBreaker: UInt64) -> STUNAttribute { .init(type: .iceControlling, value: bigEndian(tieBreaker)) }
    public static func iceControlled(tieBreaker: UInt64) -> STUNAttribute { .init(type: .iceControlled, value: bigEndian(tieBreaker)) }

    /// ERROR-CODE (§14.8): class and number, then a reason phrase.
    public static func errorCode(_ code: Int, reason: String) -> STUNAttribute {
        .init(type: .errorCode, value: [0, 0, UInt8(code / 100), UInt8(code % 100)] + Array(reason.utf8))
    }

    public static func unknownAttributes(_ types: [UInt16]) -> STUNAttribute {
        .init(type: .unknownAttributes, value: types.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
    }

    /// XOR-MAPPED-ADDRESS (§14.2): the address XORed with the magic cookie (and, for IPv6,
    /// the transaction ID), so NATs that rewrite addresses in payloads leave it alone.
    public static func xorMappedAddress(address: [UInt8], port: UInt16, transactionID: [UInt8]) -> STUNAttribute {
        xorAddress(.xorMappedAddress, address: address, port: port, transactionID: transactionID)
    }

    /// An attribute in XOR-MAPPED-ADDRESS's encoding (TURN's XOR-PEER-ADDRESS and
    /// XOR-RELAYED-ADDRESS use it too, RFC 8656 §18).
    public static func xorAddress(_ type: STUNAttributeType, address: [UInt8], port: UInt16, transactionID: [UInt8]) -> STUNAttribute {
        let cookie = bigEndian(STUNMessage.magicCookie)
        let xorPort = port ^ UInt16(STUNMessage.magicCookie >> 16)
        let mask = cookie + transactionID
        let xored = address.enumerated().map { $0.element ^ mask[$0.offset] }
        return .init(type: type, value: [0, address.count == 4 ? 0x01 : 0x02, UInt8(xorPort >> 8), UInt8(xorPort & 0xFF)] + xored)
    }

    // MARK: Decoding

    public var stringValue: String? { String(validating: value, as: UTF8.self) }

    public var uint32Value: UInt32? {
        guard value.count == 4 else { return nil }
        return value.reduce(0) { $0 << 8 | UInt32($1) }
    }

    public var uint64Value: UInt64? {
        guard value.count == 8 else { return nil }
        return value.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// (code, reason) of an ERROR-CODE.
    public var errorCodeValue: (code: Int, reason: String)? {
        guard type == .errorCode, value.count >= 4 else { return nil }
        return (Int(value[2] & 0x07) * 100 + Int(value[3]), String(decoding: value[4...], as: UTF8.self))
    }

    /// (address bytes, port) of an XOR-MAPPED-ADDRESS.
    public func xorMappedAddressValue(transactionID: [UInt8]) -> (address: [UInt8], port: UInt16)? {
        guard type == .xorMappedAddress else { return nil }
        return xorAddressValue(transactionID: transactionID)
    }

    /// (address bytes, port) of any attribute in XOR-MAPPED-ADDRESS's encoding.
    public func xorAddressValue(transactionID: [UInt8]) -> (address: [UInt8], port: UInt16)? {
        guard value.count >= 8, transactionID.count == 12 else { return nil }
        let length = value[1] == 0x01 ? 4 : value[1] == 0x02 ? 16 : 0
        guard length > 0, value.count == 4 + length else { return nil }
        let port = (UInt16(value[2]) << 8 | UInt16(value[3])) ^ UInt16(STUNMessage.magicCookie >> 16)
        let mask = Self.bigEndian(STUNMessage.magicCookie) + transactionID
        return (value[4...].enumerated().map { $0.element ^ mask[$0.offset] }, port)
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
    static func bigEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) } }
}
