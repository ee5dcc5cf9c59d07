#if canImport(Glibc)
import Glibc
#endif
import Runtime
import SecureSocket
import Synchronization
import TURN
import Wire

/// A connection to a TURN server over TCP or TLS (`turn:HOST?transport=tcp`, `turns:HOST`),
/// for schools that let only TCP out, often only port 443. The relay itself stays UDP.
///
/// Messages go out through a queue: any thread adds whole messages (media threads their
/// packets), the network thread writes as much as the socket takes and keeps the rest, so
/// a media thread never blocks on the network and a message is never cut. When the queue
/// holds more than ``queueLimit`` octets (the link is slower than what is sent), new
/// messages are dropped whole and counted, as a full UDP socket buffer would drop them.
/// Messages in are cut out of the stream by ``TURNStreamFramer``.
final class RelayStream: @unchecked Sendable {
    let socket: StreamSocket
    /// The server's address as connected (for TURN's messages and the status).
    let server: SocketAddress
    private let outgoing = Mutex<(bytes: [UInt8], start: Int)>(([], 0))
    /// Tells the network thread there is something to write.
    var wake: Wakeup?
    /// Used by the network thread only.
    var framer = TURNStreamFramer()
    let dropped = Atomic<Int>(0)
    static let queueLimit = 256 * 1024

    init(socket: StreamSocket) throws(SocketError) {
        self.socket = socket
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(socket.fd, $0, &length) } }
        guard status == 0, let address = SocketAddress(storage: storage) else { throw .system("getpeername", errno: errno) }
        server = address
    }

    /// Queues `header`, `body` and `padding` zero octets as one message; false when dropped.
    @discardableResult
    func enqueue(header: (UInt8, UInt8, UInt8, UInt8)? = nil, _ body: UnsafeRawBufferPointer, padding: Int = 0) -> Bool {
        let added = (header == nil ? 0 : 4) + body.count + padding
        let wasEmpty: Bool? = outgoing.withLock { queue in
            let waiting = queue.bytes.count - queue.start
            guard waiting + added <= Self.queueLimit else { return nil }
            if queue.start > 0 && queue.start * 2 >= queue.bytes.count {
                queue.bytes.removeFirst(queue.start)
                queue.start = 0
            }
            if let header {  // one by one: an array literal would allocate per packet
                queue.bytes.append(header.0)
                queue.bytes.append(header.1)
                queue.bytes.append(header.2)
                queue.bytes.append(header.3)
            }
            queue.bytes.append(contentsOf: body)
            if padding > 0 { queue.bytes += repeatElement(0, count: padding) }
            return waiting == 0
        }
        guard let wasEmpty else {
            dropped.add(1, ordering: .relaxed)
            return false
        }
        if wasEmpty { wake?.signal() }
        return true
    }

    var wantsWrite: Bool { outgoing.withLock { $0.bytes.count > $0.start } }

    /// Writes what the socket takes now (network thread).
    func flush() throws(StreamSocketError) {
        let failure: StreamSocketError? = outgoing.withLock { queue in
            while queue.bytes.count > queue.start {
                let start = queue.start
                let result: Result<Int, StreamSocketError> = queue.bytes.withUnsafeBytes { bytes in
                    do throws(StreamSocketError) { return .success(try socket.writeSome(UnsafeRawBufferPointer(rebasing: bytes[start...]))) } catch {
                        return .failure(error)
                    }
                }
                switch result {
                case .failure(let error): return error
                case .success(0): return nil
                case .success(let written): queue.start += written
                }
            }
            queue.bytes.removeAll(keepingCapacity: true)
            queue.start = 0
            return nil
        }
        if let failure { throw failure }
    }

    /// Reads what has arrived and hands each whole message to `each` (network thread); false
    /// when the server closed the connection or the stream cannot be read on. `buffer` is
    /// only where the socket's bytes land before the framer takes them.
    func receive(using buffer: UnsafeMutableRawBufferPointer, each: (UnsafeRawBufferPointer) -> Void) -> Bool {
        while true {
            let result: StreamSocket.ReadResult
            do { result = try socket.read(into: buffer) } catch { return false }
            switch result {
            case .bytes(let count):
                do { try framer.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), each: each) } catch { return false }
            case .wouldBlock:
                return true
            case .endOfStream:
                return false
            }
        }
    }

    /// The same, collecting the messages (the allocation before the call).
    func receive(using buffer: UnsafeMutableRawBufferPointer) -> [[UInt8]]? {
        var messages: [[UInt8]] = []
        return receive(using: buffer) { messages.append(Array($0)) } ? messages : nil
    }
}
