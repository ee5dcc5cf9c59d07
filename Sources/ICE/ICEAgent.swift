import STUN
import Wire

/// A full ICE agent (RFC 8445) for one component over UDP, without I/O: datagrams and the
/// time go in, datagrams to send and state changes come out. Both roles: controlled (what
/// the Jitsi bridge, always controlling, expects) and controlling (towards an ICE-lite or
/// answering peer). Consent freshness (RFC 7675) keeps the selected pair alive.
///
/// Time is monotonic nanoseconds, supplied by the caller, so tests run on a manual clock.
public struct ICEAgent {
    public enum Role: Sendable, Equatable { case controlling, controlled }

    public enum State: Sendable, Equatable {
        case new, checking, connected
        /// No pair works, or consent was lost: media must stop.
        case failed(reason: String)
    }

    public enum Action: Sendable, Equatable {
        /// Send `datagram` from the socket of local candidate `from` to `to`.
        case send(datagram: [UInt8], from: SocketAddress, to: SocketAddress)
        case stateChanged(State)
        /// Media now goes from `local` to `remote`.
        case selected(local: SocketAddress, remote: SocketAddress)
    }

    public struct Configuration: Sendable {
        /// Ta: pacing of new checks (RFC 8445 §14.2).
        public var pacing: UInt64 = 50_000_000
        /// Retransmission delays of one check; after the last the pair fails.
        public var retransmissions: [UInt64] = [100, 200, 400, 800, 1600].map { $0 * 1_000_000 }
        /// Consent requests are sent this often, ±20 % (RFC 7675 §5.1).
        public var consentInterval: UInt64 = 5_000_000_000
        /// Without a consent response for this long, sending must stop (RFC 7675 §5.1).
        public var consentTimeout: UInt64 = 30_000_000_000
        /// How long to wait for any working pair (peer-reflexive ones included) before failing.
        public var connectTimeout: UInt64 = 20_000_000_000
        public init() {}
    }

    public internal(set) var role: Role
    public internal(set) var state: State = .new
    public internal(set) var localCredentials: ICECredentials
    public internal(set) var remoteCredentials: ICECredentials?
    public let localCandidates: [ICECandidate]
    public internal(set) var remoteCandidates: [ICECandidate] = []
    let configuration: Configuration
    let tieBreaker: UInt64
    var randomBytes: (Int) -> [UInt8]
    var pairs: [CandidatePair] = []
    var triggered: [Int] = []
    var nextCheckAt: UInt64 = 0
    var startedAt: UInt64?
    public internal(set) var selected: Int?
    var nominating: Int?
    var lastConsent: UInt64 = 0
    var nextConsentAt: UInt64 = 0
    /// Malformed or unauthenticated STUN messages, dropped.
    public internal(set) var droppedMessages = 0

    public init(role: Role, localCredentials: ICECredentials, localCandidates: [ICECandidate], configuration: Configuration = .init(),
                randomBytes: @escaping (Int) -> [UInt8] = ICEAgent.systemRandom) {
        self.role = role
        self.localCredentials = localCredentials
        self.localCandidates = localCandidates
        self.configuration = configuration
        self.randomBytes = randomBytes
        tieBreaker = randomBytes(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    public static func systemRandom(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// The pair media uses, once selected.
    public var selectedPair: (local: SocketAddress, remote: SocketAddress)? {
        selected.map { (pairs[$0].local.address, pairs[$0].remote.address) }
    }

    /// Sets the peer's credentials and candidates (from SDP or Jingle) and starts checking.
    public mutating func setRemote(credentials: ICECredentials, candidates: [ICECandidate], now: UInt64) -> [Action] {
        remoteCredentials = credentials
        var actions: [Action] = []
        for candidate in candidates { actions += addRemoteCandidate(candidate, now: now) }
        return actions + start(now: now)
    }

    /// ICE restart (RFC 8445 §9): new credentials on both sides and checks from scratch.
    /// Media stays on the current pair until a new one is selected.
    public mutating func restart(localCredentials: ICECredentials, remoteCredentials: ICECredentials, candidates: [ICECandidate],
                                 now: UInt64) -> [Action] {
        let keep = selectedPair
        self.localCredentials = localCredentials
        remoteCandidates = []
        pairs = []
        triggered = []
        nominating = nil
        selected = nil
        startedAt = nil
        state = .new
        var actions = setRemote(credentials: remoteCredentials, candidates: candidates, now: now)
        if let keep, pairs.contains(where: { $0.local.address == keep.local && $0.remote.address == keep.remote }) {
            // The old pair keeps its consent until the new checks decide.
            lastConsent = now
        }
        actions.append(.stateChanged(state))
        return actions
    }

    /// A candidate that arrived later (trickle, Jingle transport-info).
    public mutating func addRemoteCandidate(_ candidate: ICECandidate, now: UInt64) -> [Action] {
        guard candidate.component == 1, !remoteCandidates.contains(where: { $0.address == candidate.address }) else { return [] }
        remoteCandidates.append(candidate)
        for local in localCandidates where local.address.isIPv6 == candidate.address.isIPv6 {
            addPair(local: local, remote: candidate)
        }
        return []
    }

    mutating func start(now: UInt64) -> [Action] {
        guard startedAt == nil else { return [] }
        startedAt = now
        nextCheckAt = now
        state = .checking
        return [.stateChanged(.checking)]
    }

    @discardableResult
    mutating func addPair(local: ICECandidate, remote: ICECandidate) -> Int {
        if let existing = pairs.firstIndex(where: { $0.local.address == local.address && $0.remote.address == remote.address }) {
            return existing
        }
        pairs.append(CandidatePair(local: local, remote: remote))
        // Keep the indices stable (they are referenced); order of checking is by priority when picked.
        return pairs.count - 1
    }

    /// RFC 8445 §6.1.2.3: 2^32·min(G, D) + 2·max(G, D) + (G > D ? 1 : 0), G = controlling side's.
    func pairPriority(_ pair: CandidatePair) -> UInt64 {
        let g = UInt64(role == .controlling ? pair.local.priority : pair.remote.priority)
        let d = UInt64(role == .controlling ? pair.remote.priority : pair.local.priority)
        return (min(g, d) << 32) + 2 * max(g, d) + (g > d ? 1 : 0)
    }

    /// When `handleTimeout` wants to be called next.
    public var nextTimeout: UInt64? {
        var deadlines: [UInt64] = []
        if state == .checking || state == .connected {
            if !triggered.isEmpty || pairs.contains(where: { $0.state == .waiting }) { deadlines.append(nextCheckAt) }
            deadlines += pairs.compactMap { pair in pair.transaction.map { $0.sentAt + configuration.retransmissions[$0.attempt] } }
        }
        if state == .checking, let startedAt { deadlines.append(startedAt + configuration.connectTimeout) }
        if state == .connected { deadlines += [nextConsentAt, lastConsent + configuration.consentTimeout] }
        return deadlines.min()
    }
}

/// A local and a remote candidate, and where their connectivity check stands.
struct CandidatePair {
    enum CheckState { case waiting, inProgress, succeeded, failed }

    struct Transaction {
        var id: [UInt8]
        var sentAt: UInt64
        var attempt: Int
        var nominating: Bool
        var consent: Bool
    }

    var local: ICECandidate
    var remote: ICECandidate
    var state = CheckState.waiting
    var transaction: Transaction?
    /// The controlling peer sent USE-CANDIDATE on this pair.
    var nominatedByPeer = false
}
