import Wire

/// An ICE candidate (RFC 8445 §5.1) as signalled in SDP (`a=candidate:`) or Jingle.
public struct ICECandidate: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case host, srflx, prflx, relay

        /// RFC 8445 §5.1.2.2 recommended type preferences.
        var typePreference: UInt32 {
            switch self {
            case .host: return 126
            case .prflx: return 110
            case .srflx: return 100
            case .relay: return 0
            }
        }
    }

    public var foundation: String
    public var component: Int
    public var priority: UInt32
    public var address: SocketAddress
    public var kind: Kind
    public var relatedAddress: SocketAddress?

    public init(foundation: String, component: Int = 1, priority: UInt32, address: SocketAddress, kind: Kind,
                relatedAddress: SocketAddress? = nil) {
        self.foundation = foundation
        self.component = component
        self.priority = priority
        self.address = address
        self.kind = kind
        self.relatedAddress = relatedAddress
    }

    /// RFC 8445 §5.1.2.1: 2^24·type + 2^8·local + (256 − component).
    public static func priority(kind: Kind, localPreference: UInt32 = 65535, component: Int = 1) -> UInt32 {
        (kind.typePreference << 24) | ((localPreference & 0xFFFF) << 8) | UInt32(256 - component)
    }

    /// A host candidate on one of the box's addresses; IPv4 preferred slightly over IPv6
    /// (schools' networks are mostly IPv4, and the bridge's single port listens on both).
    public static func host(_ address: SocketAddress, index: Int = 0) -> ICECandidate {
        let preference = UInt32(max(0, 65535 - (address.isIPv6 ? 1000 : 0) - index))
        return ICECandidate(foundation: address.isIPv6 ? "2" : "1", priority: priority(kind: .host, localPreference: preference),
                            address: address, kind: .host)
    }

    /// The value of an SDP `a=candidate:` attribute (RFC 8839 §5.1), without the prefix.
    public var sdpValue: String {
        var text = "\(foundation) \(component) udp \(priority) \(address.host) \(address.port) typ \(kind.rawValue)"
        if let relatedAddress { text += " raddr \(relatedAddress.host) rport \(relatedAddress.port)" }
        return text
    }

    /// Parses `foundation component transport priority address port typ type [raddr a rport p] ...`
    /// (with or without the `candidate:` prefix); nil for TCP or malformed lines.
    public init?(sdp text: String) {
        var value = Substring(text)
        if value.hasPrefix("a=") { value = value.dropFirst(2) }
        if value.hasPrefix("candidate:") { value = value.dropFirst(10) }
        let fields = value.split(separator: " ")
        guard fields.count >= 8, fields[6] == "typ", fields[2].lowercased() == "udp",
              let component = Int(fields[1]), let priority = UInt32(fields[3]), let port = UInt16(fields[5]),
              let address = SocketAddress(host: String(fields[4]), port: port), let kind = Kind(rawValue: String(fields[7])) else {
            return nil
        }
        self.init(foundation: String(fields[0]), component: component, priority: priority, address: address, kind: kind)
        var index = 8
        while index + 1 < fields.count {
            if fields[index] == "raddr", index + 3 < fields.count, fields[index + 2] == "rport", let relatedPort = UInt16(fields[index + 3]) {
                relatedAddress = SocketAddress(host: String(fields[index + 1]), port: relatedPort)
                index += 4
            } else {
                index += 2
            }
        }
    }

    public var description: String { "\(kind.rawValue) \(address)" }
}

/// ICE usernames and passwords (RFC 8445 §5.3): the short-term STUN credentials.
public struct ICECredentials: Sendable, Hashable {
    public var ufrag: String
    public var password: String

    public init(ufrag: String, password: String) {
        self.ufrag = ufrag
        self.password = password
    }

    /// Fresh random credentials (ufrag 8, password 24 characters of the ice-char set).
    public static func random() -> ICECredentials {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var generator = SystemRandomNumberGenerator()
        func string(_ count: Int) -> String { String((0..<count).map { _ in alphabet.randomElement(using: &generator)! }) }
        return ICECredentials(ufrag: string(8), password: string(24))
    }
}
