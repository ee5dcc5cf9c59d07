import STUN
import Wire

/// TURN's methods and attributes on top of STUN (RFC 8656 §17–18), and ChannelData framing
/// (§12), the four-octet header that replaces a Send or Data indication once a channel is bound.
public enum TURN {
    public static let allocate: UInt16 = 0x003
    public static let refresh: UInt16 = 0x004
    public static let send: UInt16 = 0x006
    public static let data: UInt16 = 0x007
    public static let createPermission: UInt16 = 0x008
    public static let channelBind: UInt16 = 0x009

    /// REQUESTED-TRANSPORT's protocol number for UDP, the only relayed transport media needs
    /// (a client on TCP or TLS still gets a UDP relay).
    public static let udp: UInt8 = 17

    /// Channel numbers a client may bind (§12).
    public static let channels: ClosedRange<UInt16> = 0x4000...0x4FFF

    /// The ChannelData header for `count` octets of data on `channel`.
    public static func channelDataHeader(channel: UInt16, count: Int) -> (UInt8, UInt8, UInt8, UInt8) {
        (UInt8(channel >> 8), UInt8(channel & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF))
    }

    /// The channel and the data's range of a ChannelData message (first two bits 01), or nil
    /// when `bytes` is not one or claims more data than it holds. Over UDP the data may be
    /// followed by padding; over a stream the caller cuts frames first (§12.5).
    public static func channelData(_ bytes: UnsafeRawBufferPointer) -> (channel: UInt16, data: Range<Int>)? {
        guard bytes.count >= 4 else { return nil }
        let channel = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        let length = Int(bytes[2]) << 8 | Int(bytes[3])
        guard channels.contains(channel), 4 + length <= bytes.count else { return nil }
        return (channel, 4..<(4 + length))
    }

    /// True when the first octet says ChannelData (RFC 7983 §7: 64–79).
    public static func isChannelData(firstOctet: UInt8) -> Bool { (64...79).contains(firstOctet) }
}

extension STUNAttributeType {
    public static let channelNumber = Self(rawValue: 0x000C)
    public static let lifetime = Self(rawValue: 0x000D)
    public static let xorPeerAddress = Self(rawValue: 0x0012)
    public static let data = Self(rawValue: 0x0013)
    public static let xorRelayedAddress = Self(rawValue: 0x0016)
    public static let requestedTransport = Self(rawValue: 0x0019)
}

extension STUNAttribute {
    public static func lifetime(seconds: UInt32) -> STUNAttribute {
        .init(type: .lifetime, value: (0..<4).map { UInt8(truncatingIfNeeded: seconds >> (24 - 8 * $0)) })
    }

    public static func requestedTransport(_ protocolNumber: UInt8) -> STUNAttribute {
        .init(type: .requestedTransport, value: [protocolNumber, 0, 0, 0])
    }

    public static func channelNumber(_ channel: UInt16) -> STUNAttribute {
        .init(type: .channelNumber, value: [UInt8(channel >> 8), UInt8(channel & 0xFF), 0, 0])
    }

    public static func xorPeerAddress(_ peer: SocketAddress, transactionID: [UInt8]) -> STUNAttribute {
        .xorAddress(.xorPeerAddress, address: peer.bytes, port: peer.port, transactionID: transactionID)
    }

    public static func realm(_ text: String) -> STUNAttribute { .init(type: .realm, value: Array(text.utf8)) }
    public static func nonce(_ text: String) -> STUNAttribute { .init(type: .nonce, value: Array(text.utf8)) }

    /// An XOR-encoded address attribute as a socket address.
    public func socketAddress(transactionID: [UInt8]) -> SocketAddress? {
        xorAddressValue(transactionID: transactionID).map { SocketAddress(bytes: $0.address, port: $0.port) }
    }
}

extension STUNMessage {
    /// A Send indication (§11.3): `data` to `peer` through the relay, before a channel exists.
    public static func sendIndication(to peer: SocketAddress, data: UnsafeRawBufferPointer, transactionID: [UInt8]) -> [UInt8] {
        STUNMessage(method: TURN.send, messageClass: .indication, transactionID: transactionID,
                    attributes: [.xorPeerAddress(peer, transactionID: transactionID), .init(type: .data, value: Array(data))])
            .encoded(fingerprint: false)
    }
}
