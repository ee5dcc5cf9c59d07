import Wire
import XML

/// An XMPP client stream over WebSocket framing (RFC 7395), without I/O: elements and the
/// time go in; elements to send, the bound address, inbound stanzas and IQ responses come
/// out. Opening and SASL (ANONYMOUS, or PLAIN for box accounts) and resource binding follow
/// RFC 6120; XEP-0199 pings keep proxies from closing an idle socket and find a dead one.
public struct XMPPStream {
    public enum Login: Sendable, Equatable {
        case anonymous
        case plain(user: String, password: String)
    }

    public struct Configuration: Sendable {
        public var domain: String
        public var login: Login
        /// A ping goes to the server this often (lib-jitsi-meet: 10 s, gst-meet: 30 s).
        public var pingInterval: UInt64 = 25_000_000_000
        /// No answer to a ping (or to anything) for this long: the stream is dead.
        public var pingTimeout: UInt64 = 20_000_000_000
        /// Login and binding must be done within this.
        public var loginTimeout: UInt64 = 20_000_000_000
        public var iqTimeout: UInt64 = 15_000_000_000

        public init(domain: String, login: Login) {
            self.domain = domain
            self.login = login
        }
    }

    public enum Output: Equatable, Sendable {
        /// Write this element as one WebSocket text frame.
        case send(XMLElement)
        case ready(JID)
        /// An inbound presence, message or IQ request for the layers above. IQ requests
        /// must be answered (RFC 6120 §8.2.3); ``answerUnhandled(_:)`` builds the refusal.
        case stanza(XMLElement)
        /// The response to ``sendRequest(_:now:timeout:)``; nil when none came in time.
        case response(id: String, XMLElement?)
        /// The stream is unusable (login refused, stream error, silence); close the socket.
        case failed(String)
        /// The closing handshake is complete.
        case closed
    }

    enum State: Equatable {
        case idle
        case awaitingOpen(authenticated: Bool)
        case awaitingFeatures(authenticated: Bool)
        case authenticating
        case binding(id: String)
        case startingSession(id: String, jid: JID)
        case ready
        case closing
        case closed
    }

    struct PendingRequest {
        var to: JID?
        var deadline: UInt64
    }

    public let configuration: Configuration
    var state = State.idle
    public internal(set) var jid: JID?
    var startedAt: UInt64 = 0
    var lastReceived: UInt64 = 0
    var nextPing: UInt64 = 0
    var pendingPing: String?
    var pingSentAt: UInt64 = 0
    var pending: [String: PendingRequest] = [:]
    var counter = 0
    let idPrefix: String
    /// Stanzas that were not well-formed XMPP (no name we know, bad addresses), dropped.
    public internal(set) var dropped = 0

    public init(configuration: Configuration, idPrefix: String = String(UInt32.random(in: 0...UInt32.max), radix: 36)) {
        self.configuration = configuration
        self.idPrefix = idPrefix
    }

    public var isReady: Bool { state == .ready }

    /// The next time ``tick(now:)`` has work (ping, timeouts).
    public var nextDeadline: UInt64? {
        switch state {
        case .idle, .closed: return nil
        case .ready:
            let pings = pendingPing == nil ? nextPing : pingSentAt + configuration.pingTimeout
            return ([pings] + pending.values.map(\.deadline)).min()
        default: return startedAt + configuration.loginTimeout
        }
    }

    /// Opens the stream (§3.3.1 of RFC 7395).
    public mutating func start(now: UInt64) -> [Output] {
        state = .awaitingOpen(authenticated: false)
        startedAt = now
        lastReceived = now
        return [.send(openElement)]
    }

    var openElement: XMLElement {
        XMLElement("open", namespace: Namespace.framing, attributes: ["to": configuration.domain, "version": "1.0"])
    }

    /// Sends a stanza (presence, message, or an IQ result/error).
    public func send(_ stanza: XMLElement) -> [Output] {
        state == .ready ? [.send(stanza)] : []
    }

    /// Sends an IQ get/set, giving it an id; the answer arrives as `.response(id:)`.
    public mutating func sendRequest(_ iq: XMLElement, now: UInt64, timeout: UInt64? = nil) -> (id: String, outputs: [Output]) {
        var iq = iq
        let id = nextID()
        iq["id"] = id
        guard state == .ready else { return (id, [.response(id: id, nil)]) }
        pending[id] = PendingRequest(to: iq["to"].flatMap(JID.init), deadline: now + (timeout ?? configuration.iqTimeout))
        return (id, [.send(iq)])
    }

    mutating func nextID() -> String {
        counter += 1
        return "\(idPrefix)-\(counter)"
    }

    /// Ends the stream politely (RFC 7395 §3.6): `<close/>`, then wait for the server's.
    public mutating func close() -> [Output] {
        switch state {
        case .idle, .closed, .closing: return []
        default:
            state = .closing
            return [.send(XMLElement("close", namespace: Namespace.framing))]
        }
    }

    /// Pings, overdue IQ responses, and a login or server that takes too long.
    public mutating func tick(now: UInt64) -> [Output] {
        switch state {
        case .idle, .closed, .closing: return []
        case .ready: break
        default:
            return now >= startedAt + configuration.loginTimeout ? fail("the XMPP server did not complete the login within \(configuration.loginTimeout / 1_000_000_000) s") : []
        }
        var outputs: [Output] = []
        for (id, request) in pending where now >= request.deadline {
            pending[id] = nil
            outputs.append(.response(id: id, nil))
        }
        if pendingPing != nil, now >= pingSentAt + configuration.pingTimeout {
            return outputs + fail("the XMPP server stopped answering (no reply to a ping for \(configuration.pingTimeout / 1_000_000_000) s)")
        }
        if pendingPing == nil, now >= nextPing {
            let id = nextID()
            pendingPing = id
            pingSentAt = now
            nextPing = now + configuration.pingInterval
            outputs.append(.send(XMLElement("iq", namespace: Namespace.client, attributes: ["type": "get", "to": configuration.domain, "id": id],
                                            children: [XMLElement("ping", namespace: Namespace.ping)])))
        }
        return outputs
    }

    mutating func fail(_ reason: String) -> [Output] {
        state = .closed
        pending = [:]
        return [.failed(reason)]
    }
}
