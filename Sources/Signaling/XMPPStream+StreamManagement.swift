import XML

/// XEP-0198 stream management, the part a client needs: acks both ways and resumption.
///
/// Why: school networks drop a WebSocket now and then. Without resumption every drop is a
/// full rejoin — the others see the class leave and come back, and the call restarts.
/// Prosody (mod_smacks, in 0.12's core; Jitsi enables it) keeps a session whose connection
/// broke "hibernating" for `max` seconds; a client that comes back with `<resume/>` in time
/// carries on as if nothing happened, and the stanzas either side had not seen acknowledged
/// are sent again. lib-jitsi-meet does the same (`enableWebsocketResume`, default on).
///
/// Counting (XEP-0198 §4, school-networks.md §3.1): the box counts what it sends from its
/// `<enable/>` on and what it handles from the server's `<enabled/>` on; only stanzas
/// (`iq`, `message`, `presence` of jabber:client) count. An `h` above what the other side
/// sent is a protocol error on both sides (Prosody closes the stream for it).
struct StreamManagement {
    /// Given by `<enabled resume='true' id=…/>`; nil when the server will not resume.
    var resumptionID: String?
    /// The server's `max`: how long it keeps a broken session (seconds), if it said.
    var maxSeconds: UInt64?
    /// `<enabled/>` came: from now on what the server sends is counted.
    var enabled = false
    /// Stanzas handled since `<enabled/>` (the `h` the box reports).
    var handled: UInt32 = 0
    /// The server's last `h`: how many of the box's stanzas it has handled.
    var acknowledged: UInt32 = 0
    /// Sent (or held), not yet acknowledged, oldest first.
    var unacknowledged: [XMLElement] = []
    /// Stanzas sent since the box last asked for an ack.
    var sinceRequest = 0

    /// lib-jitsi-meet asks for an ack every 5 stanzas (`requestResponseInterval`).
    static let requestInterval = 5
    /// How many unacknowledged stanzas the box keeps; a server that never acks is broken.
    static let maxUnacknowledged = 500

    static func isStanza(_ element: XMLElement) -> Bool {
        element.namespace == Namespace.client && (element.name == "iq" || element.name == "message" || element.name == "presence")
    }
}

extension XMPPStream {
    /// How long the box tries to resume after a loss: the server's `max`, less a second for
    /// the way there, at most a minute (docker-jitsi-meet's 60 s; Debian's Prosody says 600 s,
    /// and a box that is away that long is better off joining anew).
    var resumeWindow: UInt64 {
        let seconds = management?.maxSeconds.map { $0 > 1 ? $0 - 1 : 1 } ?? 60
        return min(seconds, 60) * 1_000_000_000
    }

    /// Stanzas the box has sent and the server has not acknowledged yet (for the status).
    public var unacknowledgedStanzas: Int { management?.unacknowledged.count ?? 0 }

    /// Asks for management after binding, when the server offers it (never before binding:
    /// Prosody answers `unexpected-request` then).
    mutating func enableManagement(offered: Bool) -> [Output] {
        guard offered, management == nil else { return [] }
        management = StreamManagement()
        return [.send(XMLElement("enable", namespace: Namespace.streamManagement, attributes: ["resume": "true"]))]
    }

    /// Counts the stanzas among `outputs` that go out, and asks for an ack every few.
    mutating func counted(_ outputs: [Output]) -> [Output] {
        guard management != nil else { return outputs }
        var result: [Output] = []
        for output in outputs {
            result.append(output)
            guard case .send(let element) = output, StreamManagement.isStanza(element) else { continue }
            management!.unacknowledged.append(element)
            management!.sinceRequest += 1
            if management!.sinceRequest >= StreamManagement.requestInterval {
                management!.sinceRequest = 0
                result.append(.send(XMLElement("r", namespace: Namespace.streamManagement)))
            }
        }
        if management!.unacknowledged.count > StreamManagement.maxUnacknowledged {
            return result + fail("the XMPP server acknowledged none of the last \(StreamManagement.maxUnacknowledged) stanzas")
        }
        return result
    }

    /// A stanza sent while the connection is down: kept, counted, sent on resumption.
    mutating func hold(_ stanza: XMLElement) {
        guard management != nil else { return }
        management!.unacknowledged.append(stanza)
    }

    /// An inbound stanza was handled (whatever became of it).
    mutating func countHandled(_ element: XMLElement) {
        guard management?.enabled == true, StreamManagement.isStanza(element) else { return }
        management!.handled &+= 1
    }

    /// The server's `h`: drop what it has handled. False when it claims more than was sent.
    mutating func acknowledge(_ h: UInt32) -> Bool {
        guard management != nil else { return true }
        let newly = h &- management!.acknowledged
        guard Int(newly) <= management!.unacknowledged.count else { return false }
        management!.unacknowledged.removeFirst(Int(newly))
        management!.acknowledged = h
        return true
    }

    /// Elements of urn:xmpp:sm:3.
    mutating func managementElement(_ element: XMLElement, now: UInt64) -> [Output] {
        switch element.name {
        case "r":
            guard let management, management.enabled else { return [] }
            return [.send(XMLElement("a", namespace: Namespace.streamManagement, attributes: ["h": String(management.handled)]))]
        case "a":
            guard let h = element["h"].flatMap(UInt32.init) else { return protocolError("an ack without a valid h") }
            return acknowledge(h) ? [] : protocolError("the server acknowledged more stanzas than the box sent")
        case "enabled" where state == .ready || state == .closing:
            management?.enabled = true
            let resumable = element["resume"] == "true" || element["resume"] == "1"
            management?.resumptionID = resumable ? element["id"].flatMap { $0.isEmpty ? nil : $0 } : nil
            management?.maxSeconds = element["max"].flatMap(UInt64.init)
            return []
        case "failed" where state == .resuming:
            let condition = element.elements.first { $0.namespace == Namespace.stanzas }?.name ?? "undefined-condition"
            return fail("the XMPP server could not resume the session (\(condition))")
        case "failed" where state == .ready:
            management = nil  // enabling was refused: a stream without acks, as before
            return []
        case "resumed" where state == .resuming:
            guard element["previd"] == management?.resumptionID, let h = element["h"].flatMap(UInt32.init) else {
                return protocolError("a resumption answer for another session")
            }
            guard acknowledge(h) else { return protocolError("the server acknowledged more stanzas than the box sent") }
            return resumed(now: now)
        default:
            dropped += 1
            return []
        }
    }

    /// Back on the new connection: the stanzas the server has not seen go again, in order;
    /// the IQ deadlines and the ping start over.
    mutating func resumed(now: UInt64) -> [Output] {
        state = .ready
        resuming = false
        nextPing = now + configuration.pingInterval
        // A ping that was unanswered goes again with the held stanzas; its answer is awaited anew.
        if pendingPing != nil { pingSentAt = now }
        let later = now + configuration.iqTimeout
        pending = pending.mapValues { request in
            var request = request
            request.deadline = max(request.deadline, later)
            return request
        }
        management?.sinceRequest = 0
        var outputs: [Output] = [.resumed]
        let again = management?.unacknowledged ?? []
        outputs += again.map { .send($0) }
        if !again.isEmpty { outputs.append(.send(XMLElement("r", namespace: Namespace.streamManagement))) }
        return outputs
    }

    /// `<resume/>` with the id and what the box has handled (XEP-0198 §5).
    mutating func sendResume() -> [Output] {
        guard let management, let id = management.resumptionID else { return fail("nothing to resume") }
        state = .resuming
        return [.send(XMLElement("resume", namespace: Namespace.streamManagement, attributes: ["previd": id, "h": String(management.handled)]))]
    }
}
