// libFuzzer harness: bridge-channel messages (JSON text on PPID 51). Whatever parses as a
// typed message must write back to JSON that parses to the same message; nothing may crash
// or hang. Built by Tests/Fuzz/build.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBridgeChannel(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    var inbox = BridgeChannelInbox()
    guard let message = inbox.receive(text: text) else { return 0 }
    let written = message.json
    guard let again = try? BridgeChannelMessage(json: written), again == message else {
        fatalError("round trip changed the message: \(written)")
    }
    return 0
}
