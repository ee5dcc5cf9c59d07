#if canImport(Glibc)
import Glibc
#endif
import Wire

/// Where a local ICE candidate sends from: a host candidate's own socket, or a TURN relay
/// (the socket to the server, with the datagram wrapped for the relay).
protocol CandidatePort: AnyObject, Sendable {
    /// The candidate's address: the socket's, or the relayed address on the TURN server.
    var localAddress: SocketAddress { get }
    func send(_ datagram: UnsafeRawBufferPointer, to peer: SocketAddress) throws(SocketError)
}

/// A UDP socket bound to one local address, non-blocking: the base of one ICE host
/// candidate. The network thread receives on it; media threads send through it.
public final class UDPPort: CandidatePort, @unchecked Sendable {
    public let localAddress: SocketAddress
    public let fd: Int32

    /// Binds `address` (port 0: any free port).
    public init(bindTo address: SocketAddress) throws(SocketError) {
        let fd = socket(address.isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno: errno) }
        self.fd = fd
        if address.isIPv6 {
            var only: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &only, socklen_t(MemoryLayout<Int32>.size))
        }
        var size: Int32 = 1 << 20  // a second of 8 Mbit/s video does not overflow the kernel buffers
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        guard address.withSockaddr({ bind(fd, $0, $1) }) == 0 else {
            let code = errno
            close(fd)
            throw .system("bind \(address)", errno: code)
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        localAddress = SocketAddress(storage: storage) ?? address
    }

    deinit { close(fd) }

    /// Sends one datagram; EAGAIN (kernel buffer full) and ICMP errors come back as errors.
    public func send(_ datagram: UnsafeRawBufferPointer, to peer: SocketAddress) throws(SocketError) {
        while true {
            let sent = peer.withSockaddr { sendto(fd, datagram.baseAddress, datagram.count, Int32(MSG_NOSIGNAL), $0, $1) }
            if sent >= 0 { return }
            if errno == EINTR { continue }
            throw .system("sendto \(peer)", errno: errno)
        }
    }

    /// Sends a four-octet header and the datagram after it as one datagram, without copying
    /// them together (TURN's ChannelData in front of an SRTP packet).
    func send(header: (UInt8, UInt8, UInt8, UInt8), _ datagram: UnsafeRawBufferPointer, to peer: SocketAddress) throws(SocketError) {
        var header = header
        while true {
            let sent = withUnsafeMutableBytes(of: &header) { head in
                peer.withSockaddr { address, length in
                    // A tuple, not an array: nothing is allocated per packet.
                    var parts = (iovec(iov_base: head.baseAddress, iov_len: 4),
                                 iovec(iov_base: UnsafeMutableRawPointer(mutating: datagram.baseAddress), iov_len: datagram.count))
                    return withUnsafeMutableBytes(of: &parts) { vectors in
                        var message = msghdr()
                        message.msg_name = UnsafeMutableRawPointer(mutating: UnsafeRawPointer(address))
                        message.msg_namelen = length
                        message.msg_iov = vectors.baseAddress!.assumingMemoryBound(to: iovec.self)
                        message.msg_iovlen = 2
                        return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
                    }
                }
            }
            if sent >= 0 { return }
            if errno == EINTR { continue }
            throw .system("sendmsg \(peer)", errno: errno)
        }
    }

    /// The next waiting datagram, or nil when none is.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) -> (count: Int, from: SocketAddress)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            let count = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &length) }
            }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0, let source = SocketAddress(storage: storage) else { return nil }
            return (count, source)
        }
    }
}

extension SocketAddress {
    init?(storage: sockaddr_storage) {
        var copy = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            let address = withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee } }
            var raw = address.sin_addr
            self.init(bytes: withUnsafeBytes(of: &raw) { Array($0) }, port: UInt16(bigEndian: address.sin_port))
        case AF_INET6:
            let address = withUnsafePointer(to: &copy) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee } }
            var raw = address.sin6_addr
            self.init(bytes: withUnsafeBytes(of: &raw) { Array($0) }, port: UInt16(bigEndian: address.sin6_port))
        default:
            return nil
        }
    }
}

/// The machine's addresses ICE can offer as host candidates.
public enum LocalAddresses {
    /// The local address a connected socket uses (getsockname), nil when it has none.
    public static func address(ofSocket fd: Int32) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return status == 0 ? SocketAddress(storage: storage) : nil
    }

    /// Whether `address` is no longer one of the machine's (loopback ones never go).
    public static func isGone(_ address: SocketAddress) -> Bool {
        !address.isLoopback && !list(ipv6: true).contains { $0.bytes == address.bytes }
    }

    /// Addresses of interfaces that are up: IPv4 always, IPv6 global ones when `ipv6`;
    /// limited to `interfaces` when given. With `loopback` (test rigs on one machine) only
    /// loopback addresses, otherwise never those.
    public static func list(interfaces: [String] = [], ipv6: Bool = true, loopback: Bool = false) -> [SocketAddress] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { return [] }
        defer { freeifaddrs(head) }
        var addresses: [SocketAddress] = []
        var cursor = head
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            let flags = entry.pointee.ifa_flags
            guard let raw = entry.pointee.ifa_addr, flags & UInt32(IFF_UP) != 0 else { continue }
            let name = String(cString: entry.pointee.ifa_name)
            if !interfaces.isEmpty && !interfaces.contains(name) { continue }
            let isLoopback = flags & UInt32(IFF_LOOPBACK) != 0
            if isLoopback != loopback { continue }
            var storage = sockaddr_storage()
            let length = Int32(raw.pointee.sa_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
            guard Int32(raw.pointee.sa_family) == AF_INET || Int32(raw.pointee.sa_family) == AF_INET6 else { continue }
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: length)) }
            guard let address = SocketAddress(storage: storage) else { continue }
            if address.isIPv6 && (!ipv6 || (address.bytes[0] == 0xFE && address.bytes[1] & 0xC0 == 0x80)) { continue }  // no link-local
            addresses.append(SocketAddress(bytes: address.bytes, port: 0))
        }
        return addresses
    }
}
