#if canImport(Glibc)
import Glibc
#endif
import ICE
import Runtime
import TURN
import Wire

extension MediaTransport {
    /// One of the district's TURN servers, resolved, with the box's credentials for it.
    public struct RelayServer: Sendable {
        public var address: SocketAddress
        public var credentials: TURNClient.Credentials

        public init(address: SocketAddress, username: String, password: String) {
            self.address = address
            credentials = .init(username: username, password: password)
        }
    }

    /// Allocates a relayed candidate on each server (UDP to the server), before
    /// ``start(remote:iceRole:dtlsRole:goodbyeSSRCs:)`` so the candidates are in the session
    /// the box signals. Blocks for at most `timeout` nanoseconds; returns what went wrong, one
    /// line per server (wrong credentials, no answer, a refusal), without any secret.
    @discardableResult
    public func allocateRelays(on servers: [RelayServer], timeout: UInt64 = 3_000_000_000) -> [String] {
        precondition(thread == nil, "allocate before the network thread starts")
        var problems: [String] = []
        var allocations: [(socket: UDPPort, client: TURNClient)] = []
        let started = Monotonic.nanoseconds()
        for server in servers {
            guard let base = localCandidates.first(where: { $0.address.isIPv6 == server.address.isIPv6 }) else {
                problems.append("TURN server \(server.address): no local address of its family")
                continue
            }
            do {
                let socket = try UDPPort(bindTo: SocketAddress(bytes: base.address.bytes, port: 0))
                var client = TURNClient(server: server.address, credentials: server.credentials)
                Self.deliver(client.start(now: started), on: socket, to: server.address)
                allocations.append((socket, client))
            } catch {
                problems.append("TURN server \(server.address): \(error)")
            }
        }
        let deadline = started + timeout
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
        defer { buffer.deallocate() }
        while allocations.contains(where: { $0.client.state == .allocating }) {
            let now = Monotonic.nanoseconds()
            if now >= deadline { break }
            for index in allocations.indices where (allocations[index].client.nextTimeout ?? .max) <= now {
                Self.deliver(allocations[index].client.handleTimeout(now: now), on: allocations[index].socket, to: allocations[index].client.server)
            }
            let wait = min(allocations.compactMap { $0.client.nextTimeout }.min() ?? deadline, deadline)
            var descriptors = allocations.map { pollfd(fd: $0.socket.fd, events: Int16(POLLIN), revents: 0) }
            let before = Monotonic.nanoseconds()
            let milliseconds = wait > before ? Int32(clamping: max(1, (wait - before) / 1_000_000)) : 0
            guard poll(&descriptors, nfds_t(descriptors.count), milliseconds) > 0 else { continue }
            for (index, entry) in descriptors.enumerated() where entry.revents != 0 {
                while let (count, source) = allocations[index].socket.receive(into: buffer) {
                    guard source == allocations[index].client.server,
                          case .handled(let events) = allocations[index].client.handle(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), now: Monotonic.nanoseconds())
                    else { continue }
                    Self.deliver(events, on: allocations[index].socket, to: source)
                }
            }
        }
        for (socket, client) in allocations {
            if let relay = RelayPort(socket: socket, client: client) {
                relayPorts.append(relay)
            } else if case .failed(let reason) = client.state {
                problems.append(reason)
            } else {
                problems.append("TURN server \(client.server) did not allocate within \(timeout / 1_000_000_000) s")
            }
        }
        relayCandidates = relayPorts.enumerated().map { index, relay in
            ICECandidate(foundation: relay.localAddress.isIPv6 ? "6" : "5",
                         priority: ICECandidate.priority(kind: .relay, localPreference: UInt32(65535 - index)),
                         address: relay.localAddress, kind: .relay, relatedAddress: relay.client.mappedAddress)
        }
        return problems
    }

    /// Which way media goes, for the status IT reads: "direct" (from a host candidate, the
    /// peer may see it at the school's outside address) or "TURN relay (udp) via SERVER";
    /// nil before a pair is selected.
    public var mediaPath: String? {
        guard let port = path.withLock({ $0?.port }) else { return nil }
        guard let relay = port as? RelayPort else { return "direct" }
        return "TURN relay (udp) via \(relay.server)"
    }

    private static func deliver(_ events: [TURNClient.Event], on socket: UDPPort, to server: SocketAddress) {
        for case .send(let bytes) in events { try? bytes.withUnsafeBytes { try socket.send($0, to: server) } }
    }
}
