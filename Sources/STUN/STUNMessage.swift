import Wire

/// A STUN message (RFC 8489 §5).
///
///     0                   1                   2                   3
///     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |0 0|     STUN Message Type     |         Message Length        |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                         Magic Cookie                          |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                     Transaction ID (96 bits)                  |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
public struct STUNMessage: Sendable, Equatable {
    public static let magicCookie: UInt32 = 0x2112_A442
    public static let headerLength = 20

    public enum Class: UInt16, Sendable {
        case request = 0x0000
        case indication = 0x0010
        case successResponse = 0x0100
        case errorResponse = 0x0110
    }

    public var method: UInt16
    public var messageClass: Class
    /// 12 bytes.
    public var transactionID: [UInt8]
    public var attributes: [STUNAttribute]

    public init(method: UInt16 = STUNMessage.binding, messageClass: Class, transactionID: [UInt8], attributes: [STUNAttribute] = []) {
        precondition(transactionID.count == 12)
        self.method = method
        self.messageClass = messageClass
        self.transactionID = transactionID
        self.attributes = attributes
    }

    /// The Binding method, the only one ICE uses.
    public static let binding: UInt16 = 0x0001

    /// The 14-bit message type: method bits interleaved with the two class bits (§5).
    var messageType: UInt16 {
        (method & 0x000F) | (method & 0x0070) << 1 | (method & 0x0F80) << 2 | messageClass.rawValue
    }

    public func attribute(_ type: STUNAttributeType) -> STUNAttribute? {
        attributes.first { $0.type == type }
    }

    /// True when the datagram starts like a STUN message (RFC 7983: first byte 0–3, and the
    /// magic cookie in place).
    public static func looksLikeSTUN(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= headerLength && bytes[0] < 4
            && bytes[4] == 0x21 && bytes[5] == 0x12 && bytes[6] == 0xA4 && bytes[7] == 0x42
    }
}

/// Why a datagram is not an acceptable STUN message.
public enum STUNError: Error, Equatable, Sendable {
    case truncated
    case notSTUN
    case badLength
    case badAttribute(type: UInt16)
    case fingerprintMismatch
    case integrityMismatch
    case missingIntegrity
}
