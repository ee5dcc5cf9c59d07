#if canImport(Glibc)
import Glibc
#endif

/// Parsing of the host names, addresses and URLs a provisioning file may contain.
/// Each parser returns nil or a reason, never traps: the input is whatever IT typed.
public enum NetworkNames {
    /// The 4 or 16 address bytes of an IPv4/IPv6 literal (no brackets), or nil.
    public static func ipAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// RFC 1123 host name: dot-separated labels of letters, digits and hyphens.
    public static func isHostName(_ text: String) -> Bool {
        let name = text.hasSuffix(".") ? String(text.dropLast()) : text
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            label.utf8.count >= 1 && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { isASCIIAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// A host: a host name or an IP literal, lower-cased, without a trailing dot.
    public static func normalizedHost(_ text: String) -> String? {
        if ipAddress(text) != nil { return text.lowercased() }
        guard isHostName(text) else { return nil }
        let lower = text.lowercased()
        return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
    }

    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        guard let bytes = ipAddress(host) else { return false }
        return bytes.count == 4 ? bytes[0] == 127 : bytes == Array(repeating: 0, count: 15) + [1]
    }

    /// Splits `host[:port]` or `[v6]:port`; nil when malformed.
    static func splitHostPort(_ text: Substring) -> (host: String, port: Int?)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard ipAddress(host)?.count == 16 else { return nil }
            if rest.isEmpty { return (host, nil) }
            guard rest.hasPrefix(":"), let port = parsePort(rest.dropFirst()) else { return nil }
            return (host, port)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let host = normalizedHost(String(parts[0])) else { return nil }
        if parts.count == 1 { return (host, nil) }
        guard let port = parsePort(parts[1]) else { return nil }
        return (host, port)
    }

    static func parsePort(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 5, text.utf8.allSatisfy(isASCIIDigit),
              let port = Int(text), (1...65535).contains(port) else { return nil }
        return port
    }

    static func isASCIIDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func isASCIIAlphanumeric(_ byte: UInt8) -> Bool {
        isASCIIDigit(byte) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
    }
}

/// `host:port`, as used for STUN servers (`stun:host[:port]`, RFC 7064).
public struct HostPort: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `stun:host[:port]`; the default port is 3478.
    public static func stun(_ text: String) -> HostPort? {
        guard text.hasPrefix("stun:"), let (host, port) = NetworkNames.splitHostPort(text.dropFirst(5)) else { return nil }
        return HostPort(host: host, port: port ?? 3478)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// `ws(s)://host[:port]/path[?query]` for XMPP over WebSocket (RFC 7395).
public struct WebSocketURL: Sendable, Equatable, CustomStringConvertible {
    public var secure: Bool
    public var host: String
    public var port: Int
    /// Path and query, starting with `/`.
    public var path: String

    public init?(_ text: String) {
        let secure: Bool
        let rest: Substring
        if text.hasPrefix("wss://") {
            (secure, rest) = (true, text.dropFirst(6))
        } else if text.hasPrefix("ws://") {
            (secure, rest) = (false, text.dropFirst(5))
        } else {
            return nil
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let (host, port) = NetworkNames.splitHostPort(rest[..<slash]) else { return nil }
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "#") }) else { return nil }
        self.secure = secure
        self.host = host
        self.port = port ?? (secure ? 443 : 80)
        self.path = path
    }

    public var description: String {
        let scheme = secure ? "wss" : "ws"
        let defaultPort = secure ? 443 : 80
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(hostPart)\(port == defaultPort ? "" : ":\(port)")\(path)"
    }
}

/// `turn:host[:port][?transport=udp|tcp]` or `turns:...` (RFC 7065).
public struct TURNURL: Sendable, Equatable, CustomStringConvertible {
    public enum Transport: String, Sendable, Equatable { case udp, tcp }

    public var secure: Bool
    public var host: String
    public var port: Int
    public var transport: Transport

    public init?(_ text: String) {
        var rest: Substring
        if text.hasPrefix("turns:") {
            secure = true
            rest = text.dropFirst(6)
        } else if text.hasPrefix("turn:") {
            secure = false
            rest = text.dropFirst(5)
        } else {
            return nil
        }
        transport = secure ? .tcp : .udp
        if let question = rest.firstIndex(of: "?") {
            switch rest[rest.index(after: question)...] {
            case "transport=udp" where !secure: transport = .udp
            case "transport=tcp": transport = .tcp
            default: return nil
            }
            rest = rest[..<question]
        }
        guard let (host, port) = NetworkNames.splitHostPort(rest) else { return nil }
        self.host = host
        self.port = port ?? (secure ? 5349 : 3478)
    }

    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(secure ? "turns" : "turn"):\(hostPart):\(port)?transport=\(transport.rawValue)"
    }
}

/// An address range in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`).
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    public var address: [UInt8]
    public var prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = NetworkNames.ipAddress(String(parts[0])),
              parts[1].utf8.allSatisfy(NetworkNames.isASCIIDigit), parts[1].utf8.count <= 3,
              let prefix = Int(parts[1]), prefix <= address.count * 8 else { return nil }
        self.address = address
        self.prefixLength = prefix
    }

    /// True when `address` (4 or 16 bytes) lies in this range.
    public func contains(_ other: [UInt8]) -> Bool {
        guard other.count == address.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(address, other) where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if a & mask != b & mask { return false }
            remaining -= bits
        }
        return true
    }

    public var description: String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") + "/\(prefixLength)" }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var raw = in6_addr()
        withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: address) }
        inet_ntop(AF_INET6, &raw, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/\(prefixLength)"
    }
}

/// The district allow-list: a host is allowed when it equals one of the district domains
/// or lies below one (`meet.schule.example` under `schule.example`), or is an IP literal
/// listed exactly.
public struct DistrictPolicy: Sendable, Equatable {
    public var domains: [String]

    public init(domains: [String]) {
        self.domains = domains
    }

    public func allows(host: String) -> Bool {
        let host = host.lowercased()
        if NetworkNames.ipAddress(host) != nil {
            return domains.contains { NetworkNames.ipAddress($0) == NetworkNames.ipAddress(host) }
        }
        return domains.contains { host == $0 || host.hasSuffix("." + $0) }
    }
}
