// libFuzzer harness: an XMPP stanza as it arrives in one WebSocket frame — the XML reader,
// then (when it parses) the writer, whose output must read back as the same element.
// Built by Tests/Fuzz/build.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStanza(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let element = try? XMLReader().parse(bytes) else { return 0 }
    let written = element.serialized()
    guard let again = try? XMLReader().parse(written) else { preconditionFailure("what we write must read back: \(written)") }
    precondition(again == element, "round trip changed the element: \(written)")
    return 0
}
