// libFuzzer harness for the TURN client's input: whatever the server (or someone pretending
// to be it) sends — answers, Data indications, ChannelData — fed to a client in the middle
// of its allocation, permissions and channels. Built by Tests/Fuzz/build.sh. Input: frames of
// a 2-octet length and the message, each followed by a clock step of one octet (100 ms units).
// The client's transaction IDs are all 0x5A, so the fuzzer can answer its requests.

let fuzzTURNServer = SocketAddress(host: "192.0.2.1", port: 3478)!
let fuzzTURNPeer = SocketAddress(host: "192.0.2.10", port: 10000)!

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTURN(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var client = TURNClient(server: fuzzTURNServer, credentials: .init(username: "klasse4b", password: "geheim"),
                            randomBytes: { Array(repeating: 0x5A, count: $0) })
    var now: UInt64 = 0
    _ = client.start(now: now)
    var offset = 0
    while offset + 2 <= bytes.count {
        let length = min(Int(bytes[offset]) << 8 | Int(bytes[offset + 1]), bytes.count - offset - 2)
        let message = Array(bytes[(offset + 2)..<(offset + 2 + length)])
        offset += 2 + length
        let before = client.state
        switch message.withUnsafeBytes({ client.handle($0, now: now) }) {
        case .data(_, let payload): precondition(payload.count <= message.count)
        case .handled, .dropped: break
        }
        if let range = message.withUnsafeBytes({ TURN.channelData($0)?.data }) { precondition(range.upperBound <= message.count) }
        if client.state == .allocated {
            precondition(client.relayedAddress != nil)
            _ = client.permit([fuzzTURNPeer], now: now)
            _ = client.bind(fuzzTURNPeer, now: now)
            if let channel = client.channel(for: fuzzTURNPeer) {
                precondition(TURN.channels.contains(channel) && client.peer(onChannel: channel) == fuzzTURNPeer)
            }
        }
        if case .failed = before { precondition(client.state == before, "a failed allocation stays failed") }
        if offset < bytes.count {
            now += UInt64(bytes[offset]) * 100_000_000
            offset += 1
        }
        if let next = client.nextTimeout, next <= now { _ = client.handleTimeout(now: now) }
    }
    _ = client.close(now: now)
    // The same bytes as a TCP/TLS stream: whole messages or a failure, nothing longer than what came.
    var framer = TURNStreamFramer()
    if let frames = try? bytes.withUnsafeBytes({ try framer.append($0) }) {
        precondition(frames.reduce(0) { $0 + $1.count } <= bytes.count)
        for frame in frames { _ = frame.withUnsafeBytes { client.handle($0, now: now) } }
    }
    return 0
}
