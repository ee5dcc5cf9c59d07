import Testing
import Wire
@testable import ICE
@testable import STUN

/// Two ICE agents on a simulated network with a manual clock: no sockets, no sleeps.
struct SimulatedNetwork {
    struct Datagram {
        var at: UInt64
        var bytes: [UInt8]
        var from: SocketAddress
        var to: SocketAddress
    }

    var agents: [ICEAgent]
    var now: UInt64 = 0
    var inFlight: [Datagram] = []
    var latency: UInt64 = 5_000_000
    /// Decides per datagram whether it is lost (sent count so far, from, to).
    var drop: (Int, SocketAddress, SocketAddress) -> Bool = { _, _, _ in false }
    var sent = 0
    var events: [(agent: Int, action: ICEAgent.Action)] = []

    init(_ agents: [ICEAgent]) { self.agents = agents }

    func owner(of address: SocketAddress) -> Int? {
        agents.firstIndex { $0.localCandidates.contains { $0.address == address } }
    }

    mutating func apply(_ actions: [ICEAgent.Action], from agent: Int) {
        for action in actions {
            events.append((agent, action))
            if case .send(let bytes, let from, let to) = action {
                defer { sent += 1 }
                if drop(sent, from, to) { continue }
                inFlight.append(Datagram(at: now + latency, bytes: bytes, from: from, to: to))
            }
        }
    }

    /// Runs events in time order until `deadline`.
    mutating func run(until deadline: UInt64) {
        while true {
            let nextDelivery = inFlight.map(\.at).min()
            let nextTimeout = agents.compactMap(\.nextTimeout).min()
            guard let next = [nextDelivery, nextTimeout].compactMap({ $0 }).min(), next <= deadline else {
                now = deadline
                return
            }
            now = max(now, next)
            if let index = inFlight.firstIndex(where: { $0.at <= now }) {
                let datagram = inFlight.remove(at: index)
                guard let target = owner(of: datagram.to) else { continue }
                apply(agents[target].handle(datagram: datagram.bytes, from: datagram.from, at: datagram.to, now: now), from: target)
            } else {
                for index in agents.indices where (agents[index].nextTimeout ?? .max) <= now {
                    apply(agents[index].handleTimeout(now: now), from: index)
                }
            }
        }
    }

    func selections(_ agent: Int) -> [(SocketAddress, SocketAddress)] {
        events.compactMap { event in
            guard event.agent == agent, case .selected(let local, let remote) = event.action else { return nil }
            return (local, remote)
        }
    }
}

let boxAddress = SocketAddress(host: "10.0.0.2", port: 40000)!
let bridgeAddress = SocketAddress(host: "192.0.2.10", port: 10000)!
let ms: UInt64 = 1_000_000
let seconds: UInt64 = 1_000_000_000

func agent(_ role: ICEAgent.Role, _ address: SocketAddress, _ credentials: ICECredentials, seed: UInt8) -> ICEAgent {
    var counter = UInt64(seed) << 32
    return ICEAgent(role: role, localCredentials: credentials, localCandidates: [.host(address)], randomBytes: { count in
        counter += 1
        return (0..<count).map { UInt8(truncatingIfNeeded: (counter &* 0x9E37_79B9_7F4A_7C15) >> (8 * ($0 % 8))) ^ UInt8($0) }
    })
}

@Suite struct ICEAgentTests {
    let boxCredentials = ICECredentials(ufrag: "box1", password: "box-password-0123456789")
    let bridgeCredentials = ICECredentials(ufrag: "jvb1", password: "bridge-password-012345")

    /// The box (controlled) against a controlling peer that knows the box's candidate.
    func connect(_ network: inout SimulatedNetwork, boxKnowsBridge: Bool = true, bridgeKnowsBox: Bool = true) {
        let bridgeCandidates = boxKnowsBridge ? network.agents[1].localCandidates : []
        let boxCandidates = bridgeKnowsBox ? network.agents[0].localCandidates : []
        network.apply(network.agents[0].setRemote(credentials: bridgeCredentials, candidates: bridgeCandidates, now: 0), from: 0)
        network.apply(network.agents[1].setRemote(credentials: boxCredentials, candidates: boxCandidates, now: 0), from: 1)
    }

    @Test func controlledAndControllingAgentsSelectTheSamePair() {
        var network = SimulatedNetwork([agent(.controlled, boxAddress, boxCredentials, seed: 1), agent(.controlling, bridgeAddress, bridgeCredentials, seed: 2)])
        connect(&network)
        network.run(until: 1 * seconds)
        #expect(network.agents[0].state == .connected && network.agents[1].state == .connected)
        #expect(network.agents[0].selectedPair?.remote == bridgeAddress)
        #expect(network.agents[1].selectedPair?.remote == boxAddress)
        #expect(network.selections(0).count == 1 && network.selections(1).count == 1)
    }

    /// The Jitsi bridge learns the box's address only from its checks (peer-reflexive).
    @Test func theControllingSideLearnsAPeerReflexiveCandidate() {
        var network = SimulatedNetwork([agent(.controlled, boxAddress, boxCredentials, seed: 1), agent(.controlling, bridgeAddress, bridgeCredentials, seed: 2)])
        connect(&network, bridgeKnowsBox: false)
        network.run(until: 2 * seconds)
        #expect(network.agents[1].remoteCandidates.map(\.kind) == [.prflx])
        #expect(network.agents[0].state == .connected && network.agents[1].state == .connected)
    }

    @Test func lostChecksAreRetransmitted() {
        var network = SimulatedNetwork([agent(.controlled, boxAddress, boxCredentials, seed: 1), agent(.controlling, bridgeAddress, bridgeCredentials, seed: 2)])
        network.drop = { sent, _, _ in sent < 4 }
        connect(&network)
        network.run(until: 3 * seconds)
        #expect(network.agents[0].state == .connected && network.agents[1].state == .connected)
    }

    @Test func aRoleConflictIsResolvedByTheTieBreaker() {
        var network = SimulatedNetwork([agent(.controlling, boxAddress, boxCredentials, seed: 1), agent(.controlling, bridgeAddress, bridgeCredentials, seed: 2)])
        connect(&network)
        network.run(until: 2 * seconds)
        #expect(network.agents[0].state == .connected && network.agents[1].state == .connected)
        #expect(network.agents[0].role != network.agents[1].role)
    }

    @Test func wrongCredentialsNeverConnectAndFailAfterTheTimeout() {
        var network = SimulatedNetwork([agent(.controlled, boxAddress, boxCredentials, seed: 1), agent(.controlling, bridgeAddress, bridgeCredentials, seed: 2)])
        network.apply(network.agents[0].setRemote(credentials: bridgeCredentials, candidates: network.agents[1].localCandidates, now: 0), from: 0)
        let wrong = ICECredentials(ufrag: "box1", password: "not-the-password-00000")
        network.apply(network.agents[1].setRemote(credentials: wrong, candidates: network.agents[0].localCandidates, now: 0), from: 1)
        network.run(until: 25 * seconds)
        #expect(network.agents[0].droppedMessages > 0)
        guard case .failed = network.agents[1].state else { Issue.record("expected failure, got \(network.agents[1].state)"); return }
        guard case .failed = network.agents[0].state else { Issue.record("expected failure, got \(network.agents[0].state)"); return }
    }

    /// RFC 7675: consent is refreshed every ~5 s; without answers for 30 s, sending must stop.
    @Test func consentIsRefreshedAndItsLossIsReported() {
        var network = SimulatedNetwork([agent(.controlled, boxAddress, boxCredentials, seed: 1), agent(.controlling, bridgeAddress, bridgeCredentials, seed: 2)])
        connect(&network)
        network.run(until: 60 * seconds)
        #expect(network.agents[0].state == .connected, "consent refreshed for a minute")
        let requestsBefore = network.sent
        #expect(requestsBefore > 20)
        // The peer goes silent (it crashed, or the network dropped it).
        network.drop = { _, from, _ in from == bridgeAddress }
        network.run(until: 60 * seconds + 29 * seconds)
        #expect(network.agents[0].state == .connected)
        network.run(until: 60 * seconds + 36 * seconds)
        guard case .failed(let reason) = network.agents[0].state else { Issue.record("consent loss not reported"); return }
        #expect(reason.contains("consent lost"))
    }

    @Test func garbageIsDroppedAndCounted() {
        var box = agent(.controlled, boxAddress, boxCredentials, seed: 1)
        #expect(box.handle(datagram: [0, 1, 2, 3], from: bridgeAddress, at: boxAddress, now: 0).isEmpty)
        let unsolicited = STUNMessage(messageClass: .successResponse, transactionID: [UInt8](repeating: 7, count: 12)).encoded()
        #expect(box.handle(datagram: unsolicited, from: bridgeAddress, at: boxAddress, now: 0).isEmpty)
        #expect(box.droppedMessages == 2)
    }

    @Test func candidatesRoundTripThroughSDP() throws {
        let host = ICECandidate.host(boxAddress)
        #expect(host.sdpValue == "1 1 udp 2130706431 10.0.0.2 40000 typ host")
        #expect(ICECandidate(sdp: "a=candidate:" + host.sdpValue) == host)
        let srflx = try #require(ICECandidate(sdp: "candidate:842163049 1 udp 1677729535 203.0.113.7 61765 typ srflx raddr 10.0.0.2 rport 61765 generation 0"))
        #expect(srflx.kind == .srflx && srflx.relatedAddress == SocketAddress(host: "10.0.0.2", port: 61765))
        #expect(ICECandidate(sdp: "1 1 tcp 1518280447 192.0.2.1 443 typ host tcptype passive") == nil)
        #expect(ICECandidate.priority(kind: .host, localPreference: 65535) == 2_130_706_431)
    }
}

@Suite struct ICERestartTests {
    @Test func afterARestartOnlyTheNewCredentialsWork() {
        let box1 = ICECredentials(ufrag: "box1", password: "box-password-0123456789")
        let bridge1 = ICECredentials(ufrag: "jvb1", password: "bridge-password-012345")
        var network = SimulatedNetwork([agent(.controlled, boxAddress, box1, seed: 1), agent(.controlling, bridgeAddress, bridge1, seed: 2)])
        network.apply(network.agents[0].setRemote(credentials: bridge1, candidates: network.agents[1].localCandidates, now: 0), from: 0)
        network.apply(network.agents[1].setRemote(credentials: box1, candidates: network.agents[0].localCandidates, now: 0), from: 1)
        network.run(until: 1 * seconds)
        #expect(network.agents[0].state == .connected)

        let box2 = ICECredentials(ufrag: "box2", password: "box-password-second-000")
        let bridge2 = ICECredentials(ufrag: "jvb2", password: "bridge-password-second")
        network.apply(network.agents[0].restart(localCredentials: box2, remoteCredentials: bridge2,
                                                candidates: network.agents[1].localCandidates, now: network.now), from: 0)
        network.apply(network.agents[1].restart(localCredentials: bridge2, remoteCredentials: box2,
                                                candidates: network.agents[0].localCandidates, now: network.now), from: 1)
        let selectionsBefore = network.selections(0).count
        network.run(until: 2 * seconds)
        #expect(network.agents[0].state == .connected && network.agents[1].state == .connected)
        #expect(network.selections(0).count == selectionsBefore + 1, "a pair is selected again under the new credentials")
        #expect(network.agents[0].localCredentials == box2)
        // A check under the old credentials is refused now.
        let stale = STUNMessage(messageClass: .request, transactionID: [UInt8](repeating: 3, count: 12),
                                attributes: [.username("box1:jvb1"), .iceControlling(tieBreaker: 1)])
            .encoded(integrityKey: Array(box1.password.utf8))
        let dropped = network.agents[0].droppedMessages
        _ = network.agents[0].handle(datagram: stale, from: bridgeAddress, at: boxAddress, now: network.now)
        #expect(network.agents[0].droppedMessages == dropped + 1)
    }
}
