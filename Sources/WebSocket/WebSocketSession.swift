import Crypto

/// The client side of an open WebSocket (RFC 6455 §5–§7), without I/O: bytes from the
/// server go in, messages come out; messages to send go in, bytes to write come out.
///
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-------+-+-------------+-------------------------------+
/// |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
/// |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
/// |N|V|V|V|       |S|             |   (if payload len==126/127)   |
/// | |1|2|3|       |K|             |                               |
/// +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
/// |     Extended payload length continued, if payload len == 127  |
/// + - - - - - - - - - - - - - - - +-------------------------------+
/// |                               |Masking-key, if MASK set to 1  |
/// +-------------------------------+-------------------------------+
/// | Masking-key (continued)       |          Payload Data         |
/// +-------------------------------- - - - - - - - - - - - - - - - +
/// ```
/// Client frames are always masked, server frames never are (§5.1). A protocol violation by
/// the server closes the connection with the status code §7.4.1 gives for it.
public struct WebSocketSession {
    public enum Event: Equatable, Sendable {
        case text(String)
        case binary([UInt8])
        case pong([UInt8])
        /// The closing handshake finished or the server broke the protocol; write what is
        /// pending, then close the socket.
        case closed(code: UInt16?, reason: String)
    }

    public enum State: Equatable, Sendable { case open, closing, closed }

    enum Opcode: UInt8 {
        case continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10
        var isControl: Bool { rawValue >= 8 }
    }

    public private(set) var state = State.open
    /// Messages larger than this are refused with status 1009.
    public let maximumMessageSize: Int
    var received: [UInt8] = []
    var fragments: [UInt8] = []
    var fragmentedOpcode: Opcode?
    var outgoing: [UInt8] = []
    let maskKey: () -> [UInt8]

    public init(maximumMessageSize: Int = 1 << 20, maskKey: @escaping () -> [UInt8] = { Digest.randomBytes(4) }) {
        self.maximumMessageSize = maximumMessageSize
        self.maskKey = maskKey
    }

    /// Bytes to write to the socket, in order; taking them empties the queue.
    public mutating func takeOutgoing() -> [UInt8] {
        defer { outgoing = [] }
        return outgoing
    }

    public var hasOutgoing: Bool { !outgoing.isEmpty }

    public mutating func send(text: String) {
        guard state == .open else { return }
        frame(.text, Array(text.utf8))
    }

    public mutating func ping(_ payload: [UInt8] = []) {
        guard state == .open else { return }
        frame(.ping, Array(payload.prefix(125)))
    }

    /// Starts the closing handshake (§7.1.2); `closed` follows when the server answers.
    public mutating func close(code: UInt16 = 1000, reason: String = "") {
        guard state == .open else { return }
        frame(.close, closePayload(code: code, reason: reason))
        state = .closing
    }

    /// Feeds bytes read from the socket.
    public mutating func receive(_ bytes: some Collection<UInt8>) -> [Event] {
        guard state != .closed else { return [] }
        received.append(contentsOf: bytes)
        var events: [Event] = []
        var consumed = 0
        while state != .closed {
            let result = nextFrame(from: consumed)
            switch result {
            case .incomplete:
                received.removeFirst(consumed)
                return events
            case .violation(let code, let reason):
                events.append(fail(code: code, reason: reason))
            case .frame(let fin, let opcode, let payload, let length):
                consumed += length
                if let event = handle(fin: fin, opcode: opcode, payload: payload) { events.append(event) }
            }
        }
        received = []
        return events
    }

    enum Parsed {
        case incomplete
        case violation(UInt16, String)
        case frame(fin: Bool, opcode: Opcode, payload: ArraySlice<UInt8>, length: Int)
    }

    func nextFrame(from start: Int) -> Parsed {
        let available = received.count - start
        guard available >= 2 else { return .incomplete }
        let first = received[start], second = received[start + 1]
        guard first & 0x70 == 0 else { return .violation(1002, "reserved bits set without a negotiated extension") }
        guard let opcode = Opcode(rawValue: first & 0x0F) else { return .violation(1002, "unknown opcode \(first & 0x0F)") }
        guard second & 0x80 == 0 else { return .violation(1002, "the server masked a frame") }
        let fin = first & 0x80 != 0
        var header = 2
        var length = UInt64(second & 0x7F)
        if opcode.isControl && (length > 125 || !fin) { return .violation(1002, "a control frame is fragmented or longer than 125 bytes") }
        if length == 126 {
            guard available >= 4 else { return .incomplete }
            length = UInt64(received[start + 2]) << 8 | UInt64(received[start + 3])
            header = 4
        } else if length == 127 {
            guard available >= 10 else { return .incomplete }
            length = (0..<8).reduce(0) { $0 << 8 | UInt64(received[start + 2 + $1]) }
            guard length >> 63 == 0 else { return .violation(1002, "a payload length has its top bit set") }
            header = 10
        }
        guard length + UInt64(fragments.count) <= UInt64(maximumMessageSize) else {
            return .violation(1009, "a message is larger than \(maximumMessageSize) bytes")
        }
        guard available >= header + Int(length) else { return .incomplete }
        let payload = received[(start + header)..<(start + header + Int(length))]
        return .frame(fin: fin, opcode: opcode, payload: payload, length: header + Int(length))
    }

    mutating func handle(fin: Bool, opcode: Opcode, payload: ArraySlice<UInt8>) -> Event? {
        switch opcode {
        case .ping:
            if state == .open { frame(.pong, Array(payload)) }
            return nil
        case .pong:
            return .pong(Array(payload))
        case .close:
            return receivedClose(payload)
        case .text, .binary:
            guard fragmentedOpcode == nil else { return fail(code: 1002, reason: "a new message started inside a fragmented one") }
            if !fin {
                fragmentedOpcode = opcode
                fragments = Array(payload)
                return nil
            }
            return message(opcode, payload)
        case .continuation:
            guard let started = fragmentedOpcode else { return fail(code: 1002, reason: "a continuation frame without a message") }
            fragments.append(contentsOf: payload)
            guard fin else { return nil }
            let whole = fragments
            fragments = []
            fragmentedOpcode = nil
            return message(started, whole[...])
        }
    }

    mutating func message(_ opcode: Opcode, _ payload: ArraySlice<UInt8>) -> Event? {
        guard state == .open else { return nil }  // after our close, data is discarded (§7.1.2)
        if opcode == .binary { return .binary(Array(payload)) }
        guard let text = String(validating: payload, as: UTF8.self) else { return fail(code: 1007, reason: "a text message is not valid UTF-8") }
        return .text(text)
    }

    mutating func receivedClose(_ payload: ArraySlice<UInt8>) -> Event {
        var code: UInt16?
        var reason = ""
        if payload.count == 1 { return fail(code: 1002, reason: "a close frame with a one-byte body") }
        if payload.count >= 2 {
            code = UInt16(payload[payload.startIndex]) << 8 | UInt16(payload[payload.startIndex + 1])
            guard let text = String(validating: payload.dropFirst(2), as: UTF8.self) else {
                return fail(code: 1007, reason: "a close reason is not valid UTF-8")
            }
            reason = text
        }
        if state == .open { frame(.close, code.map { closePayload(code: $0, reason: "") } ?? []) }  // echo (§5.5.1)
        state = .closed
        return .closed(code: code, reason: reason)
    }

    /// §7.1.7: fail the connection, telling the server why when it can still listen.
    mutating func fail(code: UInt16, reason: String) -> Event {
        if state == .open { frame(.close, closePayload(code: code, reason: reason)) }
        state = .closed
        received = []
        return .closed(code: code, reason: reason)
    }

    func closePayload(code: UInt16, reason: String) -> [UInt8] {
        [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8.prefix(123))
    }

    mutating func frame(_ opcode: Opcode, _ payload: [UInt8]) {
        outgoing.append(0x80 | opcode.rawValue)
        if payload.count < 126 {
            outgoing.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            outgoing += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            outgoing.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { outgoing.append(UInt8(UInt64(payload.count) >> UInt64(shift) & 0xFF)) }
        }
        let mask = maskKey()
        outgoing += mask
        outgoing.reserveCapacity(outgoing.count + payload.count)
        for (index, byte) in payload.enumerated() { outgoing.append(byte ^ mask[index & 3]) }
    }
}
