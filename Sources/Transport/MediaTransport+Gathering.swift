#if canImport(Glibc)
import Glibc
#endif
import ICE
import Runtime
import Wire

extension MediaTransport {
    /// Asks the district's STUN servers for the box's server-reflexive addresses, before
    /// ``start(remote:iceRole:dtlsRole:goodbyeSSRCs:)`` and from the same sockets media will
    /// use, so the NAT binding is the one the bridge's checks arrive on. Blocks for at most
    /// `timeout` nanoseconds; returns why servers gave nothing (gathering never fails the call:
    /// host candidates still work inside the district's network).
    @discardableResult
    public func gatherServerReflexive(servers: [SocketAddress], timeout: UInt64 = 2_000_000_000) -> [String] {
        precondition(thread == nil, "gather before the network thread starts")
        var gatherer = ServerReflexiveGatherer(bases: localCandidates, servers: servers)
        let deadline = Monotonic.nanoseconds() + timeout
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500, alignment: 16)
        defer { buffer.deallocate() }
        while !gatherer.isFinished {
            let now = Monotonic.nanoseconds()
            if now >= deadline { break }
            for case let .send(datagram, from, to) in gatherer.handleTimeout(now: now) {
                guard let port = ports.first(where: { $0.localAddress == from }) else { continue }
                datagram.withUnsafeBytes { try? port.send($0, to: to) }
            }
            if gatherer.isFinished { break }
            let wait = min(gatherer.nextDeadline ?? deadline, deadline)
            var fds = ports.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            // One reading of the clock: read twice, the second could pass `wait` and the
            // unsigned difference wrap to a timeout no Int32 holds.
            let before = Monotonic.nanoseconds()
            let milliseconds = wait > before ? Int32(clamping: max(1, (wait - before) / 1_000_000)) : 0
            guard poll(&fds, nfds_t(fds.count), milliseconds) > 0 else { continue }
            for (index, entry) in fds.enumerated() where entry.revents != 0 {  // POLLERR too: reading clears an ICMP error
                while let (count, source) = ports[index].receive(into: buffer) {
                    // Nothing else is expected before the call starts; anything that is not an answer is dropped.
                    gatherer.handle(datagram: Array(buffer[0..<count]), from: source, at: ports[index].localAddress)
                }
            }
        }
        serverReflexiveCandidates = gatherer.candidates
        return gatherer.failures + (gatherer.isFinished ? [] : ["STUN gathering timed out"])
    }
}
