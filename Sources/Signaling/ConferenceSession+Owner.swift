import XML

extension ConferenceSession {
    /// Jicofo made us owner (`enable-auto-owner`): as organiser, lock the room with the
    /// password and set the start-muted policy (lib-jitsi-meet `ChatRoom.lockRoom`,
    /// `JitsiConference.setStartMutedPolicy`).
    mutating func becameOwner(now: UInt64) -> [Output] {
        guard configuration.organiser, !configuredRoom else { return [] }
        var outputs: [Output] = [.status("the box owns the room")]
        var form = XMLElement("x", namespace: Namespace.dataForms, attributes: ["type": "submit"])
        func field(_ name: String, _ value: String) {
            form.append(XMLElement("field", namespace: Namespace.dataForms, attributes: ["var": name],
                                   children: [XMLElement("value", namespace: Namespace.dataForms, text: value)]))
        }
        field("FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig")
        field("muc#roomconfig_roomsecret", configuration.password ?? "")
        field("muc#roomconfig_passwordprotectedroom", configuration.password == nil ? "0" : "1")
        field("muc#roomconfig_whois", "anyone")
        let iq = XMLElement("iq", namespace: Namespace.client, attributes: ["type": "set", "to": configuration.room.description],
                            children: [XMLElement("query", namespace: Namespace.mucOwner, children: [form])])
        outputs += request(iq, .ownerConfig, now: now)
        if configuration.startAudioMuted || configuration.startVideoMuted {
            outputs += wrap(stream.send(presenceElement()), now: now)  // now with <startmuted/>
            if let roomMetadataComponent {
                let json = "{\"key\":\"startMuted\",\"data\":{\"audio\":\(configuration.startAudioMuted),\"video\":\(configuration.startVideoMuted)},\"type\":\"room_metadata\"}"
                let message = XMLElement("message", namespace: Namespace.client, attributes: ["to": roomMetadataComponent.description], children: [
                    XMLElement("room_metadata", namespace: Namespace.jitsiMeet, attributes: ["room": configuration.room.description], text: json),
                ])
                outputs += wrap(stream.send(message), now: now)
            }
        }
        return outputs
    }

    /// Leaves the room. With `endForAll` (the organiser at the end of the lesson) the meeting
    /// ends for everyone first: Jitsi's end-conference component when the server has one,
    /// otherwise the owner destroys the room (XEP-0045 §10.9).
    public mutating func leave(endForAll: Bool, now: UInt64) -> [Output] {
        switch phase {
        case .leaving, .done: return []
        default: break
        }
        var outputs: [Output] = []
        if let offer = currentOffer {
            let terminate = JingleWriter.sessionTerminate(sid: offer.sid, reason: "success")
            outputs += wrap(stream.send(JingleWriter.iq(terminate, to: focusOccupant)), now: now)
            currentOffer = nil
            outputs.append(.sessionEnded(reason: "leaving"))
        }
        guard phase == .joined, let ourOccupant else {
            phase = .done
            return outputs + wrap(stream.close(), now: now)
        }
        phase = .leaving(deadline: now + 3_000_000_000)
        if endForAll && configuration.organiser && isOwner {
            if let endConferenceComponent {
                outputs.append(.status("ending the meeting for everyone"))
                let message = XMLElement("message", namespace: Namespace.client, attributes: ["to": endConferenceComponent.description],
                                         children: [XMLElement("end_conference", namespace: Namespace.jitsiMeet)])
                return outputs + wrap(stream.send(message), now: now)  // the room's destroy presence follows
            }
            outputs.append(.status("ending the meeting for everyone (destroying the room)"))
            let destroy = XMLElement("iq", namespace: Namespace.client, attributes: ["type": "set", "to": configuration.room.description], children: [
                XMLElement("query", namespace: Namespace.mucOwner, children: [
                    XMLElement("destroy", namespace: Namespace.mucOwner, children: [XMLElement("reason", namespace: Namespace.mucOwner, text: "The lesson has ended")]),
                ]),
            ])
            return outputs + request(destroy, .destroy, now: now, timeout: 3_000_000_000)
        }
        let unavailable = XMLElement("presence", namespace: Namespace.client, attributes: ["to": ourOccupant.description, "type": "unavailable"])
        return outputs + wrap(stream.send(unavailable), now: now)
    }

    /// The room acknowledged our leaving (or did not in time): close the stream.
    mutating func finishLeaving() -> [Output] {
        guard case .leaving = phase else { return [] }
        phase = .done
        return wrap(stream.close(), now: 0)
    }
}
