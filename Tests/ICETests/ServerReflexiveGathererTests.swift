import Testing
import Wire
@testable import ICE
import STUN

/// Gathering against a simulated STUN server behind a simulated NAT, on a manual clock.
struct ServerReflexiveGathererTests {
    let base = ICECandidate.host(SocketAddress("192.168.10.20:40000")!)
    let server = SocketAddress("203.0.113.5:3478")!
    let mapped = SocketAddress("198.51.100.7:61234")!

    /// What a STUN server answers: the source it saw, XORed (RFC 8489 §14.2).
    func answer(_ datagram: [UInt8], seenFrom source: SocketAddress, error: Int? = nil) throws -> [UInt8] {
        let request = try datagram.withUnsafeBytes { try STUNMessage.decode($0) }
        #expect(request.messageClass == .request && request.method == STUNMessage.binding)
        #expect(request.attribute(.messageIntegrity) == nil, "a plain Binding request: no ICE credentials go to the STUN server")
        if let error {
            return STUNMessage(messageClass: .errorResponse, transactionID: request.transactionID,
                               attributes: [.errorCode(error, reason: "Try Alternate")]).encoded()
        }
        return STUNMessage(messageClass: .successResponse, transactionID: request.transactionID, attributes: [
            .xorMappedAddress(address: source.bytes, port: source.port, transactionID: request.transactionID),
        ]).encoded()
    }

    @Test func theMappedAddressBecomesAServerReflexiveCandidate() throws {
        var gatherer = ServerReflexiveGatherer(bases: [base], servers: [server])
        let actions = gatherer.handleTimeout(now: 0)
        guard case .send(let request, let from, let to) = try #require(actions.first) else { Issue.record("no request"); return }
        #expect(from == base.address && to == server && actions.count == 1)
        let consumed = gatherer.handle(datagram: try answer(request, seenFrom: mapped), from: server, at: base.address)
        #expect(consumed)
        #expect(gatherer.isFinished && gatherer.failures.isEmpty)
        let candidate = try #require(gatherer.candidates.first)
        #expect(candidate.kind == .srflx && candidate.address == mapped && candidate.relatedAddress == base.address)
        #expect(candidate.priority < base.priority)
        #expect(candidate.sdpValue.hasSuffix("198.51.100.7 61234 typ srflx raddr 192.168.10.20 rport 40000"))
    }

    @Test func lostRequestsAreRetransmittedThenGivenUp() {
        var gatherer = ServerReflexiveGatherer(bases: [base], servers: [server])
        var sends = 0
        var now: UInt64 = 0
        while !gatherer.isFinished && now < 10_000_000_000 {
            sends += gatherer.handleTimeout(now: now).count
            now += 10_000_000
        }
        #expect(sends == 3, "first request and two retransmissions")
        #expect(gatherer.isFinished && gatherer.candidates.isEmpty)
        #expect(gatherer.failures == ["STUN server 203.0.113.5:3478 did not answer"])
        #expect(now >= 1_750_000_000 && now <= 1_800_000_000, "gave up after 250 + 500 + 1000 ms, at \(now)")
    }

    @Test func strayAndForgedAnswersAreIgnored() throws {
        var gatherer = ServerReflexiveGatherer(bases: [base], servers: [server])
        guard case .send(let request, _, _) = gatherer.handleTimeout(now: 0).first else { Issue.record("no request"); return }
        let genuine = try answer(request, seenFrom: mapped)
        var otherTransaction = genuine
        otherTransaction[19] ^= 1
        let consumed = [
            gatherer.handle(datagram: genuine, from: SocketAddress("203.0.113.99:3478")!, at: base.address),  // another host
            gatherer.handle(datagram: Array(genuine.prefix(10)), from: server, at: base.address),  // truncated
            gatherer.handle(datagram: otherTransaction, from: server, at: base.address),  // unknown transaction
        ]
        #expect(consumed == [false, false, false])
        #expect(!gatherer.isFinished && gatherer.candidates.isEmpty)
    }

    @Test func anErrorAnswerIsReportedAndNoAddressEqualToItsBaseIsKept() throws {
        let second = ICECandidate.host(SocketAddress("10.0.0.2:40002")!, index: 1)
        var gatherer = ServerReflexiveGatherer(bases: [base, second], servers: [server])
        let requests = gatherer.handleTimeout(now: 0)
        #expect(requests.count == 2)
        for case .send(let request, let from, _) in requests {
            let reply = from == base.address ? try answer(request, seenFrom: from, error: nil) : try answer(request, seenFrom: from, error: 300)
            gatherer.handle(datagram: reply, from: server, at: from)
        }
        #expect(gatherer.isFinished)
        #expect(gatherer.candidates.isEmpty, "no NAT: the mapped address is the base itself (RFC 8445 §5.1.3)")
        #expect(gatherer.failures == ["STUN server 203.0.113.5:3478 answered 300 Try Alternate"])
    }

    @Test func onlyServersOfTheBasesAddressFamilyAreAsked() {
        let v6 = SocketAddress("[2001:db8::5]:3478")!
        var gatherer = ServerReflexiveGatherer(bases: [base], servers: [server, v6])
        let requests = gatherer.handleTimeout(now: 0)
        #expect(requests.count == 1)
    }
}
