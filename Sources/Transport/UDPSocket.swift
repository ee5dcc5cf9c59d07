#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 socket address from a numeric host (no DNS: the box resolves nothing
/// it was not configured with).
public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]
    public let port: UInt16

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

    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

public enum SocketError: Error, Equatable, CustomStringConvertible {
    case system(String, errno: Int32)

    public var description: String {
        switch self {
        case .system(let call, let code): return "\(call): \(String(cString: strerror(code)))"
        }
    }
}

/// A UDP socket connected to one peer. Sending is safe from several threads at once
/// (each `send` is one system call).
public final class UDPSocket: @unchecked Sendable {
    public let peer: SocketAddress
    private let fd: Int32

    public init(connectedTo peer: SocketAddress) throws(SocketError) {
        fd = socket(peer.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno: errno) }
        self.peer = peer
        let result = peer.withSockaddr { connect(fd, $0, $1) }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw .system("connect \(peer)", errno: code)
        }
    }

    deinit { close(fd) }

    /// Sends one datagram. ECONNREFUSED (an ICMP "port unreachable" for an earlier
    /// datagram) is reported like any error; callers count it and go on.
    public func send(_ datagram: UnsafeRawBufferPointer) throws(SocketError) {
        while true {
            let sent = Glibc.send(fd, datagram.baseAddress, datagram.count, Int32(MSG_NOSIGNAL))
            if sent >= 0 { return }
            if errno == EINTR { continue }
            throw .system("send", errno: errno)
        }
    }
}
