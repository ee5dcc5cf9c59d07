#if canImport(Glibc)
import Glibc
#endif
import Provisioning
import SecureSocket
import WebSocket
import XML

/// The box's one signalling connection: TCP (+ verified TLS) to the district's XMPP
/// WebSocket endpoint, the RFC 6455 upgrade with subprotocol `xmpp`, and one XML element
/// per text frame (RFC 7395). Used by one thread only.
final class SignalingConnection {
    enum Incoming {
        case element(XMLElement)
        /// The socket or WebSocket closed; the reason is for the log.
        case closed(String)
    }

    let socket: StreamSocket
    var session = WebSocketSession()
    let reader = XMLReader()
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
    private var isClosed = false
    /// Frames that were not one well-formed XML element, dropped.
    private(set) var malformedFrames = 0

    /// Connects and upgrades within `timeout` nanoseconds. `room` is added to the URL as
    /// `?room=`, which Jitsi's Prosody modules read (jitsi-protocol.md §2.1); a connection
    /// that resumes a session adds `&previd=` with its id, as lib-jitsi-meet does: Jitsi's
    /// anonymous login then gives it the old session's name, without which no resume works.
    /// `token` (Jitsi's token authentication) goes as `&token=`, where lib-jitsi-meet puts it;
    /// the URL is never logged.
    init(url: WebSocketURL, room: String, token: String? = nil, resumptionID: String? = nil, caBundle: String?, timeout: UInt64 = 10_000_000_000) throws(StreamSocketError) {
        socket = try StreamSocket(host: url.host, port: url.port, tls: url.secure ? TLSVerification(caBundle: caBundle) : nil, timeout: timeout)
        let separator = url.path.contains("?") ? "&" : "?"
        let handshake = WebSocketHandshake(host: url.host, port: url.port, secure: url.secure,
                                           resource: url.path + separator + "room=" + Self.percentEncoded(room)
                                                     + (token.map { "&token=" + Self.percentEncoded($0) } ?? "")
                                                     + (resumptionID.map { "&previd=" + Self.percentEncoded($0) } ?? ""),
                                           subprotocol: "xmpp")
        try socket.write(handshake.request)
        var response: [UInt8] = []
        let deadline = Self.now() + timeout
        while true {
            switch try socket.read(into: buffer) {
            case .bytes(let count): response += buffer[0..<count]
            case .endOfStream: throw StreamSocketError("the server closed the connection during the WebSocket upgrade")
            case .wouldBlock:
                guard Self.now() < deadline else { throw StreamSocketError("timed out waiting for the WebSocket upgrade") }
                var entry = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&entry, 1, 100)
                continue
            }
            do {
                if case .upgraded(let consumed) = try handshake.readResponse(response) {
                    pending = Array(response[consumed...])
                    return
                }
            } catch {
                throw StreamSocketError(error.description)
            }
        }
    }

    /// Bytes that came with the upgrade response, to be read as frames.
    private var pending: [UInt8] = []

    deinit {
        close()
        buffer.deallocate()
    }

    var fd: Int32 { socket.fd }

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    static func percentEncoded(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            if (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || "-._~".utf8.contains(byte) {
                output.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                output += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return output
    }

    /// Sends one stanza (or framing element) as one text frame.
    func send(_ element: XMLElement) throws(StreamSocketError) {
        session.send(text: element.serialized())
        try flush()
    }

    func flush() throws(StreamSocketError) {
        guard session.hasOutgoing, !isClosed else { return }
        try socket.write(session.takeOutgoing())
    }

    /// Whether bytes are waiting in TLS or in our buffer, so polling must not wait.
    var hasBufferedInput: Bool { !pending.isEmpty || socket.hasBufferedData }

    /// Reads whatever arrived, without blocking: elements in order, then maybe `closed`.
    func readAvailable() -> [Incoming] {
        var incoming: [Incoming] = []
        var bytes = pending
        pending = []
        var ended: String?
        reading: while true {
            do {
                switch try socket.read(into: buffer) {
                case .bytes(let count): bytes += buffer[0..<count]
                case .wouldBlock: break reading
                case .endOfStream:
                    ended = "the server closed the connection"
                    break reading
                }
            } catch {
                ended = error.description
                break reading
            }
        }
        for event in session.receive(bytes) {
            switch event {
            case .text(let text):
                do {
                    incoming.append(.element(try reader.parse(text)))
                } catch {
                    malformedFrames += 1
                }
            case .binary:
                malformedFrames += 1  // RFC 7395 §3.2: XMPP is sent in text frames only
            case .pong:
                break
            case .closed(let code, let reason):
                try? flush()
                ended = "the WebSocket closed" + (code.map { " (\($0)\(reason.isEmpty ? "" : " \(reason)"))" } ?? "")
            }
        }
        try? flush()  // pongs and close echoes
        if let ended { incoming.append(.closed(ended)) }
        return incoming
    }

    /// Starts the WebSocket closing handshake and closes the socket.
    func close() {
        guard !isClosed else { return }
        session.close(code: 1000)
        try? flush()
        isClosed = true
        socket.close()
    }
}
