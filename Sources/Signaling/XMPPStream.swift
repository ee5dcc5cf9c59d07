import Wire
import XML

/// An XMPP client stream over WebSocket framing (RFC 7395), without I/O: elements and the
/// time go in; elements to send, the bound address, inbound stanzas and IQ responses come
/// out. Opening and SASL (ANONYMOUS, or PLAIN for box accounts) and resource binding follow
/// RFC 6120; XEP-0199 pings keep proxies from closing an idle socket and find a dead one.
/// With XEP-0198 (``StreamManagement``) a lost connection is resumed on a new one, so the
/// room never sees the box leave.
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
        /// The connection is gone but the server keeps the session for a while (XEP-0198):
        /// close the socket, open a new one (with ``resumptionID`` as `previd` in the URL) and
        /// call ``resume(now:)``. Stanzas sent meanwhile are held and go out on resumption.
        case interrupted(String)
        /// The session goes on over the new connection; nothing was lost either way.
        case resumed
    }

    enum State: Equatable {
        case idle
        case awaitingOpen(authenticated: Bool)
        case awaitingFeatures(authenticated: Bool)
        case authenticating
        case binding(id: String)
        case startingSession(id: String, jid: JID)
        case ready
        /// The connection is gone; waiting for the layer above to open a new one.
        case interrupted
        /// On a new connection, `<resume/>` sent.
        case resuming
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
    /// The server refused the login itself (SASL failure): wrong account, expired token.
    public internal(set) var loginRefused = false
    /// XEP-0198: the counters and the stanzas not yet acknowledged, from `<enable/>` on.
    var management: StreamManagement?
    /// This connection resumes the session instead of binding a new one.
    var resuming = false
    /// The stream features after login offered XEP-0198.
    var offersManagement = false
    var interruptedAt: UInt64 = 0

    public init(configuration: Configuration, idPrefix: String = String(UInt32.random(in: 0...UInt32.max), radix: 36)) {
        self.configuration = configuration
        self.idPrefix = idPrefix
    }

    public var isReady: Bool { state == .ready }

    /// Stanzas the layer above sends are held (counted, sent on resumption), not dropped.
    var isHolding: Bool { state == .interrupted || (resuming && state != .closed) }

    /// The next time ``tick(now:)`` has work (ping, timeouts).
    public var nextDeadline: UInt64? {
        switch state {
        case .idle, .closed: return nil
        case .interrupted: return interruptedAt + resumeWindow
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

    /// Whether the session would outlive a lost connection: management enabled with
    /// resumption, and the stream in use.
    public var canResume: Bool { management?.resumptionID != nil && (state == .ready || state == .interrupted || resuming) }

    /// The id the server gave for resuming (`previd`), nil when it cannot be resumed.
    public var resumptionID: String? { management?.resumptionID }

    /// The socket closed or broke (or the stream went silent): ``Output/interrupted(_:)`` when
    /// the session can be resumed, else ``Output/failed(_:)``.
    public mutating func connectionLost(_ reason: String, now: UInt64) -> [Output] {
        guard canResume else { return state == .closing ? [.closed] : fail(reason) }
        // The window runs from the first loss: a new connection that breaks before the
        // resumption is through does not start it again.
        if state == .ready { interruptedAt = now }
        state = .interrupted
        resuming = false
        return [.interrupted(reason)]
    }

    /// A new connection is open: log in again and resume (XEP-0198 §5) instead of binding.
    public mutating func resume(now: UInt64) -> [Output] {
        guard state == .interrupted else { return [] }
        resuming = true
        state = .awaitingOpen(authenticated: false)
        startedAt = now
        lastReceived = now
        return [.send(openElement)]
    }

    var openElement: XMLElement {
        XMLElement("open", namespace: Namespace.framing, attributes: ["to": configuration.domain, "version": "1.0"])
    }

    /// Sends a stanza (presence, message, or an IQ result/error).
    public mutating func send(_ stanza: XMLElement) -> [Output] {
        if isHolding {
            hold(stanza)
            return []
        }
        return state == .ready ? counted([.send(stanza)]) : []
    }

    /// Sends an IQ get/set, giving it an id; the answer arrives as `.response(id:)`.
    public mutating func sendRequest(_ iq: XMLElement, now: UInt64, timeout: UInt64? = nil) -> (id: String, outputs: [Output]) {
        var iq = iq
        let id = nextID()
        iq["id"] = id
        guard state == .ready || isHolding else { return (id, [.response(id: id, nil)]) }
        pending[id] = PendingRequest(to: iq["to"].flatMap(JID.init), deadline: now + (timeout ?? configuration.iqTimeout))
        if isHolding {
            hold(iq)
            return (id, [])
        }
        return (id, counted([.send(iq)]))
    }

    mutating func nextID() -> String {
        counter += 1
        return "\(idPrefix)-\(counter)"
    }

    /// Ends the stream politely (RFC 7395 §3.6): `<close/>`, then wait for the server's.
    public mutating func close() -> [Output] {
        switch state {
        case .idle, .closed, .closing: return []
        case .interrupted:
            state = .closed
            return [.closed]
        default:
            state = .closing
            return [.send(XMLElement("close", namespace: Namespace.framing))]
        }
    }

    /// Pings, overdue IQ responses, and a login or server that takes too long.
    public mutating func tick(now: UInt64) -> [Output] {
        switch state {
        case .idle, .closed, .closing: return []
        case .interrupted:
            return now >= interruptedAt + resumeWindow ? fail("the XMPP stream could not be resumed within \(resumeWindow / 1_000_000_000) s") : []
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
            return outputs + connectionLost("the XMPP server stopped answering (no reply to a ping for \(configuration.pingTimeout / 1_000_000_000) s)", now: now)
        }
        if pendingPing == nil, now >= nextPing {
            let id = nextID()
            pendingPing = id
            pingSentAt = now
            nextPing = now + configuration.pingInterval
            outputs += counted([.send(XMLElement("iq", namespace: Namespace.client, attributes: ["type": "get", "to": configuration.domain, "id": id],
                                                 children: [XMLElement("ping", namespace: Namespace.ping)]))])
        }
        return outputs
    }

    mutating func fail(_ reason: String) -> [Output] {
        state = .closed
        pending = [:]
        resuming = false
        management = nil
        return [.failed(reason)]
    }
}
