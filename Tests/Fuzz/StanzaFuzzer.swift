// libFuzzer harness: an XMPP stanza as it arrives in one WebSocket frame — the XML reader;
// the writer, whose output must read back as the same element; the Jingle reader; and a
// joined conference session that handles it as if it came from the server, and the same
// session with XEP-0198 enabled (stanzas awaiting acks) and resuming. The same input
// as SDP text (an offer or answer from a plain WebRTC peer): what the SDP reader takes, the
// writer writes so that it reads back. Built by Tests/Fuzz/build.sh.

nonisolated(unsafe) var fuzzSession: ConferenceSession = {
    var session = ConferenceSession(configuration: ConferenceConfiguration(
        room: JID("klasse-4b@conference.meet.classbox.test")!, focus: JID("focus.meet.classbox.test")!, label: "Klasse 4b",
        password: "pw", organiser: true, machineUID: "m", statsID: "s"), stream: .init(domain: "meet.classbox.test", login: .anonymous))
    session.stream.state = .ready
    session.stream.jid = JID("2be31ae8-910e@meet.classbox.test/box")
    session.endpoint = "2be31ae8"
    session.phase = .joined
    return session
}()

/// The joined session with stream management on: three stanzas unacknowledged, resumable.
nonisolated(unsafe) var fuzzManagedSession: ConferenceSession = {
    var session = fuzzSession
    session.stream.management = StreamManagement(resumptionID: "fOEdL", maxSeconds: 60, enabled: true)
    for n in 1...3 { _ = session.stream.send(XMLElement("message", namespace: "jabber:client", text: "\(n)")) }
    return session
}()

/// The same, its connection lost and a new one at `<resume/>`.
nonisolated(unsafe) var fuzzResumingSession: ConferenceSession = {
    var session = fuzzManagedSession
    _ = session.connectionLost("cut", now: 0)
    _ = session.resume(now: 0)
    session.stream.state = .resuming
    return session
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStanza(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if let session = try? SDP.parse(String(decoding: bytes, as: UTF8.self)) {
        let written = SDP.write(session)
        precondition((try? SDP.parse(written)) != nil, "what we write must read back: \(written)")
    }
    guard let element = try? XMLReader().parse(bytes) else { return 0 }
    let written = element.serialized()
    guard let again = try? XMLReader().parse(written) else { preconditionFailure("what we write must read back: \(written)") }
    precondition(again == element, "round trip changed the element: \(written)")
    _ = try? JingleReader.read(element)
    for service in ExternalService.services(in: element) {
        precondition(!service.host.isEmpty && (service.port.map { (1...65535).contains($0) } ?? true))
        _ = service.description
    }
    var session = fuzzSession
    _ = session.receive(element, now: 1_000_000_000)
    _ = session.tick(now: 2_000_000_000)
    for start in [fuzzManagedSession, fuzzResumingSession] {
        var managed = start
        _ = managed.receive(element, now: 1_000_000_000)
        _ = managed.tick(now: 2_000_000_000)
    }
    return 0
}
