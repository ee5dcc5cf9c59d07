/// A message for the SCTP association: which stream, which payload protocol, what bytes.
public struct SCTPMessage: Sendable, Equatable {
    public var stream: UInt16
    public var payloadProtocol: UInt32
    public var bytes: [UInt8]

    public init(stream: UInt16, payloadProtocol: UInt32, bytes: [UInt8]) {
        self.stream = stream
        self.payloadProtocol = payloadProtocol
        self.bytes = bytes
    }
}

/// What arrived on a data channel.
public enum DataChannelEvent: Sendable, Equatable {
    /// The other side acknowledged our OPEN.
    case opened
    /// The other side opened a channel on `stream` (acknowledged already).
    case remotelyOpened(stream: UInt16, DataChannelOpen)
    case text(String)
    case binary([UInt8])
}

/// One data channel the box opens, as lib-jitsi-meet opens the bridge channel
/// (`modules/RTC/BridgeChannel.ts`: `createDataChannel('JVB data channel', {protocol:
/// 'http://jitsi.org/protocols/colibri'})` — ordered, reliable, negotiated in band), and the
/// DCEP rules around it (RFC 8832): the DTLS client takes even stream ids, the server odd
/// (§6), so the box (DTLS client towards JVB) opens on stream 0; messages may follow the
/// OPEN at once, as the ordered stream cannot let them overtake it. JVB answers with ACK on
/// the same stream (`RemotelyOpenedDataChannel.java`) and accepts one channel per endpoint.
///
/// No I/O: it turns calls into `SCTPMessage`s and received SCTP messages into events. After
/// the association is lost (ICE/DTLS restart), `reset` and `open` again.
public struct DataChannelEndpoint: Sendable {
    public enum State: Sendable, Equatable { case closed, opening, open }

    public static let bridgeLabel = "JVB data channel"
    public static let bridgeProtocol = "http://jitsi.org/protocols/colibri"

    public let stream: UInt16
    public let parameters: DataChannelOpen
    public private(set) var state = State.closed
    /// Streams the other side opened (and we acknowledged).
    public private(set) var remoteStreams: Set<UInt16> = []
    /// Received messages dropped: on a stream no channel is open on, with an unknown payload
    /// protocol, or a DCEP message that could not be read.
    public private(set) var dropped = 0
    public private(set) var lastProblem: String?

    /// `dtlsClient`: the box's DTLS role (it is the client towards JVB: `setup:active`).
    public init(dtlsClient: Bool, label: String = bridgeLabel, protocol: String = bridgeProtocol) {
        stream = dtlsClient ? 0 : 1
        parameters = DataChannelOpen(label: label, protocol: `protocol`)
    }

    /// The OPEN to send; the channel is usable from now on.
    public mutating func open() -> SCTPMessage {
        state = .opening
        return SCTPMessage(stream: stream, payloadProtocol: PayloadProtocol.dcep.rawValue, bytes: DataChannelMessage.open(parameters).bytes)
    }

    /// A text message (PPID 51; 56 with one ignored byte when empty). Nil while closed.
    public func send(text: String) -> SCTPMessage? {
        guard state != .closed else { return nil }
        let bytes = Array(text.utf8)
        return bytes.isEmpty ? SCTPMessage(stream: stream, payloadProtocol: PayloadProtocol.emptyString.rawValue, bytes: [0])
            : SCTPMessage(stream: stream, payloadProtocol: PayloadProtocol.string.rawValue, bytes: bytes)
    }

    /// A binary message (PPID 53; 57 when empty). Nil while closed.
    public func send(binary bytes: [UInt8]) -> SCTPMessage? {
        guard state != .closed else { return nil }
        return bytes.isEmpty ? SCTPMessage(stream: stream, payloadProtocol: PayloadProtocol.emptyBinary.rawValue, bytes: [0])
            : SCTPMessage(stream: stream, payloadProtocol: PayloadProtocol.binary.rawValue, bytes: bytes)
    }

    /// A whole message the association delivered. Returns what it means and what to send back.
    public mutating func receive(_ message: SCTPMessage) -> (event: DataChannelEvent?, reply: SCTPMessage?) {
        guard let payloadProtocol = PayloadProtocol(rawValue: message.payloadProtocol) else {
            return drop("payload protocol \(message.payloadProtocol) unknown")
        }
        if payloadProtocol == .dcep {
            let parsed: DataChannelMessage
            switch message.bytes.withUnsafeBytes({ raw in Result { () throws(DataChannelError) in try DataChannelMessage(parsing: raw) } }) {
            case .success(let value): parsed = value
            case .failure(let error): return drop(error.description)
            }
            switch parsed {
            case .ack:
                guard message.stream == stream, state == .opening else { return drop("ACK on stream \(message.stream) unexpected") }
                state = .open
                return (.opened, nil)
            case .open(let open):
                // A stream of our own parity is ours to choose: the other side may not use it.
                guard message.stream % 2 != stream % 2 else { return drop("OPEN on our stream \(message.stream)") }
                remoteStreams.insert(message.stream)
                return (.remotelyOpened(stream: message.stream, open),
                        SCTPMessage(stream: message.stream, payloadProtocol: PayloadProtocol.dcep.rawValue, bytes: DataChannelMessage.ack.bytes))
            }
        }
        guard (message.stream == stream && state != .closed) || remoteStreams.contains(message.stream) else {
            return drop("message on stream \(message.stream), where no channel is open")
        }
        switch payloadProtocol {
        case .string:
            guard let text = String(validating: message.bytes, as: UTF8.self) else { return drop("text message is not UTF-8") }
            return (.text(text), nil)
        case .emptyString: return (.text(""), nil)
        case .binary: return (.binary(message.bytes), nil)
        case .emptyBinary: return (.binary([]), nil)
        case .dcep: return (nil, nil)
        }
    }

    /// The association is gone (ICE or DTLS restart, abort): nothing is open any more.
    public mutating func reset() {
        state = .closed
        remoteStreams = []
    }

    private mutating func drop(_ problem: String) -> (event: DataChannelEvent?, reply: SCTPMessage?) {
        dropped += 1
        lastProblem = problem
        return (nil, nil)
    }
}
