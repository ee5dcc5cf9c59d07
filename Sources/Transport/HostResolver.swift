#if canImport(Glibc)
import Glibc
#endif
import Wire

/// Name resolution for the few hosts the box dials directly over UDP (the district's STUN
/// and TURN servers). Blocking; call it while setting a call up, never on a media thread.
public enum HostResolver {
    /// The UDP addresses of `host` (a name or a literal address), IPv4 first; empty when
    /// the name does not resolve.
    public static func udpAddresses(host: String, port: UInt16, ipv6: Bool = true) -> [SocketAddress] {
        if let literal = SocketAddress(host: host, port: port) { return ipv6 || !literal.isIPv6 ? [literal] : [] }
        var hints = addrinfo()
        hints.ai_family = ipv6 ? AF_UNSPEC : AF_INET
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var addresses: [SocketAddress] = []
        var cursor = result
        while let entry = cursor {
            defer { cursor = entry.pointee.ai_next }
            guard let raw = entry.pointee.ai_addr else { continue }
            var storage = sockaddr_storage()
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: Int(entry.pointee.ai_addrlen))) }
            if let address = SocketAddress(storage: storage), !addresses.contains(address) { addresses.append(address) }
        }
        return addresses.filter { !$0.isIPv6 } + addresses.filter(\.isIPv6)
    }
}
