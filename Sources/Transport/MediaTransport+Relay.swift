#if canImport(Glibc)
import Glibc
#endif
import ICE
import Runtime
import SecureSocket
import TURN
import Wire

extension MediaTransport {
    /// One of the district's TURN servers, how the box reaches it, and the box's credentials.
    public struct RelayServer: Sendable {
        public enum Way: Sendable, Equatable {
            case udp(SocketAddress)
            case tcp(host: String, port: Int)
            /// `turns:`: the certificate checked against `caBundle` (or the system's store)
            /// and the host name, as the signalling connection's is.
            case tls(host: String, port: Int, caBundle: String?)
        }

        public var way: Way
        public var credentials: TURNClient.Credentials

        public init(address: SocketAddress, username: String, password: String) {
            self.init(way: .udp(address), username: username, password: password)
        }

        public init(way: Way, username: String, password: String) {
            self.way = way
            credentials = .init(username: username, password: password)
        }

        /// For messages: "10.0.0.1:3478 (udp)", "turn.schule.example:443 (tls)".
        public var name: String {
            switch way {
            case .udp(let address): return "\(address) (udp)"
            case .tcp(let host, let port): return "\(host):\(port) (tcp)"
            case .tls(let host, let port, _): return "\(host):\(port) (tls)"
            }
        }
    }

    /// Allocates a relayed candidate on each server before
    /// ``start(remote:iceRole:dtlsRole:goodbyeSSRCs:)``, so the candidates are in the session
    /// the box signals. Blocks for at most `timeout` nanoseconds; returns what went wrong, one
    /// line per server (no connection, an untrusted certificate, wrong credentials, no
    /// answer, a refusal), without any secret.
    @discardableResult
    public func allocateRelays(on servers: [RelayServer], timeout: UInt64 = 3_000_000_000) -> [String] {
        precondition(thread == nil, "allocate before the network thread starts")
        var problems: [String] = []
        var allocations: [(link: RelayPort.Link, client: TURNClient, name: String)] = []
        let started = Monotonic.nanoseconds()
        let deadline = started + timeout
        for server in servers {
            do {
                let link = try Self.connect(server, bases: localCandidates, deadline: deadline)
                var client: TURNClient
                switch link {
                case .datagram:
                    guard case .udp(let address) = server.way else { continue }
                    client = TURNClient(server: address, credentials: server.credentials)
                case .stream(let stream):
                    // A reliable transport: one transmission, the answer or the end (RFC 8489 §6.2.2).
                    var timing = TURNClient.Timing()
                    timing.retransmissions = [10_000_000_000]
                    client = TURNClient(server: stream.server, credentials: server.credentials, timing: timing)
                }
                Self.deliver(client.start(now: Monotonic.nanoseconds()), over: link, to: client.server)
                allocations.append((link, client, server.name))
            } catch {
                problems.append("TURN server \(server.name): \(error)")
            }
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        var closed = Set<Int>()
        while allocations.indices.contains(where: { allocations[$0].client.state == .allocating && !closed.contains($0) }) {
            let now = Monotonic.nanoseconds()
            if now >= deadline { break }
            for index in allocations.indices where (allocations[index].client.nextTimeout ?? .max) <= now {
                Self.deliver(allocations[index].client.handleTimeout(now: now), over: allocations[index].link, to: allocations[index].client.server)
            }
            var descriptors = allocations.map { allocation -> pollfd in
                switch allocation.link {
                case .datagram(let socket): return pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
                case .stream(let stream):
                    try? stream.flush()
                    return pollfd(fd: stream.socket.fd, events: Int16(POLLIN) | (stream.wantsWrite ? Int16(POLLOUT) : 0), revents: 0)
                }
            }
            let wait = min(allocations.compactMap { $0.client.nextTimeout }.min() ?? deadline, deadline)
            let before = Monotonic.nanoseconds()
            let milliseconds = wait > before ? Int32(clamping: max(1, (wait - before) / 1_000_000)) : 0
            guard poll(&descriptors, nfds_t(descriptors.count), milliseconds) > 0 else { continue }
            for (index, entry) in descriptors.enumerated() where entry.revents != 0 && !closed.contains(index) {
                let server = allocations[index].client.server
                var messages: [[UInt8]] = []
                switch allocations[index].link {
                case .datagram(let socket):
                    while let (count, source) = socket.receive(into: buffer) {
                        if source == server { messages.append(Array(buffer[0..<count])) }
                    }
                case .stream(let stream):
                    guard let received = stream.receive(using: buffer) else {
                        closed.insert(index)
                        problems.append("TURN server \(allocations[index].name) closed the connection")
                        continue
                    }
                    messages = received
                }
                for message in messages {
                    guard case .handled(let events) = message.withUnsafeBytes({ allocations[index].client.handle($0, now: Monotonic.nanoseconds()) }) else { continue }
                    Self.deliver(events, over: allocations[index].link, to: server)
                }
            }
        }
        for (index, (link, client, name)) in allocations.enumerated() where !closed.contains(index) {
            if let relay = RelayPort(link: link, client: client) {
                if case .stream(let stream) = link { stream.wake = wake }
                relayPorts.append(relay)
            } else if case .failed(let reason) = client.state {
                problems.append(reason)
            } else {
                problems.append("TURN server \(name) did not allocate within \(timeout / 1_000_000_000) s")
            }
        }
        relayCandidates = relayPorts.enumerated().map { index, relay in
            // libwebrtc's order among relays: over UDP before TCP before TLS (less delay).
            let way: UInt32 = relay.way == "udp" ? 2 : relay.way == "tcp" ? 1 : 0
            return ICECandidate(foundation: "\(relay.localAddress.isIPv6 ? 6 : 5)\(relay.way)",
                                priority: ICECandidate.priority(kind: .relay, localPreference: way << 14 | UInt32(16383 - index)),
                                address: relay.localAddress, kind: .relay, relatedAddress: relay.client.mappedAddress)
        }
        return problems
    }

    /// Which way media goes, for the status IT reads: "direct" (from a host candidate, the
    /// peer may see it at the school's outside address) or "TURN relay (udp|tcp|tls) via
    /// SERVER"; nil before a pair is selected.
    public var mediaPath: String? {
        guard let port = path.withLock({ $0?.port }) else { return nil }
        guard let relay = port as? RelayPort else { return "direct" }
        return "TURN relay (\(relay.way)) via \(relay.server)"
    }

    /// The box's own address under the media path (the host socket, or the socket to a UDP
    /// TURN server); nil before a pair is selected and for a relay reached over TCP/TLS.
    public var pathBaseAddress: SocketAddress? {
        guard let port = path.withLock({ $0?.port }) else { return nil }
        if let relay = port as? RelayPort {
            if case .datagram(let socket) = relay.link { return socket.localAddress }
            return nil
        }
        return port.localAddress
    }

    private static func connect(_ server: RelayServer, bases: [ICECandidate], deadline: UInt64) throws -> RelayPort.Link {
        let remaining = deadline > Monotonic.nanoseconds() ? deadline - Monotonic.nanoseconds() : 0
        switch server.way {
        case .udp(let address):
            guard let base = bases.first(where: { $0.address.isIPv6 == address.isIPv6 }) else {
                throw SocketError.system("no local address of its family", errno: EAFNOSUPPORT)
            }
            return .datagram(try UDPPort(bindTo: SocketAddress(bytes: base.address.bytes, port: 0)))
        case .tcp(let host, let port):
            return .stream(try RelayStream(socket: try StreamSocket(host: host, port: port, tls: nil, timeout: remaining)))
        case .tls(let host, let port, let caBundle):
            return .stream(try RelayStream(socket: try StreamSocket(host: host, port: port, tls: TLSVerification(caBundle: caBundle), timeout: remaining)))
        }
    }

    private static func deliver(_ events: [TURNClient.Event], over link: RelayPort.Link, to server: SocketAddress) {
        for case .send(let bytes) in events {
            switch link {
            case .datagram(let socket): try? bytes.withUnsafeBytes { try socket.send($0, to: server) }
            case .stream(let stream): bytes.withUnsafeBytes { _ = stream.enqueue($0) }
            }
        }
    }
}
