import Wire
import Foundation
import ICE
import Session
import Testing
import XML
@testable import Signaling

/// Our reader and writer on stanzas built from Jitsi's own sources and captures
/// (Fixtures/README.md names the origin of each). The expected facts in
/// Fixtures/expected.json were read off the XML independently of this code.
struct GoldenStanzaTests {
    static let fixtures: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    nonisolated(unsafe) static let expected: [String: Any] = {
        let data = try! Data(contentsOf: fixtures.appendingPathComponent("expected.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func stanza(_ name: String) throws -> XMLElement {
        try XMLReader().parse(Array(try Data(contentsOf: fixtures.appendingPathComponent(name))))
    }

    static func facts(_ name: String) -> [String: Any] { expected[name] as! [String: Any] }

    static let offers = ["session-initiate-jicofo.xml", "session-initiate-jicofo-no-data.xml", "session-initiate-sdp-spec.xml",
                         "session-initiate-json-sources.xml", "session-initiate-p2p.xml"]

    @Test(arguments: offers)
    func sessionInitiatesAreReadCompletely(name: String) throws {
        let facts = Self.facts(name)
        guard case .sessionInitiate(let offer) = try JingleReader.read(try Self.stanza(name)) else { Issue.record("not an offer"); return }
        let jingle = facts["jingle"] as! [String: Any]
        #expect(offer.sid == jingle["sid"] as? String && offer.initiator == jingle["initiator"] as? String)
        let contents = facts["contents"] as! [[String: Any]]
        #expect(offer.contentNames == contents.map { $0["name"] as! String })
        var allSources: [MediaSource] = []
        for content in contents {
            let media = content["media"] as? String
            guard media == "audio" || media == "video" else {
                #expect(offer.dataContent?.name == content["name"] as? String)
                continue
            }
            let description = try #require(offer.session.media.first { $0.mid == content["name"] as? String }, "content \(content["name"]!)")
            let types = content["payload_types"] as! [[String: Any]]
            #expect(description.codecs.map { Int($0.payloadType) } == types.map { $0["id"] as! Int })
            for (codec, type) in zip(description.codecs, types) {
                #expect(codec.name == type["name"] as? String && Int(codec.clockRate) == type["clockrate"] as? Int)
                #expect(codec.channels == type["channels"] as? Int)
                #expect(codec.parameters == type["parameters"] as? [String: String], "\(codec.name) parameters")
                #expect(Set(codec.feedback) == Set(type["rtcpfb"] as! [String]), "\(codec.name) rtcp-fb")
            }
            let extensions = (content["hdrext"] as! [String: String]).reduce(into: [Int: String]()) { $0[Int($1.key)!] = $1.value }
            #expect(description.extensions == extensions)
            let groups = (content["ssrc_groups"] as? [[String: Any]] ?? []).map { ($0["semantics"] as! String, ($0["ssrcs"] as! [Int]).map(UInt32.init)) }
            if facts["json_sources"] is NSNull || facts["json_sources"] == nil {
                let sources = content["sources"] as! [[String: Any]]
                #expect(description.sources.map(\.ssrc) == sources.map { UInt32($0["ssrc"] as! Int) })
                for (source, expected) in zip(description.sources, sources) {
                    #expect(source.name == expected["name"] as? String && source.owner == expected["owner"] as? String)
                    #expect(source.msid == expected["msid"] as? String && source.videoType == expected["videoType"] as? String)
                }
                #expect(description.sourceGroups.map(\.semantics) == groups.map(\.0) && description.sourceGroups.map(\.ssrcs) == groups.map(\.1))
            }
            allSources += description.sources
            let transport = content["transport"] as! [String: Any]
            #expect(offer.session.ice.ufrag == transport["ufrag"] as? String && offer.session.ice.password == transport["pwd"] as? String)
            let fingerprint = (transport["fingerprints"] as! [[String: Any]])[0]
            #expect(offer.session.fingerprint.hex == fingerprint["value"] as? String && offer.session.fingerprint.algorithm == fingerprint["hash"] as? String)
            #expect(offer.session.setup.rawValue == fingerprint["setup"] as? String)
            let candidates = (transport["candidates"] as! [[String: Any]]).filter { ($0["protocol"] as? String) == "udp" }
            #expect(offer.session.candidates.map(\.address.host) == candidates.map { $0["ip"] as! String })
            #expect(offer.session.candidates.map { Int($0.address.port) } == candidates.map { $0["port"] as! Int })
            #expect(offer.session.candidates.map(\.kind.rawValue) == candidates.map { $0["type"] as! String })
            #expect(offer.webSocketURLs == transport["web_sockets"] as? [String] ?? [])
        }
        if let json = facts["json_sources"] as? [String: Any] {
            let expected = json["sources"] as! [[String: Any]]
            #expect(Set(allSources.map(\.ssrc)) == Set(expected.map { UInt32($0["ssrc"] as! Int) }))
            for source in allSources {
                let match = try #require(expected.first { UInt32($0["ssrc"] as! Int) == source.ssrc })
                #expect(source.owner == match["owner"] as? String && source.msid == match["msid"] as? String)
            }
        }
        if let bridge = facts["bridge_session"] as? [String: Any] {
            #expect(offer.bridgeSessionID == bridge["id"] as? String && offer.bridgeRegion == bridge["region"] as? String)
        }
        if let muted = facts["startmuted"] as? [String: Bool] {
            #expect(offer.startAudioMuted == muted["audio"] && offer.startVideoMuted == muted["video"])
        }
    }

    @Test(arguments: ["source-add.xml", "source-remove.xml"])
    func sourceChangesAreRead(name: String) throws {
        let action = try JingleReader.read(try Self.stanza(name))
        let updates: [SourceUpdate]
        switch action {
        case .sourceAdd(let list) where name == "source-add.xml": updates = list
        case .sourceRemove(let list) where name == "source-remove.xml": updates = list
        default: Issue.record("wrong action \(action)"); return
        }
        let contents = Self.facts(name)["contents"] as! [[String: Any]]
        let expected = contents.flatMap { ($0["sources"] as! [[String: Any]]) }
        #expect(updates.flatMap(\.sources).map(\.ssrc) == expected.map { UInt32($0["ssrc"] as! Int) })
        #expect(updates.flatMap(\.sources).map(\.owner) == expected.map { $0["owner"] as? String })
        let groups = contents.flatMap { ($0["ssrc_groups"] as? [[String: Any]]) ?? [] }
        #expect(updates.flatMap(\.groups).map(\.ssrcs) == groups.map { ($0["ssrcs"] as! [Int]).map(UInt32.init) })
    }

    @Test func terminationsAndTransportInfoAreRead() throws {
        for name in ["session-terminate-moving.xml", "session-terminate-expired.xml"] {
            let reason = Self.facts(name)["reason"] as! [String: Any]
            #expect(try JingleReader.read(try Self.stanza(name)) == .sessionTerminate(reason: reason["condition"] as! String, text: reason["text"] as? String))
        }
        guard case .transportInfo(let credentials, let candidates) = try JingleReader.read(try Self.stanza("transport-info-ice-restart.xml")) else {
            Issue.record("not transport-info"); return
        }
        let transport = (Self.facts("transport-info-ice-restart.xml")["contents"] as! [[String: Any]])[0]["transport"] as! [String: Any]
        #expect(credentials?.ufrag == transport["ufrag"] as? String && credentials?.password == transport["pwd"] as? String)
        #expect(candidates.count == (transport["candidates"] as! [Any]).count)
    }

    /// The conference session on Jicofo's real stanzas: Jingle is acknowledged and offered
    /// up, presence errors are named, the browser's presence is read.
    @Test func theConferenceSessionUnderstandsJitsisStanzas() throws {
        let boxJID = JID(Self.facts("session-initiate-jicofo-no-data.xml")["to"] as! String)!
        var session = ConferenceSession(configuration: ConferenceConfiguration(
            room: JID("klasse-4b@conference.meet.classbox.test")!, focus: JID("focus.meet.classbox.test")!, label: "Klasse 4b",
            password: "x", organiser: false, machineUID: "m", statsID: "s"), stream: .init(domain: "meet.classbox.test", login: .anonymous))
        session.stream.state = .ready
        session.stream.jid = boxJID
        session.endpoint = "2be31ae8"
        session.phase = .joining
        let offer = session.receive(try Self.stanza("session-initiate-jicofo-no-data.xml"), now: 1)
        #expect(offer.first == .send(XMPPStream.result(to: try Self.stanza("session-initiate-jicofo-no-data.xml"))), "acknowledged first")
        #expect(offer.contains { if case .offer = $0 { true } else { false } })
        let moved = session.receive(try Self.stanza("session-terminate-moving.xml"), now: 2)
        #expect(moved.contains(.sessionEnded(reason: "success (moving)")))

        let browser = session.receive(try Self.stanza("presence-browser-participant.xml"), now: 3)
        guard case .participants(let others)? = browser.last else { Issue.record("\(browser)"); return }
        #expect(others.count == 1 && others[0].endpoint.count == 8)

        for (name, kind) in [("presence-error-not-authorized.xml", JoinFailure.Kind.wrongPassword), ("presence-error-lobby.xml", .lobby)] {
            var joining = session
            joining.phase = .joining
            guard case .failed(let failure)? = joining.receive(try Self.stanza(name), now: 4).last else { Issue.record("\(name)"); continue }
            #expect(failure.kind == kind, "\(name)")
        }
        var joining = session
        joining.phase = .joining
        let restricted = joining.receive(try Self.stanza("presence-error-room-creation-restricted.xml"), now: 5)
        #expect(restricted.contains { if case .status(let text) = $0 { text.contains("does not exist yet") } else { false } }, "asks the focus again")

        var member = session
        member.phase = .joined
        guard case .failed(let failure)? = member.receive(try Self.stanza("presence-room-destroyed.xml"), now: 6).last else { Issue.record("destroy"); return }
        #expect(failure.kind == .roomDestroyed)
    }

    /// Our session-accept has the shape lib-jitsi-meet's has: every element we write (by
    /// namespace and name, on its path) occurs in the browser's, with the attributes Jicofo reads.
    @Test(arguments: ["session-initiate-jicofo-no-data.xml", "session-initiate-jicofo.xml"])
    func ourSessionAcceptIsShapedLikeABrowsers(offerFile: String) throws {
        guard case .sessionInitiate(let offer) = try JingleReader.read(try Self.stanza(offerFile)) else {
            Issue.record("\(offerFile) is not a session-initiate")
            return
        }
        let local = MediaSession(
            ice: ICECredentials(ufrag: "k3Jd", password: "Z0s9aaaaaaaaaaaaaaaaaaaa"), candidates: [.host(SocketAddressForTests.box)],
            fingerprint: CertificateFingerprint(algorithm: "sha-256", digest: Array(repeating: 0xAB, count: 32)), setup: .active,
            media: [
                MediaDescription(kind: .audio, mid: "audio", direction: .sendrecv,
                                 codecs: [Codec(payloadType: 111, name: "opus", clockRate: 48000, channels: 2, parameters: ["minptime": "10", "useinbandfec": "1"])],
                                 extensions: [1: ExtensionURI.audioLevel],
                                 sources: [MediaSource(ssrc: 11, msid: "ep-audio-0 t", name: "2be31ae8-a0")]),
                MediaDescription(kind: .video, mid: "video", direction: .sendrecv,
                                 codecs: [Codec(payloadType: 100, name: "VP8", clockRate: 90000, feedback: ["ccm fir", "nack", "nack pli"]),
                                          Codec(payloadType: 96, name: "rtx", clockRate: 90000, parameters: ["apt": "100"])],
                                 sources: [MediaSource(ssrc: 21, msid: "ep-video-0 t", name: "2be31ae8-v0", videoType: "camera"),
                                           MediaSource(ssrc: 22, msid: "ep-video-0 t", name: "2be31ae8-v0", videoType: "camera")],
                                 sourceGroups: [("FID", [21, 22])]),
            ])
        let ours = JingleWriter.sessionAccept(offer: offer, local: local, responder: JID("2be31ae8-910e@meet.classbox.test/x")!)
        let browsers = try #require(try Self.stanza("session-accept-lib-jitsi-meet.xml").element("jingle", namespace: Namespace.jingle))
        func paths(_ element: XMLElement, _ prefix: String = "") -> Set<String> {
            let here = prefix + "/{\(element.namespace)}\(element.name)"
            return element.elements.reduce(into: [here]) { $0.formUnion(paths($1, here)) }
        }
        // Browsers trickle their candidates in transport-info; we put ours in the accept (XEP-0176 allows both).
        let candidate = "/{urn:xmpp:jingle:1}jingle/{urn:xmpp:jingle:1}content/{urn:xmpp:jingle:transports:ice-udp:1}transport/{urn:xmpp:jingle:transports:ice-udp:1}candidate"
        let missing = paths(ours).subtracting(paths(browsers)).subtracting([candidate])
        #expect(missing.isEmpty, "elements a browser never sends: \(missing.sorted())")
        let source = try #require(ours.elements("content")[1].element("description")?.elements("source").first)
        #expect(source["ssrc"] == "21" && source["name"] == "2be31ae8-v0" && source["videoType"] == "camera")
        #expect(source.element("parameter")?["name"] == "msid")
        let transport = try #require(ours.element("content")?.element("transport", namespace: Namespace.jingleICEUDP))
        #expect(transport["ufrag"] == "k3Jd" && transport.element("fingerprint", namespace: Namespace.jingleDTLS)?["setup"] == "active")
        // The data content: accepted when offered (the bridge channel), bundled, on the same transport.
        let bundled = ours.element("group", namespace: Namespace.jingleGrouping)?.elements("content").compactMap { $0["name"] }
        let data = ours.elements("content").first { $0["name"] == "data" }
        if offer.dataContent != nil {
            #expect(bundled == ["audio", "video", "data"])
            let dataTransport = try #require(data?.element("transport", namespace: Namespace.jingleICEUDP))
            #expect(dataTransport["ufrag"] == "k3Jd" && dataTransport.element("fingerprint", namespace: Namespace.jingleDTLS)?["setup"] == "active")
            let sctpmap = try #require(dataTransport.element("sctpmap", namespace: Namespace.jingleSCTP))
            #expect(sctpmap["number"] == "5000" && sctpmap["protocol"] == "webrtc-datachannel")
            #expect(data?.element("description") == nil, "a data content has no RTP description")
        } else {
            #expect(bundled == ["audio", "video"] && data == nil, "no data content when none was offered")
        }
    }
}

enum SocketAddressForTests {
    static let box = Wire.SocketAddress("192.0.2.23:52011")!
}
