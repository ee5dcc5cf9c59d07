#if canImport(Glibc)
import Glibc
#endif
import Runtime
import SecureSocket

/// The district's own server as a clock: one `HEAD /` over HTTPS, and the `Date` of the answer.
/// The certificate chain and the server's name are checked as for the signalling connection;
/// only the validity period is not, because the box asks precisely when its clock is not to
/// be trusted yet. A forged time would need a certificate from the district's CA.
public struct ServerClock: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var caBundle: String?

    public init(host: String, port: Int, caBundle: String?) {
        (self.host, self.port, self.caBundle) = (host, port, caBundle)
    }

    /// How IT sees this source in the log and on the screen.
    public var url: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 443 ? "https://\(name)" : "https://\(name):\(port)"
    }

    public struct Answer: Sendable, Equatable {
        public var date: Int64
        /// From the request to the answer, and when the answer came (monotonic nanoseconds).
        public var roundTrip: Int64
        public var receivedAt: UInt64
    }

    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Asks once, within `timeout` nanoseconds.
    public func ask(timeout: UInt64 = 10_000_000_000) throws(Failure) -> Answer {
        let socket: StreamSocket
        do {
            socket = try StreamSocket(host: host, port: port, tls: TLSVerification(caBundle: caBundle, ignoresValidityPeriod: true), timeout: timeout)
        } catch {
            throw Failure(description: error.description)
        }
        defer { socket.close() }
        let hostField = url.dropFirst("https://".count)
        let sentAt = Monotonic.nanoseconds()
        do {
            try socket.write(Array("HEAD / HTTP/1.1\r\nHost: \(hostField)\r\nUser-Agent: classbox\r\nConnection: close\r\n\r\n".utf8))
        } catch {
            throw Failure(description: error.description)
        }
        var received: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { buffer.deallocate() }
        let deadline = Monotonic.nanoseconds() + timeout
        while true {
            let result: StreamSocket.ReadResult
            do {
                result = try socket.read(into: buffer)
            } catch {
                throw Failure(description: error.description)
            }
            switch result {
            case .bytes(let count):
                received += buffer[..<count]
                switch HTTPResponseHead.read(received) {
                case .incomplete: continue
                case .malformed(let reason): throw Failure(description: "\(url) did not answer in HTTP: \(reason)")
                case .complete(let head):
                    guard let date = head.date else { throw Failure(description: "\(url) answered without a Date") }
                    let receivedAt = Monotonic.nanoseconds()
                    return Answer(date: date, roundTrip: Int64(receivedAt - sentAt), receivedAt: receivedAt)
                }
            case .endOfStream:
                throw Failure(description: "\(url) closed the connection before its answer")
            case .wouldBlock:
                if socket.hasBufferedData { continue }
                let now = Monotonic.nanoseconds()
                guard now < deadline else { throw Failure(description: "\(url) did not answer within \(timeout / 1_000_000_000) s") }
                var entry = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&entry, 1, Int32(min(1000, (deadline - now) / 1_000_000 + 1)))
            }
        }
    }

    static func realtime() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
