// libFuzzer harness: what the SCTP association hands the bridge channel. Byte 0 picks the
// payload protocol, byte 1 the stream, the rest is the message: DCEP (OPEN/ACK) goes to the
// data channel, text to the bridge-channel inbox. Whatever parses as a typed message must
// write back to JSON that parses to the same message; nothing may crash or hang.
// Built by Tests/Fuzz/build.sh.

private let payloadProtocols: [UInt32] = [50, 51, 53, 56, 57, 99]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBridgeChannel(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 2 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
    var channel = DataChannelEndpoint(dtlsClient: true)
    _ = channel.open()
    let message = SCTPMessage(stream: UInt16(data[1] % 4), payloadProtocol: payloadProtocols[Int(data[0]) % payloadProtocols.count], bytes: bytes)
    let (event, reply) = channel.receive(message)
    if let reply, reply.bytes != [0x02] { fatalError("a reply that is not an ACK") }
    guard case .text(let text)? = event else { return 0 }
    var inbox = BridgeChannelInbox()
    guard let parsed = inbox.receive(text: text) else { return 0 }
    let written = parsed.json
    guard let again = try? BridgeChannelMessage(json: written), again == parsed else {
        fatalError("round trip changed the message: \(written)")
    }
    return 0
}
