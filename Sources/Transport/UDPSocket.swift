#if canImport(Glibc)
import Wire
import Glibc
#endif

extension SocketAddress {
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
