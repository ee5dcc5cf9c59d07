#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 socket address from a numeric host (no DNS: the box resolves nothing
/// it was not configured with).
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 (IPv4) or 16 (IPv6) address bytes, network order.
    public let bytes: [UInt8]
    public let port: UInt16

    public init(bytes: [UInt8], port: UInt16) {
        precondition(bytes.count == 4 || bytes.count == 16)
        self.bytes = bytes
        self.port = port
    }

    public init?(host: String, port: UInt16) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, host, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
        self.port = port
    }

    /// Parses `host:port` or `[v6]:port`.
    public init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let port = UInt16(portText), port > 0 else { return nil }
        self.init(host: String(host), port: port)
    }

    public var isIPv6: Bool { bytes.count == 16 }

    public var isLoopback: Bool { isIPv6 ? bytes == Array(repeating: 0, count: 15) + [1] : bytes[0] == 127 }

    /// RFC 1918, RFC 6598 shared, link-local, and IPv6 unique-local / link-local addresses:
    /// a school's own network.
    public var isPrivate: Bool {
        if isIPv6 { return bytes[0] & 0xFE == 0xFC || (bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80) }
        return bytes[0] == 10 || (bytes[0] == 172 && bytes[1] & 0xF0 == 16) || (bytes[0] == 192 && bytes[1] == 168)
            || (bytes[0] == 169 && bytes[1] == 254) || (bytes[0] == 100 && bytes[1] & 0xC0 == 64)
    }

    /// The numeric host, without brackets.
    public var host: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var raw = bytes
        inet_ntop(isIPv6 ? AF_INET6 : AF_INET, &raw, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
