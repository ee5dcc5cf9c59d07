// libFuzzer harness: STUN decoding, integrity checking, and the ICE agent fed with
// whatever arrives (as it would be from the network). Built by Tests/Fuzz/build.sh.

let fuzzCredentials = ICECredentials(ufrag: "box1", password: "box-password-0123456789")
let fuzzLocal = SocketAddress(host: "10.0.0.2", port: 40000)!
let fuzzRemote = SocketAddress(host: "192.0.2.10", port: 10000)!

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSTUN(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let message = try? bytes.withUnsafeBytes({ try STUNMessage.decode($0) }) {
        _ = try? bytes.withUnsafeBytes { try STUNMessage.verifyIntegrity($0, key: Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)) }
        for attribute in message.attributes {
            _ = attribute.stringValue
            _ = attribute.errorCodeValue
            _ = attribute.xorMappedAddressValue(transactionID: message.transactionID)
        }
        let again = message.encoded(integrityKey: nil)
        precondition((try? again.withUnsafeBytes { try STUNMessage.decode($0) }) != nil, "what we encode must decode")
    }
    var agent = ICEAgent(role: .controlled, localCredentials: fuzzCredentials, localCandidates: [.host(fuzzLocal)])
    _ = agent.setRemote(credentials: ICECredentials(ufrag: "jvb1", password: "bridge-password-012345"),
                        candidates: [.host(fuzzRemote)], now: 0)
    _ = agent.handle(datagram: bytes, from: fuzzRemote, at: fuzzLocal, now: 1)
    _ = agent.handleTimeout(now: 2_000_000_000)
    return 0
}
