import Wire
import XML

extension XMPPStream {
    /// One element the server sent (one WebSocket frame).
    public mutating func receive(_ element: XMLElement, now: UInt64) -> [Output] {
        lastReceived = now
        if element.namespace == Namespace.framing {
            return element.name == "close" ? serverClosed() : element.name == "open" ? opened(element) : []
        }
        if element.namespace == Namespace.streams && element.name == "error" {
            let condition = element.elements.first { $0.namespace == Namespace.streamErrors && $0.name != "text" }?.name ?? "undefined-condition"
            let text = element.element("text", namespace: Namespace.streamErrors)?.text
            return fail("the XMPP server ended the stream: \(condition)" + (text.map { " (\($0))" } ?? ""))
        }
        if element.namespace == Namespace.streamManagement, state == .ready || state == .closing || state == .resuming {
            return managementElement(element, now: now)
        }
        switch state {
        case .awaitingFeatures(let authenticated):
            guard element.namespace == Namespace.streams, element.name == "features" else { return protocolError("expected stream features, got <\(element.name)>") }
            return authenticated ? bind(features: element, now: now) : authenticate(features: element)
        case .authenticating:
            return authenticationResult(element)
        case .binding(let id):
            return bound(element, id: id)
        case .startingSession(let id, let jid):
            guard element.name == "iq", element["id"] == id else { return protocolError("expected the session result") }
            guard element["type"] == "result" else { return fail("the XMPP server refused to start a session") }
            return becomeReady(jid, now: now)
        case .ready, .closing:
            return stanza(element, now: now)
        case .resuming:
            return protocolError("expected the answer to <resume/>, got <\(element.name)>")
        case .idle, .closed, .awaitingOpen, .interrupted:
            return []
        }
    }

    mutating func opened(_ element: XMLElement) -> [Output] {
        guard case .awaitingOpen(let authenticated) = state else { return [] }
        guard element["version"] == "1.0" else { return fail("the XMPP server does not speak XMPP 1.0") }
        state = .awaitingFeatures(authenticated: authenticated)
        return []
    }

    mutating func serverClosed() -> [Output] {
        let wasClosing = state == .closing
        state = .closed
        pending = [:]
        management = nil  // a deliberate close ends the session: nothing to resume
        return wasClosing ? [.closed] : [.send(XMLElement("close", namespace: Namespace.framing)), .failed("the XMPP server closed the stream")]
    }

    mutating func protocolError(_ reason: String) -> [Output] {
        fail("XMPP protocol error: \(reason)")
    }

    // MARK: Login (RFC 6120 §6, §7)

    mutating func authenticate(features: XMLElement) -> [Output] {
        let offered = features.element("mechanisms", namespace: Namespace.sasl)?.elements("mechanism").map(\.text) ?? []
        var auth = XMLElement("auth", namespace: Namespace.sasl)
        switch configuration.login {
        case .anonymous:
            guard offered.contains("ANONYMOUS") else {
                return fail("the XMPP server does not allow anonymous login (offers \(offered.joined(separator: ", "))): configure a box account")
            }
            auth["mechanism"] = "ANONYMOUS"
        case .plain(let user, let password):
            guard offered.contains("PLAIN") else { return fail("the XMPP server does not offer PLAIN login (offers \(offered.joined(separator: ", ")))") }
            auth["mechanism"] = "PLAIN"
            auth.children = [.text(Base64.encode([0] + Array(user.utf8) + [0] + Array(password.utf8)))]
        }
        state = .authenticating
        return [.send(auth)]
    }

    mutating func authenticationResult(_ element: XMLElement) -> [Output] {
        guard element.namespace == Namespace.sasl else { return protocolError("expected a SASL answer, got <\(element.name)>") }
        switch element.name {
        case "success":
            state = .awaitingOpen(authenticated: true)
            return [.send(openElement)]  // §6.4.6: restart the stream
        case "failure":
            let condition = element.elements.first { $0.name != "text" }?.name ?? "not-authorized"
            let text = element.element("text")?.text
            loginRefused = true
            return fail("the XMPP server refused the login: \(condition)" + (text.map { " (\($0))" } ?? ""))
        case "challenge":
            return fail("the XMPP server sent a SASL challenge the mechanism does not have")
        default:
            return protocolError("unexpected <\(element.name)> during SASL")
        }
    }

    mutating func bind(features: XMLElement, now: UInt64) -> [Output] {
        offersManagement = features.element("sm", namespace: Namespace.streamManagement) != nil
        if resuming {
            return offersManagement ? sendResume() : fail("the XMPP server no longer offers stream management to resume with")
        }
        guard features.element("bind", namespace: Namespace.bind) != nil else { return fail("the XMPP server does not offer resource binding") }
        let id = nextID()
        state = .binding(id: id)
        return [.send(XMLElement("iq", namespace: Namespace.client, attributes: ["type": "set", "id": id],
                                 children: [XMLElement("bind", namespace: Namespace.bind)]))]
    }

    mutating func bound(_ element: XMLElement, id: String) -> [Output] {
        guard element.name == "iq", element["id"] == id else { return protocolError("expected the bind result") }
        guard element["type"] == "result", let text = element.element("bind", namespace: Namespace.bind)?.element("jid")?.text,
              let jid = JID(text), jid.resource != nil else {
            return fail("the XMPP server refused to bind a resource")
        }
        self.jid = jid
        return becomeReady(jid, now: lastReceived)
    }

    mutating func becomeReady(_ jid: JID, now: UInt64) -> [Output] {
        state = .ready
        nextPing = now + configuration.pingInterval
        // <enable/> before anything else goes out: the server counts from it.
        return enableManagement(offered: offersManagement) + [.ready(jid)]
    }

    // MARK: Stanzas (RFC 6120 §8)

    mutating func stanza(_ element: XMLElement, now: UInt64) -> [Output] {
        countHandled(element)
        guard element.namespace == Namespace.client, ["iq", "presence", "message"].contains(element.name) else {
            dropped += 1
            return []
        }
        if let from = element["from"], JID(from) == nil {
            dropped += 1
            return []
        }
        guard element.name == "iq" else { return [.stanza(element)] }
        let type = element["type"] ?? ""
        let id = element["id"] ?? ""
        switch type {
        case "result", "error":
            if id == pendingPing {
                pendingPing = nil
                return []
            }
            guard let request = pending[id], responds(element, to: request) else {
                dropped += 1
                return []
            }
            pending[id] = nil
            return [.response(id: id, element)]
        case "get", "set":
            guard !id.isEmpty, element.elements.count == 1 else {
                dropped += 1
                return []
            }
            if type == "get", element.element("ping", namespace: Namespace.ping) != nil {
                return counted([.send(Self.result(to: element))])  // XEP-0199 §4: the server or Jicofo checks we are alive
            }
            return [.stanza(element)]
        default:
            dropped += 1
            return []
        }
    }

    /// RFC 6120 §8.1.2.1: a response must come from whom the request went to (our own
    /// server may answer for our bare address or itself).
    func responds(_ element: XMLElement, to request: PendingRequest) -> Bool {
        let from = element["from"].flatMap(JID.init)
        guard let to = request.to else {
            return from == nil || from == jid?.bare || from == JID(domain: configuration.domain) || from == jid
        }
        return from == to || (from == nil && to == JID(domain: configuration.domain))
    }

    /// An empty `result` answering `request`.
    public static func result(to request: XMLElement, children: [XMLElement] = []) -> XMLElement {
        var attributes: [(name: String, value: String)] = [("type", "result"), ("id", request["id"] ?? "")]
        if let from = request["from"] { attributes.insert(("to", from), at: 0) }
        return XMLElement(name: "iq", namespace: Namespace.client, attributes: attributes, children: children.map(XMLElement.Node.element))
    }

    /// An IQ error answering `request` (RFC 6120 §8.3).
    public static func error(to request: XMLElement, type: String, condition: String, text: String? = nil) -> XMLElement {
        var attributes: [(name: String, value: String)] = [("type", "error"), ("id", request["id"] ?? "")]
        if let from = request["from"] { attributes.insert(("to", from), at: 0) }
        var error = XMLElement("error", namespace: Namespace.client, attributes: ["type": type],
                               children: [XMLElement(condition, namespace: Namespace.stanzas)])
        if let text { error.append(XMLElement("text", namespace: Namespace.stanzas, text: text)) }
        return XMLElement(name: "iq", namespace: Namespace.client, attributes: attributes, children: [.element(error)])
    }

    /// What to answer an IQ request no layer understood (§8.4).
    public static func answerUnhandled(_ request: XMLElement) -> XMLElement {
        error(to: request, type: "cancel", condition: "service-unavailable")
    }
}
