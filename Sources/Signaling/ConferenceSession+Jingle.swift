import ICE
import Session
import XML

extension ConferenceSession {
    /// An inbound stanza the stream passed up.
    mutating func handle(_ stanza: XMLElement, now: UInt64) -> [Output] {
        switch stanza.name {
        case "presence": return presence(stanza, now: now)
        case "iq": return iqRequest(stanza, now: now)
        default: return []  // chat and other messages are neither shown nor kept
        }
    }

    mutating func iqRequest(_ iq: XMLElement, now: UInt64) -> [Output] {
        let from = iq["from"].flatMap(JID.init)
        if iq["type"] == "get", iq.element("query", namespace: Namespace.discoInfo) != nil {
            return wrap(stream.send(configuration.capabilities.discoResult(to: iq)), now: now)
        }
        if iq.element("jingle", namespace: Namespace.jingle) != nil {
            if from == focusOccupant { return jingleFromFocus(iq, now: now) }
            if let from, from.bare == configuration.room { return declinePeerToPeer(iq, from: from, now: now) }
        }
        if from == focusOccupant, iq["type"] == "set" {
            for (namespace, video) in [(Namespace.jitsiMuteAudio, false), (Namespace.jitsiMuteVideo, true)] {
                if let mute = iq.element("mute", namespace: namespace) {
                    var outputs = wrap(stream.send(XMPPStream.result(to: iq)), now: now)
                    if mute.text == "true" { outputs.append(.muteRequested(video: video)) }  // only a person at the box unmutes
                    return outputs
                }
            }
        }
        rejectedStanzas += 1
        return wrap(stream.send(XMPPStream.answerUnhandled(iq)), now: now)
    }

    /// Jingle from Jicofo: acknowledge first (jitsi-protocol.md §6), then act.
    mutating func jingleFromFocus(_ iq: XMLElement, now: UInt64) -> [Output] {
        let action: JingleAction
        do {
            action = try JingleReader.read(iq)
        } catch {
            rejectedStanzas += 1
            return wrap(stream.send(XMPPStream.error(to: iq, type: "modify", condition: "bad-request", text: error.description)), now: now)
        }
        let sid = JingleHeader(iq)?.sid
        if case .sessionInitiate = action {} else if sid != currentOffer?.sid {
            // Not our current session: Jicofo tolerates the error (XEP-0166 unknown-session).
            rejectedStanzas += 1
            return wrap(stream.send(XMPPStream.error(to: iq, type: "cancel", condition: "item-not-found")), now: now)
        }
        var outputs = wrap(stream.send(XMPPStream.result(to: iq)), now: now)
        switch action {
        case .sessionInitiate(let offer):
            if currentOffer != nil { outputs.append(.sessionEnded(reason: "replaced by a new session")) }
            currentOffer = offer
            outputs.append(.status("the conference focus invited us (\(offer.participantSources.count) remote sources)"))
            outputs.append(.offer(offer))
        case .sourceAdd(let updates):
            outputs.append(.sourcesAdded(updates))
        case .sourceRemove(let updates):
            outputs.append(.sourcesRemoved(updates))
        case .transportInfo(let credentials, let candidates):
            outputs.append(.transportUpdate(credentials: credentials, candidates: candidates))
        case .sessionTerminate(let reason, let text):
            currentOffer = nil
            outputs.append(.sessionEnded(reason: reason + (text.map { " (\($0))" } ?? "")))
            outputs += askForExternalServices(now: now)
        case .other:
            break
        }
        return outputs
    }

    /// A browser's P2P offer (two in the room): the box only talks to the bridge, so
    /// acknowledge and decline (lib-jitsi-meet then stays on the bridge).
    mutating func declinePeerToPeer(_ iq: XMLElement, from: JID, now: UInt64) -> [Output] {
        guard let header = JingleHeader(iq) else { return wrap(stream.send(XMPPStream.answerUnhandled(iq)), now: now) }
        var outputs = wrap(stream.send(XMPPStream.result(to: iq)), now: now)
        if header.action == "session-initiate" {
            let terminate = JingleWriter.sessionTerminate(sid: header.sid, reason: "decline", text: "P2P disabled")
            outputs += request(JingleWriter.iq(terminate, to: from), .other, now: now)
        }
        return outputs
    }

    /// Answers Jicofo's offer with our side of the session (our SSRCs, ICE, fingerprint).
    public mutating func accept(offer: JingleOffer, local: MediaSession, now: UInt64) -> [Output] {
        guard currentOffer?.sid == offer.sid, let jid = stream.jid else { return [] }
        let accept = JingleWriter.sessionAccept(offer: offer, local: local, responder: jid)
        return request(JingleWriter.iq(accept, to: focusOccupant), .sessionAccept(sid: offer.sid), now: now)
    }

    /// ICE failed: end the session and ask Jicofo for a new one (jitsi-protocol.md §7.5).
    public mutating func requestRestart(now: UInt64) -> [Output] {
        guard let offer = currentOffer else { return [] }
        currentOffer = nil
        let terminate = JingleWriter.sessionTerminate(sid: offer.sid, reason: "connectivity-error", text: "ICE FAILED",
                                                      restartBridgeSession: offer.bridgeSessionID)
        return [.sessionEnded(reason: "ICE failed, restart requested")] + request(JingleWriter.iq(terminate, to: focusOccupant), .other, now: now)
            + askForExternalServices(now: now)
    }
}
