import Crypto
import STUN
import Testing
import Wire
@testable import TURN

/// The TURN client against a scripted server (the answers coturn gave in
/// ../shared/research/school-networks.md §1.9), on a manual clock.
struct TURNClientTests {
    static let server = SocketAddress(host: "10.99.1.1", port: 3478)!
    static let relayed = SocketAddress(host: "10.99.1.1", port: 49160)!
    static let mapped = SocketAddress(host: "10.99.1.2", port: 40000)!
    static let bridge = SocketAddress(host: "10.99.2.1", port: 10000)!
    static let bridgeV6 = SocketAddress(host: "fd00::1", port: 10000)!
    /// MD5("klasse4b:schule.example:geheim"), computed outside Swift.
    static let key: [UInt8] = [197, 222, 225, 15, 221, 187, 122, 191, 32, 251, 241, 126, 2, 224, 115, 41]
    static let second: UInt64 = 1_000_000_000

    static func client() -> TURNClient {
        TURNClient(server: server, credentials: .init(username: "klasse4b", password: "geheim"))
    }

    static func sent(_ events: [TURNClient.Event]) -> [STUNMessage] {
        events.compactMap { if case .send(let bytes) = $0 { return try? bytes.withUnsafeBytes { try STUNMessage.decode($0) } } else { return nil } }
    }

    static func answer(_ request: STUNMessage, error: (Int, String)? = nil, attributes: [STUNAttribute] = [], integrity: [UInt8]? = key) -> [UInt8] {
        var attributes = attributes
        if let error { attributes.insert(.errorCode(error.0, reason: error.1), at: 0) }
        return STUNMessage(method: request.method, messageClass: error == nil ? .successResponse : .errorResponse,
                           transactionID: request.transactionID, attributes: attributes).encoded(integrityKey: integrity)
    }

    /// Allocate → 401 → Allocate with credentials → success; returns the client and the time.
    static func allocated() -> TURNClient {
        var client = client()
        let first = sent(client.start(now: 0))[0]
        let challenge = answer(first, error: (401, "Unauthorized"), attributes: [.realm("schule.example"), .nonce("a1b2c3d4e5f60718")], integrity: nil)
        guard case .handled(let events) = challenge.withUnsafeBytes({ client.handle($0, now: 1_000_000) }) else { return client }
        let second = sent(events)[0]
        let success = answer(second, attributes: [.xorAddress(.xorRelayedAddress, address: relayed.bytes, port: relayed.port, transactionID: second.transactionID),
                                                  .xorMappedAddress(address: mapped.bytes, port: mapped.port, transactionID: second.transactionID),
                                                  .lifetime(seconds: 600)])
        _ = success.withUnsafeBytes { client.handle($0, now: 2_000_000) }
        return client
    }

    @Test func allocatesWithLongTermCredentials() throws {
        var client = Self.client()
        let first = try #require(Self.sent(client.start(now: 0)).first)
        #expect(first.method == TURN.allocate && first.attribute(.username) == nil && first.attribute(.requestedTransport)?.value == [17, 0, 0, 0])
        let challenge = Self.answer(first, error: (401, "Unauthorized"), attributes: [.realm("schule.example"), .nonce("a1b2c3d4e5f60718")], integrity: nil)
        guard case .handled(let events) = challenge.withUnsafeBytes({ client.handle($0, now: 1_000_000) }) else { Issue.record("401 not handled"); return }
        let second = try #require(Self.sent(events).first)
        let bytes = second.encoded(integrityKey: Self.key)
        #expect(second.transactionID != first.transactionID && second.attribute(.username)?.stringValue == "klasse4b")
        #expect(second.attribute(.realm)?.stringValue == "schule.example" && second.attribute(.nonce)?.stringValue == "a1b2c3d4e5f60718")
        // MESSAGE-INTEGRITY under MD5(username:realm:password), as coturn checks it.
        guard case .send(let wire) = events[0] else { return }
        #expect(throws: Never.self) { try wire.withUnsafeBytes { try STUNMessage.verifyIntegrity($0, key: Self.key) } }
        #expect(bytes == wire)
        let success = Self.answer(second, attributes: [.xorAddress(.xorRelayedAddress, address: Self.relayed.bytes, port: Self.relayed.port, transactionID: second.transactionID),
                                                       .xorMappedAddress(address: Self.mapped.bytes, port: Self.mapped.port, transactionID: second.transactionID),
                                                       .lifetime(seconds: 600)])
        let result = success.withUnsafeBytes { client.handle($0, now: 2_000_000) }
        #expect(result == .handled([.allocated(relayed: Self.relayed, mapped: Self.mapped)]))
        #expect(client.state == .allocated && client.relayedAddress == Self.relayed)
    }

    @Test func aSecondUnauthorizedIsOneClearFailure() throws {
        var client = Self.client()
        let first = Self.sent(client.start(now: 0))[0]
        let challenge = Self.answer(first, error: (401, "Unauthorized"), attributes: [.realm("schule.example"), .nonce("n1")], integrity: nil)
        guard case .handled(let events) = challenge.withUnsafeBytes({ client.handle($0, now: 0) }) else { return }
        let again = Self.answer(Self.sent(events)[0], error: (401, "Unauthorized"), attributes: [.realm("schule.example"), .nonce("n1")], integrity: nil)
        guard case .handled(let final) = again.withUnsafeBytes({ client.handle($0, now: 0) }), case .failed(let reason)? = final.first else {
            Issue.record("no failure"); return
        }
        #expect(reason.contains("refused the user name or password") && !reason.contains("geheim"))
        #expect(client.nextTimeout == nil)
    }

    @Test func permissionsAndChannelsAreKeptAliveAndTheAllocationRefreshed() throws {
        var client = Self.allocated()
        let permit = Self.sent(client.permit([Self.bridge, SocketAddress(host: "10.99.2.1", port: 10001)!, Self.bridgeV6], now: 3 * Self.second))
        // One request, one address per IP (ports do not matter to a permission); the IPv4 relay ignores IPv6.
        #expect(permit.count == 1 && permit[0].method == TURN.createPermission)
        #expect(permit[0].attributes.filter { $0.type == .xorPeerAddress }.compactMap { $0.socketAddress(transactionID: permit[0].transactionID)?.host } == ["10.99.2.1"])
        _ = Self.answer(permit[0]).withUnsafeBytes { client.handle($0, now: 3 * Self.second) }
        let bind = Self.sent(client.bind(Self.bridge, now: 4 * Self.second))
        #expect(bind.count == 1 && bind[0].method == TURN.channelBind && bind[0].attribute(.channelNumber)?.value == [0x40, 0, 0, 0])
        #expect(client.channel(for: Self.bridge) == nil)
        let bound = Self.answer(bind[0]).withUnsafeBytes { client.handle($0, now: 4 * Self.second) }
        #expect(bound == .handled([.channelBound(peer: Self.bridge, channel: 0x4000)]))
        #expect(client.channel(for: Self.bridge) == 0x4000 && client.peer(onChannel: 0x4000) == Self.bridge)
        // Nothing until the permission is due again (240 s after it was made; the bind renewed it).
        #expect(Self.sent(client.handleTimeout(now: 200 * Self.second)).isEmpty)
        #expect(client.nextTimeout == 244 * Self.second)
        let renewal = Self.sent(client.handleTimeout(now: 244 * Self.second))
        #expect(renewal.map(\.method) == [TURN.createPermission])
        _ = Self.answer(renewal[0]).withUnsafeBytes { client.handle($0, now: 244 * Self.second) }
        // The allocation's refresh a minute before its 600 s end, the channel at 540 s of its
        // 600, the permission again 240 s after its renewal.
        let later = Self.sent(client.handleTimeout(now: 545 * Self.second))
        #expect(later.map(\.method).sorted() == [TURN.refresh, TURN.createPermission, TURN.channelBind])
        #expect(later.first { $0.method == TURN.refresh }?.attribute(.lifetime)?.uint32Value == 600)
    }

    @Test func aRefusedPeerAddressCostsOnlyItsOwnPermission() throws {
        var client = Self.allocated()
        let privateAddress = SocketAddress(host: "192.168.10.5", port: 10000)!
        let requests = Self.sent(client.permit([Self.bridge, privateAddress], now: 3 * Self.second))
        #expect(requests.count == 2 && requests.allSatisfy { $0.attributes.filter { $0.type == .xorPeerAddress }.count == 1 }, "one address per request")
        for request in requests {
            let peer = request.attribute(.xorPeerAddress)?.socketAddress(transactionID: request.transactionID)
            let reply = peer?.host == "192.168.10.5" ? Self.answer(request, error: (403, "Forbidden IP")) : Self.answer(request)
            _ = reply.withUnsafeBytes { client.handle($0, now: 3 * Self.second) }
        }
        #expect(client.problems.count == 1 && client.problems[0].contains("refuses that peer address (403"))
        // The refused address is not asked for again; the other is renewed on time.
        #expect(Self.sent(client.handleTimeout(now: 10 * Self.second)).isEmpty)
        #expect(Self.sent(client.permit([privateAddress], now: 11 * Self.second)).isEmpty)
        let renewal = Self.sent(client.handleTimeout(now: 243 * Self.second))
        #expect(renewal.count == 1 && renewal[0].attribute(.xorPeerAddress)?.socketAddress(transactionID: renewal[0].transactionID)?.host == "10.99.2.1")
    }

    @Test func aStaleNonceIsTakenOnceAndTheRequestGoesAgain() throws {
        var client = Self.allocated()
        let permit = Self.sent(client.permit([Self.bridge], now: 3 * Self.second))[0]
        let stale = Self.answer(permit, error: (438, "Stale nonce\0"), attributes: [.realm("schule.example"), .nonce("fresh-nonce")])
        guard case .handled(let events) = stale.withUnsafeBytes({ client.handle($0, now: 3 * Self.second) }) else { Issue.record("438 dropped"); return }
        let again = Self.sent(events)
        #expect(again.count == 1 && again[0].method == TURN.createPermission && again[0].attribute(.nonce)?.stringValue == "fresh-nonce")
        // A second 438 for the same request is a failure of that request, retried later, not a loop.
        let staleAgain = Self.answer(again[0], error: (438, "Stale nonce"), attributes: [.nonce("another")])
        #expect(staleAgain.withUnsafeBytes { client.handle($0, now: 3 * Self.second) } == .handled([]))
        #expect(client.problems.count == 1 && client.state == .allocated)
        #expect(client.nextTimeout == 8 * Self.second)
    }

    @Test func aForgedOrUnrelatedAnswerIsDropped() throws {
        var client = Self.allocated()
        let permit = Self.sent(client.permit([Self.bridge], now: 3 * Self.second))[0]
        let forged = Self.answer(permit, integrity: Array(repeating: 7, count: 16))
        #expect(forged.withUnsafeBytes { client.handle($0, now: 3 * Self.second) } == .dropped)
        let bare = Self.answer(permit, integrity: nil)
        #expect(bare.withUnsafeBytes { client.handle($0, now: 3 * Self.second) } == .dropped)
        let unrelated = STUNMessage(method: TURN.createPermission, messageClass: .successResponse, transactionID: Array(repeating: 1, count: 12)).encoded()
        #expect(unrelated.withUnsafeBytes { client.handle($0, now: 3 * Self.second) } == .dropped)
        #expect([UInt8]([0x40, 0, 0, 1, 9]).withUnsafeBytes { client.handle($0, now: 3 * Self.second) } == .dropped)
        #expect(client.droppedMessages == 4)
    }

    @Test func aServerThatNeverAnswersFailsTheAllocationAfterItsRetransmissions() {
        var client = Self.client()
        var sends = Self.sent(client.start(now: 0)).count
        var failure: String?
        var now: UInt64 = 0
        while failure == nil, let next = client.nextTimeout, now < 60 * Self.second {
            now = next
            for event in client.handleTimeout(now: now) {
                if case .send = event { sends += 1 }
                if case .failed(let reason) = event { failure = reason }
            }
        }
        #expect(sends == 4 && failure?.contains("no answer from TURN server 10.99.1.1:3478") == true)
        #expect(now == 7_500_000_000)
    }

    @Test func dataFromThePeerIsUnwrappedAndSendIndicationsCarryTheirPeer() throws {
        var client = Self.allocated()
        let id = [UInt8](repeating: 9, count: 12)
        let indication = STUNMessage(method: TURN.data, messageClass: .indication, transactionID: id,
                                     attributes: [.xorPeerAddress(Self.bridge, transactionID: id), .init(type: .data, value: [0, 1, 0, 0])]).encoded()
        #expect(indication.withUnsafeBytes { client.handle($0, now: 0) } == .data(peer: Self.bridge, data: [0, 1, 0, 0]))
        let send = [UInt8]([1, 2, 3]).withUnsafeBytes { STUNMessage.sendIndication(to: Self.bridge, data: $0, transactionID: id) }
        let decoded = try send.withUnsafeBytes { try STUNMessage.decode($0) }
        #expect(decoded.method == TURN.send && decoded.attribute(.data)?.value == [1, 2, 3])
        #expect(decoded.attribute(.xorPeerAddress)?.socketAddress(transactionID: id) == Self.bridge)
        let header = TURN.channelDataHeader(channel: 0x4001, count: 3)
        let frame: [UInt8] = [header.0, header.1, header.2, header.3, 7, 8, 9, 0]  // padded, as over a stream
        let parsed = frame.withUnsafeBytes { TURN.channelData($0) }
        #expect(parsed?.channel == 0x4001 && parsed?.data == 4..<7 && TURN.isChannelData(firstOctet: frame[0]))
        #expect([UInt8]([0x40, 0x01, 0, 9, 1]).withUnsafeBytes { TURN.channelData($0) } == nil)
        #expect([UInt8]([0x30, 0x01, 0, 0]).withUnsafeBytes { TURN.channelData($0) } == nil)
    }

    @Test func closingDeletesTheAllocation() throws {
        var client = Self.allocated()
        let close = Self.sent(client.close(now: 10 * Self.second))
        #expect(close.count == 1 && close[0].method == TURN.refresh && close[0].attribute(.lifetime)?.uint32Value == 0)
        #expect(client.state == .closed && client.nextTimeout == nil)
    }
}
