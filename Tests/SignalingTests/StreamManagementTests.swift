import Testing
import XML
@testable import Signaling

/// XEP-0198 acks and resumption, against server elements as Prosody 0.12's mod_smacks sends
/// them (school-networks.md §3.1), on a manual clock.
struct StreamManagementTests {
    let reader = XMLReader()
    let second: UInt64 = 1_000_000_000
    let sm = "urn:xmpp:sm:3"

    func element(_ text: String) -> XMLElement { try! reader.parse(text) }

    func sent(_ outputs: [XMPPStream.Output]) -> [String] {
        outputs.compactMap { if case .send(let element) = $0 { element.serialized() } else { nil } }
    }

    func message(_ n: Int) -> XMLElement {
        element("<message xmlns='jabber:client' to='klasse-4b@conference.meet.classbox.test' type='groupchat'><body>\(n)</body></message>")
    }

    func features(_ inner: String) -> XMLElement {
        element("<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\(inner)</stream:features>")
    }

    let saslFeatures = "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>ANONYMOUS</mechanism></mechanisms>"
    let open = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='meet.classbox.test' id='s' version='1.0'/>"

    /// Logs in on a server offering sm:3 and returns the stream and what binding produced.
    func loggedIn(offer: Bool = true) -> (XMPPStream, [XMPPStream.Output]) {
        var stream = XMPPStream(configuration: .init(domain: "meet.classbox.test", login: .anonymous), idPrefix: "t")
        _ = stream.start(now: 0)
        _ = stream.receive(element(open), now: 0)
        _ = stream.receive(features(saslFeatures), now: 0)
        _ = stream.receive(element("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), now: 0)
        _ = stream.receive(element(open), now: 0)
        _ = stream.receive(features("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>" + (offer ? "<sm xmlns='urn:xmpp:sm:2'><optional/></sm><sm xmlns='urn:xmpp:sm:3'><optional/></sm>" : "")), now: 0)
        let outputs = stream.receive(element("""
            <iq xmlns='jabber:client' type='result' id='t-1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
            <jid>a1b2c3d4@meet.classbox.test/box</jid></bind></iq>
            """), now: 0)
        return (stream, outputs)
    }

    /// Logged in with resumption enabled (id `fOEdL`, max 15 s).
    func enabled() -> XMPPStream {
        var (stream, _) = loggedIn()
        #expect(stream.receive(element("<enabled xmlns='urn:xmpp:sm:3' id='fOEdL' resume='true' max='15'/>"), now: 0) == [])
        return stream
    }

    @Test func enableGoesOutRightAfterBindingAndOnlyWhenOffered() {
        let (_, outputs) = loggedIn()
        #expect(outputs.count == 2)
        #expect(sent(outputs) == ["<enable xmlns='urn:xmpp:sm:3' resume='true'/>"], "before anything the layer above sends on ready")
        let (plain, without) = loggedIn(offer: false)
        #expect(sent(without).isEmpty && !plain.canResume)
    }

    @Test func theServerCountsOnlyStanzasHandledAfterEnabled() {
        var (stream, _) = loggedIn()
        // A presence that crossed the <enable/>: the server did not count it, so neither does the box.
        _ = stream.receive(element("<presence xmlns='jabber:client' from='klasse-4b@conference.meet.classbox.test/focus'/>"), now: 0)
        _ = stream.receive(element("<enabled xmlns='urn:xmpp:sm:3' id='fOEdL' resume='true' max='15'/>"), now: 0)
        _ = stream.receive(element("<presence xmlns='jabber:client' from='klasse-4b@conference.meet.classbox.test/focus'/>"), now: 0)
        _ = stream.receive(element("<message xmlns='jabber:client' from='klasse-4b@conference.meet.classbox.test'/>"), now: 0)
        _ = stream.receive(element("<iq xmlns='jabber:client' type='get' id='p1' from='meet.classbox.test'><ping xmlns='urn:xmpp:ping'/></iq>"), now: 0)
        // Not well-formed for the layers above, yet handled (dropped) all the same: it counts.
        _ = stream.receive(element("<iq xmlns='jabber:client' type='bogus' id='x'/>"), now: 0)
        #expect(sent(stream.receive(element("<r xmlns='urn:xmpp:sm:3'/>"), now: 0)) == ["<a xmlns='urn:xmpp:sm:3' h='4'/>"])
    }

    @Test func theBoxAsksForAnAckEveryFiveStanzasAndForgetsWhatWasAcknowledged() {
        var stream = enabled()
        var outputs: [XMPPStream.Output] = []
        for n in 1...5 { outputs += stream.send(message(n)) }
        #expect(sent(outputs).last == "<r xmlns='urn:xmpp:sm:3'/>" && sent(outputs).count == 6)
        #expect(stream.unacknowledgedStanzas == 5)
        #expect(stream.receive(element("<a xmlns='urn:xmpp:sm:3' h='3'/>"), now: 0) == [])
        #expect(stream.unacknowledgedStanzas == 2)
        let overclaim = stream.receive(element("<a xmlns='urn:xmpp:sm:3' h='9'/>"), now: 0)
        #expect(overclaim == [.failed("XMPP protocol error: the server acknowledged more stanzas than the box sent")])
    }

    @Test func aLostConnectionIsResumedAndWhatTheServerMissedGoesAgain() {
        var stream = enabled()
        for n in 1...3 { _ = stream.send(message(n)) }
        _ = stream.receive(element("<presence xmlns='jabber:client' from='klasse-4b@conference.meet.classbox.test/focus'/>"), now: 0)
        _ = stream.receive(element("<a xmlns='urn:xmpp:sm:3' h='1'/>"), now: 0)
        #expect(stream.connectionLost("the server closed the connection", now: 10 * second) == [.interrupted("the server closed the connection")])
        #expect(stream.resumptionID == "fOEdL")
        // Sent while away: held, not lost.
        #expect(stream.send(message(4)) == [])
        let (id, request) = stream.sendRequest(element("<iq xmlns='jabber:client' type='get' to='meet.classbox.test'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"), now: 10 * second)
        #expect(request == [])
        #expect(stream.tick(now: 12 * second) == [], "within the window nothing expires")

        #expect(sent(stream.resume(now: 12 * second)).first?.hasPrefix("<open ") == true)
        _ = stream.receive(element(open), now: 12 * second)
        #expect(sent(stream.receive(features(saslFeatures), now: 12 * second)) == ["<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>"])
        _ = stream.receive(element("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), now: 12 * second)
        _ = stream.receive(element(open), now: 12 * second)
        let resume = stream.receive(features("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><sm xmlns='urn:xmpp:sm:3'><optional/></sm>"), now: 12 * second)
        #expect(sent(resume) == ["<resume xmlns='urn:xmpp:sm:3' previd='fOEdL' h='1'/>"], "no bind: the session's address stays")
        #expect(stream.send(message(5)) == [], "still held until resumed")

        let back = stream.receive(element("<resumed xmlns='urn:xmpp:sm:3' previd='fOEdL' h='2'/>"), now: 12 * second)
        #expect(back.first == .resumed)
        // The server had 2 of 6; the other 4 go again, in order, then an ack is asked for.
        let again = sent(back)
        #expect(again.count == 5 && again.last == "<r xmlns='urn:xmpp:sm:3'/>")
        #expect(again[0].contains("<body>3</body>") && again[1].contains("<body>4</body>") && again[2].contains("disco#info") && again[3].contains("<body>5</body>"))
        #expect(stream.isReady)
        // The request held over the gap is still answered.
        let answer = stream.receive(element("<iq xmlns='jabber:client' type='result' id='\(id)' from='meet.classbox.test'/>"), now: 13 * second)
        #expect(answer.count == 1 && { if case .response(id, .some) = answer[0] { true } else { false } }())
    }

    @Test func aRefusedResumptionOrAnExpiredWindowEndsTheStream() {
        var stream = enabled()
        _ = stream.connectionLost("reset", now: 0)
        _ = stream.resume(now: second)
        _ = stream.receive(element(open), now: second)
        _ = stream.receive(features(saslFeatures), now: second)
        _ = stream.receive(element("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"), now: second)
        _ = stream.receive(element(open), now: second)
        _ = stream.receive(features("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><sm xmlns='urn:xmpp:sm:3'/>"), now: second)
        let refused = stream.receive(element("<failed xmlns='urn:xmpp:sm:3' h='0'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>"), now: second)
        #expect(refused == [.failed("the XMPP server could not resume the session (item-not-found)")])
        #expect(!stream.canResume)

        var twice = enabled()
        _ = twice.connectionLost("reset", now: 0)
        _ = twice.resume(now: 5 * second)
        _ = twice.receive(element(open), now: 5 * second)
        #expect(twice.connectionLost("reset again", now: 6 * second) == [.interrupted("reset again")], "still resumable")
        #expect(twice.nextDeadline == 14 * second, "the window runs from the first loss, not from each new connection")

        var waiting = enabled()
        _ = waiting.connectionLost("reset", now: 0)
        #expect(waiting.nextDeadline == 14 * second, "the server's max (15 s) less a second")
        #expect(waiting.tick(now: 13 * second) == [])
        #expect(waiting.tick(now: 14 * second) == [.failed("the XMPP stream could not be resumed within 14 s")])
    }

    @Test func withoutResumptionOrAfterADeliberateCloseALossEndsTheStream() {
        var (plain, _) = loggedIn(offer: false)
        #expect(plain.connectionLost("reset", now: 0) == [.failed("reset")])

        var noResume = loggedIn().0
        _ = noResume.receive(element("<enabled xmlns='urn:xmpp:sm:3'/>"), now: 0)
        #expect(!noResume.canResume && noResume.connectionLost("reset", now: 0) == [.failed("reset")])

        var closed = enabled()
        _ = closed.receive(element("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"), now: 0)
        #expect(!closed.canResume, "the server ended the session on purpose")
    }

    @Test func aSilentServerIsALostConnectionToo() {
        var stream = enabled()
        let config = stream.configuration
        _ = stream.tick(now: config.pingInterval)  // the ping goes out
        let silent = stream.tick(now: config.pingInterval + config.pingTimeout)
        #expect(silent.count == 1 && { if case .interrupted = silent[0] { true } else { false } }())
    }
}
