#if canImport(Glibc)
import Glibc
#endif
import ICE
import STUN
import Synchronization
import TURN
import Wire

/// A relayed candidate (RFC 8656): the relayed address on one of the district's TURN
/// servers, reached over UDP, TCP or TLS. ICE checks go out in Send indications; once the
/// pair media uses has a channel, every datagram goes with the four-octet ChannelData header
/// instead: over UDP written in front of the packet without a copy, over a stream queued
/// with its padding (``RelayStream``).
///
/// The TURN client's state belongs to the thread that runs the transport (the allocation
/// before the call, the network thread during it); media threads only read the channels.
final class RelayPort: CandidatePort, @unchecked Sendable {
    enum Link {
        case datagram(UDPPort)
        case stream(RelayStream)
    }

    let link: Link
    let server: SocketAddress
    let localAddress: SocketAddress
    var client: TURNClient
    /// Bound channels by peer, for ``send(_:to:)`` from any thread.
    let channels = Mutex<[SocketAddress: UInt16]>([:])
    /// The allocation or its connection is gone: sends fail at once, without building a
    /// message for each packet until ICE consent gives the path up.
    let isLost = Atomic<Bool>(false)

    /// Takes over an allocation that succeeded.
    init?(link: Link, client: TURNClient) {
        guard client.state == .allocated, let relayed = client.relayedAddress else { return nil }
        self.link = link
        self.client = client
        server = client.server
        localAddress = relayed
    }

    /// "udp", "tcp" or "tls": how the box reaches the server.
    var way: String {
        switch link {
        case .datagram: return "udp"
        case .stream(let stream): return stream.socket.isSecure ? "tls" : "tcp"
        }
    }

    var descriptor: Int32 {
        switch link {
        case .datagram(let socket): return socket.fd
        case .stream(let stream): return stream.socket.fd
        }
    }

    func send(_ datagram: UnsafeRawBufferPointer, to peer: SocketAddress) throws(SocketError) {
        if isLost.load(ordering: .relaxed) { throw .system("the relay is lost", errno: ENETUNREACH) }
        if let channel = channels.withLock({ $0[peer] }) {
            let header = TURN.channelDataHeader(channel: channel, count: datagram.count)
            switch link {
            case .datagram(let socket): try socket.send(header: header, datagram, to: server)
            case .stream(let stream):
                guard stream.enqueue(header: header, datagram, padding: TURNStreamFramer.padding(forChannelData: datagram.count)) else {
                    throw .system("the queue to TURN server \(server) is full", errno: ENOBUFS)
                }
            }
            return
        }
        let indication = STUNMessage.sendIndication(to: peer, data: datagram, transactionID: ICEAgent.systemRandom(12))
        var failure: SocketError?
        indication.withUnsafeBytes { bytes in
            do throws(SocketError) { try toServer(bytes) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// The allocation or its connection is gone: its channels are forgotten and sends fail.
    func markLost() {
        channels.withLock { $0.removeAll() }
        isLost.store(true, ordering: .relaxed)
    }

    /// One whole message to the server.
    func toServer(_ bytes: UnsafeRawBufferPointer) throws(SocketError) {
        switch link {
        case .datagram(let socket): try socket.send(bytes, to: server)
        case .stream(let stream):
            guard stream.enqueue(bytes) else { throw .system("the queue to TURN server \(server) is full", errno: ENOBUFS) }
        }
    }

    /// What a datagram on the relay's socket carried.
    enum Arrival {
        /// ChannelData: the peer's datagram is `range` of what arrived.
        case peer(SocketAddress, Range<Int>)
        /// A Data indication, copied out.
        case indication(SocketAddress, [UInt8])
        /// The server's answer to one of the client's requests.
        case answer([TURNClient.Event])
        case dropped
    }

    func unwrap(_ bytes: UnsafeRawBufferPointer, from source: SocketAddress, now: UInt64) -> Arrival {
        guard source == server, let first = bytes.first else { return .dropped }
        if TURN.isChannelData(firstOctet: first) {
            guard let (channel, range) = TURN.channelData(bytes), let peer = client.peer(onChannel: channel) else { return .dropped }
            return .peer(peer, range)
        }
        switch client.handle(bytes, now: now) {
        case .handled(let events): return .answer(events)
        case .data(let peer, let data): return .indication(peer, data)
        case .dropped: return .dropped
        }
    }

    /// Carries out the client's events; returns why the allocation failed, if it did.
    func apply(_ events: [TURNClient.Event]) -> String? {
        var failure: String?
        for event in events {
            switch event {
            case .send(let bytes): try? bytes.withUnsafeBytes { try toServer($0) }
            case .channelBound(let peer, let channel): channels.withLock { $0[peer] = channel }
            case .failed(let reason):
                markLost()
                failure = reason
            case .allocated: break
            }
        }
        return failure
    }
}
