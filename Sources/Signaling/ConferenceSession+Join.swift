import JSON
import XML

extension ConferenceSession {
    /// The conference request (jitsi-protocol.md §3, lib-jitsi-meet `moderator.js`): Jicofo
    /// creates the room; rooms are `restrict_room_creation`, so it must come first.
    mutating func requestConference(now: UInt64, attempt: Int) -> [Output] {
        phase = .requestingFocus(attempt: attempt)
        var conference = XMLElement("conference", namespace: Namespace.jitsiFocus, attributes: [
            "machine-uid": configuration.machineUID, "room": configuration.room.description,
        ])
        var properties: [(String, String)] = [("rtcstatsEnabled", "false")]
        if configuration.organiser {
            // Integers: participants after the N-th start muted (jicofo `JitsiMeetConfig`); 0 means everyone.
            if configuration.startAudioMuted { properties.append(("startAudioMuted", "0")) }
            if configuration.startVideoMuted { properties.append(("startVideoMuted", "0")) }
        }
        for (name, value) in properties {
            conference.append(XMLElement("property", namespace: Namespace.jitsiFocus, attributes: ["name": name, "value": value]))
        }
        let iq = XMLElement("iq", namespace: Namespace.client, attributes: ["type": "set", "to": configuration.focus.description],
                            children: [conference])
        return [.status("asking the conference focus for room \(configuration.room.local ?? "")")] + request(iq, .conference, now: now)
    }

    mutating func response(_ purpose: Purpose, _ stanza: XMLElement?, now: UInt64) -> [Output] {
        switch purpose {
        case .domainDisco:
            readComponents(stanza)
            return []
        case .externalServices:
            // A failed question keeps what the last answer said.
            guard stanza?["type"] == "result" else {
                return [.status("the conference server did not name its TURN servers (XEP-0215: \(stanza.flatMap(Self.errorCondition) ?? "no answer"))")]
            }
            externalServices = ExternalService.services(in: stanza)
            let said = externalServices.filter { $0.type.hasPrefix("turn") }.map(\.description)
            return [.status(said.isEmpty ? "the conference server names no TURN server (XEP-0215)"
                                         : "TURN servers from the conference server: \(said.joined(separator: ", "))")]
        case .conference:
            return conferenceAnswer(stanza, now: now)
        case .sessionAccept(let sid):
            guard stanza?["type"] == "error", currentOffer?.sid == sid else { return [] }
            // jicofo refuses an answer it cannot use (e.g. an SSRC someone else has): the session is dead.
            let condition = stanza.flatMap(Self.errorCondition) ?? "error"
            currentOffer = nil
            return [.status("the conference focus refused our session-accept (\(condition))"), .sessionEnded(reason: "session-accept refused: \(condition)")]
        case .ownerConfig:
            if stanza?["type"] == "result" {
                configuredRoom = true
                return [.status(configuration.password == nil ? "room configured" : "room password set")]
            }
            return [.status("the room refused our configuration (\(stanza.flatMap(Self.errorCondition) ?? "no answer"))")]
        case .destroy:
            return finishLeaving()
        case .other:
            return []
        }
    }

    /// Components the domain names in its disco identities (lib-jitsi-meet `xmpp.ts
    /// _processDiscoInfoIdentities`): the end-conference and room-metadata services.
    mutating func readComponents(_ stanza: XMLElement?) {
        guard let query = stanza?.element("query", namespace: Namespace.discoInfo) else { return }
        for identity in query.elements("identity") where identity["category"] == "component" {
            switch identity["type"] {
            case "end_conference": endConferenceComponent = identity["name"].flatMap(JID.init)
            case "room_metadata": roomMetadataComponent = identity["name"].flatMap(JID.init)
            default: break
            }
        }
    }

    mutating func conferenceAnswer(_ stanza: XMLElement?, now: UInt64) -> [Output] {
        guard case .requestingFocus(let attempt) = phase else { return [] }
        let delay = min(configuration.focusRetry << UInt64(min(attempt, 5)), 30_000_000_000)
        guard let stanza else {
            phase = .waitingToAskFocus(until: now + delay, attempt: attempt + 1)
            return [.status("the conference focus does not answer; asking again in \(delay / 1_000_000_000) s")]
        }
        if stanza["type"] == "error" {
            let condition = Self.errorCondition(stanza) ?? "error"
            let text = stanza.element("error")?.element("text")?.text
            // jicofo `ConferenceIqHandler`: not-authorized when this domain may not create rooms.
            if condition == "not-authorized" {
                phase = .done
                return [.failed(JoinFailure(.notAllowed, "the district's server does not let this box open the room (\(condition)): "
                                            + "it needs a box account (server.login = \"account\")", retryAfter: 60_000_000_000))]
            }
            phase = .waitingToAskFocus(until: now + delay, attempt: attempt + 1)
            let detail = condition + (text.map { ": \($0)" } ?? "")
            return [.status("the conference focus cannot be reached (\(detail)); asking again in \(delay / 1_000_000_000) s")]
        }
        guard let conference = stanza.element("conference", namespace: Namespace.jitsiFocus), conference["ready"] == "true" else {
            phase = .waitingToAskFocus(until: now + delay, attempt: attempt + 1)
            return [.status("the conference is not ready yet; asking again in \(delay / 1_000_000_000) s")]
        }
        return join()
    }

    /// The MUC join (XEP-0045 §7.2) with the password and Jitsi's presence extensions.
    mutating func join() -> [Output] {
        guard let ourOccupant else { return [] }
        phase = .joining
        var presence = presenceElement()
        presence["to"] = ourOccupant.description
        var muc = XMLElement("x", namespace: Namespace.muc)
        if let password = configuration.password { muc.append(XMLElement("password", namespace: Namespace.muc, text: password)) }
        presence.children.insert(.element(muc), at: 0)
        sentJoinPresence = true
        return [.status("joining room \(configuration.room.local ?? "") as \"\(configuration.label)\"")] + wrap(stream.send(presence), now: 0)
    }

    /// Our presence (jitsi-protocol.md §4.2): the label as display name, caps for Jicofo,
    /// the codec we receive, and the true muted state of each source in SourceInfo.
    func presenceElement() -> XMLElement {
        let endpoint = endpoint ?? "classbox"
        let sourceInfo = "{\"\(endpoint)-a0\":{\"muted\":\(audioMuted)},\"\(endpoint)-v0\":{\"muted\":\(videoMuted),\"videoType\":\"camera\"}}"
        var presence = XMLElement("presence", namespace: Namespace.client, children: [
            configuration.capabilities.capsElement,
            XMLElement("nick", namespace: Namespace.nick, text: configuration.label),
            XMLElement("stats-id", namespace: Namespace.client, text: configuration.statsID),
            XMLElement("jitsi_participant_codecList", namespace: Namespace.client, text: "vp8"),
            XMLElement("SourceInfo", namespace: Namespace.client, text: sourceInfo),
            XMLElement("audiomuted", namespace: Namespace.client, text: "\(audioMuted)"),
            XMLElement("videomuted", namespace: Namespace.client, text: "\(videoMuted)"),
        ])
        if configuration.organiser && isOwner && (configuration.startAudioMuted || configuration.startVideoMuted) {
            presence.append(XMLElement("startmuted", namespace: Namespace.jitsiStartMuted, attributes: [
                "audio": "\(configuration.startAudioMuted)", "video": "\(configuration.startVideoMuted)",
            ]))
        }
        if let ourOccupant { presence["to"] = ourOccupant.description }
        return presence
    }

    /// Tells the room our muted state changed (the privacy switch, the mute button, a
    /// moderator's request). SourceInfo is what browsers read (jitsi-protocol.md §0 item 5).
    public mutating func setMuted(audio: Bool, video: Bool) -> [Output] {
        guard audio != audioMuted || video != videoMuted else { return [] }
        audioMuted = audio
        videoMuted = video
        guard phase == .joined || phase == .joining, sentJoinPresence else { return [] }
        return wrap(stream.send(presenceElement()), now: 0)
    }

    static func errorCondition(_ stanza: XMLElement) -> String? {
        stanza.element("error")?.elements.first { $0.namespace == Namespace.stanzas && $0.name != "text" }?.name
    }

    // MARK: Presence

    mutating func presence(_ stanza: XMLElement, now: UInt64) -> [Output] {
        guard let from = stanza["from"].flatMap(JID.init), from.bare == configuration.room, let nick = from.resource else { return [] }
        if stanza["type"] == "error" { return joinRefused(stanza, now: now) }
        let user = stanza.element("x", namespace: Namespace.mucUser)
        let codes = Set(user?.elements("status").compactMap { $0["code"] } ?? [])
        let item = user?.element("item")
        if stanza["type"] == "unavailable" {
            if nick == endpoint || codes.contains("110") { return removed(stanza, codes: codes, user: user) }
            participants[nick] = nil
            return [.participants(sortedParticipants)]
        }
        if codes.contains("110") || nick == endpoint {
            var outputs: [Output] = []
            if phase == .joining {
                phase = .joined
                outputs += [.joined(endpoint: nick), .status("in room \(configuration.room.local ?? "") as \"\(configuration.label)\"")]
            }
            let owner = item?["affiliation"] == "owner"
            if owner && !isOwner {
                isOwner = true
                outputs += becameOwner(now: now)
            }
            return outputs
        }
        guard nick != "focus" else { return [] }
        let sourceInfo = stanza.element("SourceInfo")?.text ?? ""
        participants[nick] = Participant(endpoint: nick, audioMuted: Self.muted(in: sourceInfo, suffix: "-a0") ?? (stanza.element("audiomuted")?.text != "false"),
                                         videoMuted: Self.muted(in: sourceInfo, suffix: "-v0") ?? (stanza.element("videomuted")?.text != "false"),
                                         displayName: Participant.displayName(from: stanza.element("nick", namespace: Namespace.nick)?.text))
        return [.participants(sortedParticipants)]
    }

    var sortedParticipants: [Participant] { participants.values.sorted { $0.endpoint < $1.endpoint } }

    /// The `muted` flag of the source whose name ends in `suffix`, from SourceInfo JSON
    /// (jicofo `SourceInfo.kt`); nil when absent or unreadable.
    static func muted(in sourceInfo: String, suffix: String) -> Bool? {
        guard let members = JSONValue(parsing: sourceInfo)?.members else { return nil }
        return members.first { $0.0.hasSuffix(suffix) }?.1["muted"]?.boolValue
    }

    /// A presence error on join (lib-jitsi-meet `ChatRoom.onPresenceError`).
    mutating func joinRefused(_ stanza: XMLElement, now: UInt64) -> [Output] {
        let condition = Self.errorCondition(stanza) ?? "undefined-condition"
        let error = stanza.element("error")
        let minute: UInt64 = 60_000_000_000
        sentJoinPresence = false
        switch condition {
        case "not-authorized":
            phase = .done
            return [.failed(JoinFailure(.wrongPassword, "the room password is wrong (the room refused us: not-authorized)", retryAfter: minute))]
        case "registration-required":
            phase = .done
            if error?.elements.contains(where: { $0.name == "lobbyroom" }) == true || stanza.element("lobbyroom") != nil {
                return [.failed(JoinFailure(.lobby, "the room has a lobby; the box cannot knock: ask the teacher to turn the lobby off", retryAfter: minute))]
            }
            return [.failed(JoinFailure(.membersOnly, "the room is members-only and the box is not a member", retryAfter: minute))]
        case "service-unavailable":
            phase = .done
            return [.failed(JoinFailure(.roomFull, "the room is full", retryAfter: minute / 2))]
        case "not-allowed", "item-not-found":
            // "Room creation is restricted" / room-does-not-exist: the focus has not made it (yet).
            phase = .waitingToAskFocus(until: now + configuration.focusRetry, attempt: 1)
            return [.status("the room does not exist yet; asking the focus again")]
        case "conflict":
            phase = .done
            return [.failed(JoinFailure(.other, "another participant uses our endpoint id", retryAfter: 5_000_000_000))]
        default:
            phase = .done
            let text = error?.element("text")?.text
            return [.failed(JoinFailure(.other, "the room refused us: \(condition)" + (text.map { " (\($0))" } ?? ""), retryAfter: minute / 2))]
        }
    }

    /// Our own unavailable presence: kicked, or the room is gone (the meeting was ended).
    mutating func removed(_ stanza: XMLElement, codes: Set<String>, user: XMLElement?) -> [Output] {
        if case .leaving = phase { return finishLeaving() }
        phase = .done
        currentOffer = nil
        if let destroy = user?.element("destroy") {
            let reason = destroy.element("reason")?.text ?? "the room was destroyed"
            return [.sessionEnded(reason: "room destroyed"), .failed(JoinFailure(.roomDestroyed, "the meeting was ended: \(reason)", retryAfter: 10_000_000_000))]
        }
        if codes.contains("307") {
            return [.sessionEnded(reason: "kicked"), .failed(JoinFailure(.kicked, "a moderator removed the box from the room", retryAfter: 60_000_000_000))]
        }
        return [.sessionEnded(reason: "left the room"), .failed(JoinFailure(.other, "the box is no longer in the room", retryAfter: 5_000_000_000))]
    }
}
