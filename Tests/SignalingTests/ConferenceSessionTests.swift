import ICE
import Session
import Testing
import XML
@testable import Signaling

/// The conference layer against scripted server, focus and room stanzas, on a manual clock.
struct ConferenceSessionTests {
    static let room = JID("klasse-4b@conference.meet.classbox.test")!
    static let boxJID = "3f2a9c1d-0b4e-4f6a-9d2c-7e8f90a1b2c3@meet.classbox.test/classbox"
    let second: UInt64 = 1_000_000_000

    func configuration(organiser: Bool = false, password: String? = "tafel-kreide") -> ConferenceConfiguration {
        ConferenceConfiguration(room: Self.room, focus: JID("focus.meet.classbox.test")!, label: "Klasse 4b", password: password,
                                organiser: organiser, startVideoMuted: organiser, machineUID: "m-1", statsID: "s-1")
    }

    func xml(_ text: String) -> XMLElement { try! XMLReader().parse(text) }

    func sent(_ outputs: [ConferenceSession.Output]) -> [XMLElement] {
        outputs.compactMap { if case .send(let element) = $0 { element } else { nil } }
    }

    /// Logs in and returns the session with the conference request just sent.
    func signedIn(_ configuration: ConferenceConfiguration, outputs: inout [ConferenceSession.Output]) -> ConferenceSession {
        var session = ConferenceSession(configuration: configuration, stream: .init(domain: "meet.classbox.test", login: .anonymous))
        _ = session.start(now: 0)
        for text in [
            "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>",
            "<features xmlns='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>ANONYMOUS</mechanism></mechanisms></features>",
            "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
            "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>",
            "<features xmlns='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></features>",
        ] { _ = session.receive(xml(text), now: 1) }
        let bindID = session.stream.counter == 0 ? "" : "\(session.stream.idPrefix)-1"
        outputs = session.receive(xml("""
            <iq xmlns='jabber:client' type='result' id='\(bindID)'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>\(Self.boxJID)</jid></bind></iq>
            """), now: 2)
        return session
    }

    func id(of element: XMLElement?) -> String { element?["id"] ?? "" }

    /// Through the conference request and the join, up to the self-presence.
    func joined(_ configuration: ConferenceConfiguration, owner: Bool = false) -> (ConferenceSession, [ConferenceSession.Output]) {
        var outputs: [ConferenceSession.Output] = []
        var session = signedIn(configuration, outputs: &outputs)
        let conference = sent(outputs).first { $0.element("conference") != nil }
        _ = session.receive(xml("""
            <iq xmlns='jabber:client' type='result' id='\(id(of: conference))' from='focus.meet.classbox.test'>\
            <conference xmlns='http://jitsi.org/protocol/focus' ready='true' room='\(Self.room)' focusjid='focus@auth.meet.classbox.test'/></iq>
            """), now: 3)
        let selfPresence = xml("""
            <presence xmlns='jabber:client' from='\(Self.room)/3f2a9c1d' to='\(Self.boxJID)'>\
            <x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='\(owner ? "owner" : "none")' role='\(owner ? "moderator" : "participant")'/>\
            <status code='110'/><status code='100'/></x></presence>
            """)
        let outputs2 = session.receive(selfPresence, now: 4)
        return (session, outputs2)
    }

    @Test func theConferenceRequestAndTheJoinCarryWhatJitsiReads() throws {
        var outputs: [ConferenceSession.Output] = []
        var session = signedIn(configuration(organiser: true), outputs: &outputs)
        #expect(session.endpoint == "3f2a9c1d", "the nick is the first 8 characters of the bound local part")
        let requests = sent(outputs)
        #expect(requests.first?.element("query", namespace: Namespace.discoInfo) != nil, "domain disco, to find Jitsi's components")
        let conferenceIQ = try #require(requests.first { $0.element("conference") != nil })
        #expect(conferenceIQ["to"] == "focus.meet.classbox.test" && conferenceIQ["type"] == "set")
        let conference = try #require(conferenceIQ.element("conference", namespace: Namespace.jitsiFocus))
        #expect(conference["room"] == "klasse-4b@conference.meet.classbox.test" && conference["machine-uid"] == "m-1")
        let properties = Dictionary(uniqueKeysWithValues: conference.elements("property").map { ($0["name"]!, $0["value"]!) })
        #expect(properties == ["rtcstatsEnabled": "false", "startVideoMuted": "0"])

        let answer = session.receive(xml("""
            <iq xmlns='jabber:client' type='result' id='\(id(of: conferenceIQ))' from='focus.meet.classbox.test'>\
            <conference xmlns='http://jitsi.org/protocol/focus' ready='true' room='klasse-4b@conference.meet.classbox.test'/></iq>
            """), now: 3)
        let presence = try #require(sent(answer).first)
        #expect(presence.name == "presence" && presence["to"] == "klasse-4b@conference.meet.classbox.test/3f2a9c1d")
        #expect(presence.element("x", namespace: Namespace.muc)?.element("password")?.text == "tafel-kreide")
        #expect(presence.element("nick", namespace: Namespace.nick)?.text == "Klasse 4b")
        #expect(presence.element("jitsi_participant_codecList")?.text == "vp8")
        #expect(presence.element("SourceInfo")?.text == #"{"3f2a9c1d-a0":{"muted":false},"3f2a9c1d-v0":{"muted":true,"videoType":"camera"}}"#,
                "the camera is private at join: its source says muted")
        #expect(presence.element("videomuted")?.text == "true" && presence.element("audiomuted")?.text == "false")
        let caps = try #require(presence.element("c", namespace: Namespace.caps))
        #expect(caps["ver"] == Capabilities.classbox.ver && caps["hash"] == "sha-1")
    }

    @Test func joiningAsOrganiserLocksTheRoomOnceOwner() throws {
        let (_, outputs) = joined(configuration(organiser: true), owner: true)
        #expect(outputs.contains(.joined(endpoint: "3f2a9c1d")))
        let form = try #require(sent(outputs).first { $0.element("query", namespace: Namespace.mucOwner) != nil })
        #expect(form["to"] == Self.room.description && form["type"] == "set")
        let fields = form.element("query")!.element("x", namespace: Namespace.dataForms)!.elements("field")
        let values = Dictionary(uniqueKeysWithValues: fields.map { ($0["var"]!, $0.element("value")!.text) })
        #expect(values == ["FORM_TYPE": "http://jabber.org/protocol/muc#roomconfig", "muc#roomconfig_roomsecret": "tafel-kreide",
                           "muc#roomconfig_passwordprotectedroom": "1", "muc#roomconfig_whois": "anyone"])
        let startMuted = sent(outputs).first { $0.name == "presence" }?.element("startmuted", namespace: Namespace.jitsiStartMuted)
        #expect(startMuted?["video"] == "true" && startMuted?["audio"] == "false")

        let (_, guest) = joined(configuration(organiser: false), owner: true)
        #expect(!sent(guest).contains { $0.element("query", namespace: Namespace.mucOwner) != nil }, "only an organiser configures the room")
    }

    @Test func joinRefusalsAreNamedAndRetriedLater() {
        let cases: [(String, JoinFailure.Kind)] = [
            ("<error type='auth'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>", .wrongPassword),
            ("<error type='auth'><registration-required xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                + "<lobbyroom xmlns='http://jitsi.org/jitmeet'>klasse-4b@lobby.meet.classbox.test</lobbyroom></error>", .lobby),
            ("<error type='auth'><registration-required xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>", .membersOnly),
            ("<error type='wait'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>", .roomFull),
        ]
        for (error, kind) in cases {
            var outputs: [ConferenceSession.Output] = []
            var session = signedIn(configuration(), outputs: &outputs)
            let conference = sent(outputs).first { $0.element("conference") != nil }
            _ = session.receive(xml("<iq xmlns='jabber:client' type='result' id='\(id(of: conference))' from='focus.meet.classbox.test'>"
                                    + "<conference xmlns='http://jitsi.org/protocol/focus' ready='true'/></iq>"), now: 3)
            let refusal = session.receive(xml("<presence xmlns='jabber:client' type='error' from='\(Self.room)/3f2a9c1d'>\(error)</presence>"), now: 4)
            guard case .failed(let failure)? = refusal.last else { Issue.record("no failure for \(kind)"); continue }
            #expect(failure.kind == kind)
            #expect(failure.retryAfter >= 30 * second, "never a tight loop")
            let later = sent(session.tick(now: 100 * second))
            #expect(!later.contains { $0.name == "presence" || $0.element("conference") != nil }, "never a tight loop: the box's supervisor retries")
        }
    }

    @Test func aSilentFocusIsAskedAgainWithGrowingPauses() {
        var outputs: [ConferenceSession.Output] = []
        var session = signedIn(configuration(), outputs: &outputs)
        var asked: [UInt64] = []
        var now: UInt64 = 2
        while now < 120 * second {
            now += second / 2
            for element in sent(session.tick(now: now)) where element.element("conference") != nil { asked.append(now / second) }
            // keep pings answered so only the focus is silent
            if let ping = session.stream.pendingPing {
                _ = session.receive(xml("<iq xmlns='jabber:client' type='result' id='\(ping)' from='meet.classbox.test'/>"), now: now)
            }
        }
        let gaps = zip(asked.dropFirst(), asked).map { $0 - $1 }
        #expect(asked.count >= 3, "asked again: \(asked)")
        #expect(gaps == gaps.sorted() && gaps.allSatisfy { $0 >= 15 && $0 <= 60 }, "15 s IQ timeout plus a pause growing to 30 s: \(gaps)")
    }

    @Test func jicofosDiscoIsAnsweredWithOurFeaturesAndNode() throws {
        var (session, _) = joined(configuration())
        let disco = xml("""
            <iq xmlns='jabber:client' type='get' id='d1' from='\(Self.room)/focus'>\
            <query xmlns='http://jabber.org/protocol/disco#info' node='https://classbox.invalid/firmware#\(Capabilities.classbox.ver)'/></iq>
            """)
        let answer = try #require(sent(session.receive(disco, now: 5)).first)
        #expect(answer["type"] == "result" && answer["to"] == "\(Self.room)/focus" && answer["id"] == "d1")
        let query = try #require(answer.element("query", namespace: Namespace.discoInfo))
        #expect(query["node"] == "https://classbox.invalid/firmware#\(Capabilities.classbox.ver)")
        let features = Set(query.elements("feature").compactMap { $0["var"] })
        #expect(features.isSuperset(of: [Namespace.jingleAudio, Namespace.jingleVideo, "urn:ietf:rfc:4588", Namespace.jingleDTLS]))
        // The bridge channel: Jicofo offers the data content for dtls-sctp, and keeps it only
        // in an offer with JSON-encoded sources.
        #expect(features.isSuperset(of: [Namespace.jingleSCTP, "http://jitsi.org/json-encoded-sources"]))
        // transport-cc: the box sends the feedback the bridge's estimator for its downlink needs.
        #expect(features.contains("http://jitsi.org/tcc"))
        #expect(features.isDisjoint(with: ["http://jitsi.org/remb", "http://jitsi.org/ssrc-rewriting-1"]),
                "nothing the box does not implement")
    }

    @Test func requestsNobodyHandlesAreRefusedAndPeerToPeerDeclined() throws {
        var (session, _) = joined(configuration())
        let unknown = sent(session.receive(xml("<iq xmlns='jabber:client' type='set' id='u1' from='\(Self.room)/focus'><x xmlns='urn:example'/></iq>"), now: 5))
        #expect(unknown.first?["type"] == "error" && unknown.first?.element("error")?.element("service-unavailable") != nil)
        let p2p = sent(session.receive(xml("""
            <iq xmlns='jabber:client' type='set' id='p1' from='\(Self.room)/a1b2c3d4'>\
            <jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='p2p1' initiator='\(Self.room)/a1b2c3d4'/></iq>
            """), now: 6))
        #expect(p2p.first?["type"] == "result", "acknowledged")
        let decline = try #require(p2p.dropFirst().first?.element("jingle"))
        #expect(decline["action"] == "session-terminate" && decline["sid"] == "p2p1")
        #expect(decline.element("reason")?.element("decline") != nil && decline.element("reason")?.element("text")?.text == "P2P disabled")
    }

    @Test func organiserEndsTheMeetingThroughTheComponentOrByDestroying() throws {
        var (session, _) = joined(configuration(organiser: true), owner: true)
        let leaving = sent(session.leave(endForAll: true, now: 10 * second))
        let destroy = try #require(leaving.first?.element("query", namespace: Namespace.mucOwner)?.element("destroy"))
        #expect(destroy.element("reason")?.text == "The lesson has ended")
        let closing = session.receive(xml("<iq xmlns='jabber:client' type='result' id='\(leaving.first!["id"]!)' from='\(Self.room)'/>"), now: 11 * second)
        #expect(sent(closing).first?.name == "close", "the stream closes after the room is gone")

        var outputs: [ConferenceSession.Output] = []
        var other = signedIn(configuration(organiser: true), outputs: &outputs)
        let disco = sent(outputs).first { $0.element("query") != nil }
        _ = other.receive(xml("""
            <iq xmlns='jabber:client' type='result' id='\(id(of: disco))' from='meet.classbox.test'><query xmlns='http://jabber.org/protocol/disco#info'>\
            <identity category='component' type='end_conference' name='endconference.meet.classbox.test'/></query></iq>
            """), now: 3)
        let conference = sent(outputs).first { $0.element("conference") != nil }
        _ = other.receive(xml("<iq xmlns='jabber:client' type='result' id='\(id(of: conference))' from='focus.meet.classbox.test'>"
                              + "<conference xmlns='http://jitsi.org/protocol/focus' ready='true'/></iq>"), now: 3)
        _ = other.receive(xml("<presence xmlns='jabber:client' from='\(Self.room)/3f2a9c1d'><x xmlns='http://jabber.org/protocol/muc#user'>"
                              + "<item affiliation='owner' role='moderator'/><status code='110'/></x></presence>"), now: 4)
        let end = sent(other.leave(endForAll: true, now: 10 * second))
        #expect(end.first?.name == "message" && end.first?["to"] == "endconference.meet.classbox.test")
        #expect(end.first?.element("end_conference", namespace: Namespace.jitsiMeet) != nil)
        let gone = other.receive(xml("""
            <presence xmlns='jabber:client' type='unavailable' from='\(Self.room)/3f2a9c1d'><x xmlns='http://jabber.org/protocol/muc#user'>\
            <item affiliation='none' role='none'/><destroy><reason>The meeting has been terminated</reason></destroy><status code='110'/></x></presence>
            """), now: 11 * second)
        #expect(sent(gone).first?.name == "close")
    }

    @Test func displayNamesAreCleanedForTheScreen() {
        #expect(Participant.displayName(from: "  Frau\n\tBeispiel  ") == "Frau Beispiel")
        #expect(Participant.displayName(from: "Herr\u{202E}Muster\u{0007}") == "HerrMuster")
        #expect(Participant.displayName(from: " \u{200B}\n ") == nil)
        #expect(Participant.displayName(from: nil) == nil)
        #expect(Participant.displayName(from: String(repeating: "ä", count: 80))?.unicodeScalars.count == Participant.maxDisplayNameLength)
        #expect(Participant.displayName(from: "Lehrerin 4b 👩‍🏫") == "Lehrerin 4b 👩‍🏫")
    }

    @Test func aDestroyedRoomOrAKickIsReportedAndOthersWithTheirDisplayNames() throws {
        var (session, _) = joined(configuration())
        let others = session.receive(xml("""
            <presence xmlns='jabber:client' from='\(Self.room)/a1b2c3d4'><nick xmlns='http://jabber.org/protocol/nick'>Frau Beispiel</nick>\
            <SourceInfo>{"a1b2c3d4-a0":{"muted":false},"a1b2c3d4-v0":{"muted":true}}</SourceInfo></presence>
            """), now: 5)
        #expect(others == [.participants([Participant(endpoint: "a1b2c3d4", audioMuted: false, videoMuted: true, displayName: "Frau Beispiel")])])
        let destroyed = session.receive(xml("""
            <presence xmlns='jabber:client' type='unavailable' from='\(Self.room)/3f2a9c1d'><x xmlns='http://jabber.org/protocol/muc#user'>\
            <destroy><reason>The meeting has been terminated</reason></destroy><status code='110'/></x></presence>
            """), now: 6)
        guard case .failed(let failure)? = destroyed.last else { Issue.record("\(destroyed)"); return }
        #expect(failure.kind == .roomDestroyed && failure.description == "the meeting was ended: The meeting has been terminated")
    }

    @Test func forceMuteIsObeyedButNeverUnmutes() {
        var (session, _) = joined(configuration())
        let mute = session.receive(xml("<iq xmlns='jabber:client' type='set' id='m1' from='\(Self.room)/focus'><mute xmlns='http://jitsi.org/jitmeet/audio'>true</mute></iq>"), now: 5)
        #expect(mute.contains(.muteRequested(video: false)) && sent(mute).first?["type"] == "result")
        let unmute = session.receive(xml("<iq xmlns='jabber:client' type='set' id='m2' from='\(Self.room)/focus'><mute xmlns='http://jitsi.org/jitmeet/video'>false</mute></iq>"), now: 6)
        #expect(!unmute.contains { if case .muteRequested = $0 { true } else { false } })
    }

    @Test func afterAnICEFailureJicofoIsAskedForANewSession() throws {
        var (session, _) = joined(configuration())
        let initiate = xml("""
            <iq xmlns='jabber:client' type='set' id='i1' from='\(Self.room)/focus'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s1'>\
            <content creator='initiator' name='audio'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>\
            <payload-type id='111' name='opus' clockrate='48000' channels='2'/></description>\
            <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'>\
            <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>AB:CD</fingerprint></transport></content>\
            <bridge-session xmlns='http://jitsi.org/protocol/focus' id='b-17' region='eu'/></jingle></iq>
            """)
        #expect(session.receive(initiate, now: 5).contains { if case .offer = $0 { true } else { false } })
        let restart = session.requestRestart(now: 6)
        #expect(restart.first == .sessionEnded(reason: "ICE failed, restart requested"))
        let terminate = try #require(sent(restart).first?.element("jingle", namespace: Namespace.jingle))
        #expect(sent(restart).first?["to"] == "\(Self.room)/focus")
        #expect(terminate["action"] == "session-terminate" && terminate["sid"] == "s1")
        #expect(terminate.element("reason")?.element("connectivity-error") != nil && terminate.element("reason")?.element("text")?.text == "ICE FAILED")
        let bridge = try #require(terminate.element("bridge-session", namespace: Namespace.jitsiFocus))
        #expect(bridge["id"] == "b-17" && bridge["restart"] == "true")
        #expect(session.requestRestart(now: 7).isEmpty, "one request per session")
    }

    @Test func mutedStateChangesAreAnnouncedInPresence() throws {
        var (session, _) = joined(configuration())
        let live = try #require(sent(session.setMuted(audio: false, video: false)).first)
        #expect(live.element("SourceInfo")?.text == #"{"3f2a9c1d-a0":{"muted":false},"3f2a9c1d-v0":{"muted":false,"videoType":"camera"}}"#)
        #expect(live.element("x", namespace: Namespace.muc) == nil, "only the first presence is a join")
        #expect(session.setMuted(audio: false, video: false).isEmpty, "no presence when nothing changed")
    }
}
