import Testing
import XML
@testable import Signaling

/// The client stream against scripted server elements on a manual clock.
struct XMPPStreamTests {
    let reader = XMLReader()
    let second: UInt64 = 1_000_000_000

    func element(_ text: String) -> XMLElement { try! reader.parse(text) }

    func sent(_ outputs: [XMPPStream.Output]) -> [String] {
        outputs.compactMap { if case .send(let element) = $0 { element.serialized() } else { nil } }
    }

    /// Runs the login up to `ready` and returns the stream.
    func loggedIn(login: XMPPStream.Login = .anonymous) -> XMPPStream {
        var stream = XMPPStream(configuration: .init(domain: "meet.classbox.test", login: login), idPrefix: "t")
        _ = stream.start(now: 0)
        _ = stream.receive(element("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='meet.classbox.test' id='s1' version='1.0'/>"), now: 1)
        _ = stream.receive(element("""
            <stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
            <mechanism>PLAIN</mechanism><mechanism>ANONYMOUS</mechanism></mechanisms></stream:features>
            """), now: 2)
        _ = stream.receive(element("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), now: 3)
        _ = stream.receive(element("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='meet.classbox.test' id='s2' version='1.0'/>"), now: 4)
        _ = stream.receive(element("""
            <stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
            <session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session></stream:features>
            """), now: 5)
        let outputs = stream.receive(element("""
            <iq xmlns='jabber:client' type='result' id='t-1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
            <jid>5e1f0a7c-9b3e-4c2d-8e1f-0a7c9b3e4c2d@meet.classbox.test/box</jid></bind></iq>
            """), now: 6)
        #expect(outputs == [.ready(JID("5e1f0a7c-9b3e-4c2d-8e1f-0a7c9b3e4c2d@meet.classbox.test/box")!)])
        return stream
    }

    @Test func anonymousLoginAndBindingFollowRFC6120() {
        var stream = XMPPStream(configuration: .init(domain: "meet.classbox.test", login: .anonymous), idPrefix: "t")
        #expect(sent(stream.start(now: 0)) == ["<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='meet.classbox.test' version='1.0'/>"])
        #expect(stream.receive(element("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>"), now: 1) == [])
        let auth = stream.receive(element("""
            <stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
            <mechanism>ANONYMOUS</mechanism></mechanisms></stream:features>
            """), now: 2)
        #expect(sent(auth) == ["<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>"])
        let reopen = stream.receive(element("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), now: 3)
        #expect(sent(reopen).first?.hasPrefix("<open ") == true, "the stream restarts after SASL")
        _ = stream.receive(element("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>"), now: 4)
        let bind = stream.receive(element("<features xmlns='http://etherx.jabber.org/streams'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></features>"), now: 5)
        #expect(sent(bind) == ["<iq xmlns='jabber:client' type='set' id='t-1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"])
        #expect(!stream.isReady)
    }

    @Test func plainLoginSendsTheAccountInBase64() {
        var stream = XMPPStream(configuration: .init(domain: "meet.classbox.test", login: .plain(user: "box-17", password: "pässword")), idPrefix: "t")
        _ = stream.start(now: 0)
        _ = stream.receive(element("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>"), now: 1)
        let auth = stream.receive(element("""
            <features xmlns='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
            <mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></features>
            """), now: 2)
        // base64("\0box-17\0pässword")
        #expect(sent(auth) == ["<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGJveC0xNwBww6Rzc3dvcmQ=</auth>"])
    }

    @Test func refusalsSayWhy() {
        var stream = XMPPStream(configuration: .init(domain: "meet.classbox.test", login: .anonymous))
        _ = stream.start(now: 0)
        _ = stream.receive(element("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>"), now: 1)
        let refused = stream.receive(element("""
            <features xmlns='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
            <mechanism>PLAIN</mechanism></mechanisms></features>
            """), now: 2)
        #expect(refused == [.failed("the XMPP server does not allow anonymous login (offers PLAIN): configure a box account")])

        var other = XMPPStream(configuration: .init(domain: "meet.classbox.test", login: .plain(user: "a", password: "b")))
        _ = other.start(now: 0)
        _ = other.receive(element("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>"), now: 1)
        _ = other.receive(element("<features xmlns='http://etherx.jabber.org/streams'><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></features>"), now: 2)
        #expect(other.receive(element("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text>Invalid username or password</text></failure>"), now: 3)
                == [.failed("the XMPP server refused the login: not-authorized (Invalid username or password)")])

        var slow = XMPPStream(configuration: .init(domain: "meet.classbox.test", login: .anonymous))
        _ = slow.start(now: 0)
        #expect(slow.tick(now: 19 * second) == [])
        #expect(slow.tick(now: 20 * second) == [.failed("the XMPP server did not complete the login within 20 s")])
    }

    @Test func streamErrorsAndTheServersCloseEndTheStream() {
        var stream = loggedIn()
        let error = stream.receive(element("""
            <stream:error xmlns:stream='http://etherx.jabber.org/streams'><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
            <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Server is shutting down</text></stream:error>
            """), now: 7)
        #expect(error == [.failed("the XMPP server ended the stream: system-shutdown (Server is shutting down)")])

        var other = loggedIn()
        let closed = other.receive(element("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"), now: 7)
        #expect(sent(closed) == ["<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"] && closed.last == .failed("the XMPP server closed the stream"))

        var polite = loggedIn()
        #expect(sent(polite.close()) == ["<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"])
        #expect(polite.receive(element("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"), now: 8) == [.closed])
    }

    @Test func pingsKeepTheStreamAliveAndFindADeadOne() {
        var stream = loggedIn()
        #expect(stream.tick(now: 10 * second) == [])
        let ping = sent(stream.tick(now: 25 * second + 6))
        #expect(ping == ["<iq xmlns='jabber:client' type='get' to='meet.classbox.test' id='t-2'><ping xmlns='urn:xmpp:ping'/></iq>"])
        #expect(stream.receive(element("<iq xmlns='jabber:client' type='result' id='t-2' from='meet.classbox.test'/>"), now: 26 * second) == [])
        #expect(sent(stream.tick(now: 51 * second)).count == 1, "the next ping, 25 s later")
        #expect(stream.tick(now: 70 * second) == [])
        #expect(stream.tick(now: 71 * second) == [.failed("the XMPP server stopped answering (no reply to a ping for 20 s)")])
    }

    @Test func serverPingsAreAnsweredAndOtherRequestsPassedUp() {
        var stream = loggedIn()
        let ping = stream.receive(element("<iq xmlns='jabber:client' type='get' id='p1' from='conference.meet.classbox.test'><ping xmlns='urn:xmpp:ping'/></iq>"), now: 7)
        #expect(sent(ping) == ["<iq xmlns='jabber:client' to='conference.meet.classbox.test' type='result' id='p1'/>"])
        let jingle = element("<iq xmlns='jabber:client' type='set' id='j1' from='r@conference.meet.classbox.test/focus'><jingle xmlns='urn:xmpp:jingle:1'/></iq>")
        #expect(stream.receive(jingle, now: 8) == [.stanza(jingle)])
        #expect(XMPPStream.answerUnhandled(jingle).serialized()
                == "<iq xmlns='jabber:client' to='r@conference.meet.classbox.test/focus' type='error' id='j1'><error type='cancel'>"
                + "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
    }

    @Test func responsesAreMatchedBySenderAndTimeOut() {
        var stream = loggedIn()
        let request = XMLElement("iq", namespace: "jabber:client", attributes: ["type": "set", "to": "focus.meet.classbox.test"],
                                 children: [XMLElement("conference", namespace: Namespace.jitsiFocus)])
        let (id, outputs) = stream.sendRequest(request, now: 10 * second)
        #expect(sent(outputs).first?.contains("id='\(id)'") == true)
        let spoofed = element("<iq xmlns='jabber:client' type='result' id='\(id)' from='evil.example'/>")
        #expect(stream.receive(spoofed, now: 11 * second) == [], "a response from someone else is dropped")
        #expect(stream.dropped == 1)
        let genuine = element("<iq xmlns='jabber:client' type='result' id='\(id)' from='focus.meet.classbox.test'/>")
        #expect(stream.receive(genuine, now: 11 * second) == [.response(id: id, genuine)])
        let (late, _) = stream.sendRequest(request, now: 12 * second)
        #expect(stream.tick(now: 27 * second).contains(.response(id: late, nil)))
    }

    @Test func stanzasOutsideJabberClientOrWithBadAddressesAreDropped() {
        var stream = loggedIn()
        #expect(stream.receive(element("<presence xmlns='jabber:server'/>"), now: 7) == [])
        #expect(stream.receive(element("<message xmlns='jabber:client' from='@bad'/>"), now: 7) == [])
        #expect(stream.receive(element("<iq xmlns='jabber:client' type='set' id='x'/>"), now: 7) == [], "an IQ request needs exactly one child")
        #expect(stream.dropped == 3)
    }

    @Test func jidsParseAsRFC7622Says() {
        #expect(JID("klasse-4b@conference.Meet.Classbox.Test/focus") == JID(local: "klasse-4b", domain: "conference.meet.classbox.test", resource: "focus"))
        #expect(JID("meet.classbox.test")?.description == "meet.classbox.test")
        #expect(JID("a@b/c/d")?.resource == "c/d")
        for bad in ["", "@b", "a@", "a@b/", "a@b@c"] { #expect(JID(bad) == nil, "\(bad)") }
    }
}
