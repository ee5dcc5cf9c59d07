import Testing
import XML
@testable import Signaling

/// XEP-0215 as Prosody 0.12's mod_external_services answers it for a Jitsi deployment
/// (../shared/research/school-networks.md §2.2; values our own).
struct ExternalServicesTests {
    static let answer = """
        <iq xmlns='jabber:client' type='result' id='x' from='meet.classbox.test'><services xmlns='urn:xmpp:extdisco:2'>\
        <service type='stun' transport='udp' host='turn.classbox.test' port='3478'/>\
        <service type='turn' transport='udp' host='turn.classbox.test' port='3478' username='1796412468' password='cGFzc3dvcmQ=' \
        expires='2026-12-07T19:27:48Z' restricted='1'/>\
        <service type='turns' transport='tcp' host='turn.classbox.test' port='443' username='1796412468' password='cGFzc3dvcmQ=' restricted='1'/>\
        <service type='turn' host='' port='3478'/><service type='turn' host='x.example' port='70000'/></services></iq>
        """

    @Test func theServicesAndTheirCredentialsAreRead() throws {
        let services = ExternalService.services(in: try XMLReader().parse(Self.answer))
        #expect(services.map(\.description) == ["stun:turn.classbox.test:3478?transport=udp", "turn:turn.classbox.test:3478?transport=udp",
                                                "turns:turn.classbox.test:443?transport=tcp"], "entries without a host or with no port left out")
        #expect(services[1].username == "1796412468" && services[1].password == "cGFzc3dvcmQ=" && services[1].expires == "2026-12-07T19:27:48Z")
        #expect(!services[1].description.contains("cGFzc3dvcmQ="), "the log line has no secret")
        let error = try XMLReader().parse("<iq xmlns='jabber:client' type='error' id='x'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
        #expect(ExternalService.services(in: error).isEmpty && ExternalService.services(in: nil).isEmpty)
    }

    @Test func theBoxAsksOnlyWhenProvisionedToAndKeepsTheAnswer() throws {
        let tests = ConferenceSessionTests()
        var outputs: [ConferenceSession.Output] = []
        _ = tests.signedIn(tests.configuration(), outputs: &outputs)
        #expect(!tests.sent(outputs).contains { $0.element("services", namespace: "urn:xmpp:extdisco:2") != nil }, "not asked for")
        var configuration = tests.configuration()
        configuration.askExternalServices = true
        var session = tests.signedIn(configuration, outputs: &outputs)
        let request = try #require(tests.sent(outputs).first { $0.element("services", namespace: "urn:xmpp:extdisco:2") != nil })
        #expect(request["type"] == "get" && request["to"] == "meet.classbox.test")
        let conference = tests.sent(outputs).firstIndex { $0.element("conference") != nil }
        #expect(conference != nil && tests.sent(outputs).firstIndex(of: request)! < conference!, "asked before the conference request")
        let reply = try XMLReader().parse(Self.answer.replacingOccurrences(of: "id='x'", with: "id='\(request["id"]!)'"))
        let said = session.receive(reply, now: 3)
        #expect(session.externalServices.count == 3)
        #expect(said.contains(.status("TURN servers from the conference server: turn:turn.classbox.test:3478?transport=udp, turns:turn.classbox.test:443?transport=tcp")))
        // Asked again (a media session ended): an error answer keeps the servers known.
        let again = try #require(tests.sent(session.askForExternalServices(now: 4)).first)
        let error = try XMLReader().parse("<iq xmlns='jabber:client' type='error' id='\(again["id"]!)'><error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>")
        let answer = session.receive(error, now: 5)
        #expect(session.externalServices.count == 3 && answer.contains { if case .status(let text) = $0 { text.contains("resource-constraint") } else { false } })
    }
}
