import Crypto
import STUN
import Wire

/// One allocation on one of the district's TURN servers (RFC 8656), without I/O: messages
/// from the server and the time go in, messages to the server and events come out, as in
/// ``ICEAgent``. It keeps what the ICE agent needs alive for as long as the call lasts: the
/// allocation (Refresh before its lifetime ends), a permission for every peer address the
/// checks go to (CreatePermission, refreshed every 4 of its 5 minutes) and a channel for the
/// pair media uses (ChannelBind, refreshed every 9 of its 10 minutes), so media carries a
/// 4-octet ChannelData header instead of a 36-octet Send indication.
///
/// Long-term credentials (RFC 8489 §9.2): the first Allocate goes without them, the 401 names
/// the realm and a nonce, the key is MD5(username:realm:password). A second 401 means the
/// credentials are wrong; a 438 (coturn sends one every 10 minutes) brings a new nonce and
/// the request goes again once.
public struct TURNClient {
    public struct Credentials: Sendable, Equatable {
        public var username: String
        public var password: String
        public init(username: String, password: String) {
            self.username = username
            self.password = password
        }
    }

    public enum State: Sendable, Equatable {
        case new, allocating, allocated
        case failed(String)
        case closed
    }

    public enum Event: Sendable, Equatable {
        /// A message for the server.
        case send([UInt8])
        case allocated(relayed: SocketAddress, mapped: SocketAddress?)
        case channelBound(peer: SocketAddress, channel: UInt16)
        /// The allocation is lost or was never made: the relayed candidate is gone.
        case failed(String)
    }

    /// What a message from the server was.
    public enum Incoming: Sendable, Equatable {
        case handled([Event])
        /// A Data indication: `data` arrived at the relay from `peer`.
        case data(peer: SocketAddress, data: [UInt8])
        /// Not STUN, not for a request of ours, or failing its integrity check: dropped.
        case dropped
    }

    public struct Timing: Sendable {
        /// Retransmissions of a request over UDP (RFC 8489 §6.2.1: RTO 500 ms, doubling).
        public var retransmissions: [UInt64] = [500, 1000, 2000, 4000].map { $0 * 1_000_000 }
        public var requestedLifetime: UInt32 = 600
        /// Permissions last 300 s, channels 600 s (§9, §12): renewed this long before.
        public var permissionRefresh: UInt64 = 240_000_000_000
        public var channelRefresh: UInt64 = 540_000_000_000
        /// A permission or channel request that failed goes again after this.
        public var retryAfterFailure: UInt64 = 5_000_000_000
        public init() {}
    }

    enum Purpose: Equatable {
        case allocate, refresh(lifetime: UInt32), permission([[UInt8]]), channel(SocketAddress, UInt16)
    }

    struct Transaction {
        var id: [UInt8]
        var purpose: Purpose
        var bytes: [UInt8]
        var sentAt: UInt64
        var attempt = 0
        /// Sent again after a 438 already: a second one fails the request.
        var afterStaleNonce = false
    }

    struct Channel {
        var number: UInt16
        var bound = false
        var dueAt: UInt64
    }

    public let server: SocketAddress
    let credentials: Credentials
    public var timing: Timing
    var randomBytes: (Int) -> [UInt8]
    public private(set) var state = State.new
    public private(set) var relayedAddress: SocketAddress?
    public private(set) var mappedAddress: SocketAddress?
    var realm: String?
    var nonce: String?
    var key: [UInt8]?
    var transactions: [Transaction] = []
    var refreshDueAt: UInt64?
    /// Peer IP address → when its next CreatePermission is due.
    var permissions: [[UInt8]: UInt64] = [:]
    /// Peer addresses the server refused (403): not asked for again.
    var refusedPeers: Set<[UInt8]> = []
    var channels: [SocketAddress: Channel] = [:]
    /// Malformed messages, answers to nothing of ours, answers failing their integrity check.
    public private(set) var droppedMessages = 0
    /// Refused permissions and channels, for the log (the call goes on without them).
    public private(set) var problems: [String] = []

    public init(server: SocketAddress, credentials: Credentials, timing: Timing = .init(),
                randomBytes: @escaping (Int) -> [UInt8] = { count in
                    var generator = SystemRandomNumberGenerator()
                    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
                }) {
        self.server = server
        self.credentials = credentials
        self.timing = timing
        self.randomBytes = randomBytes
    }

    /// The first Allocate, without credentials.
    public mutating func start(now: UInt64) -> [Event] {
        guard state == .new else { return [] }
        state = .allocating
        return request(.allocate, now: now)
    }

    /// Peers the relay must let through (every candidate address of the bridge, before its
    /// checks): one CreatePermission for the addresses not yet permitted, kept fresh after.
    public mutating func permit(_ peers: [SocketAddress], now: UInt64) -> [Event] {
        for peer in peers where permissions[peer.bytes] == nil && !refusedPeers.contains(peer.bytes) { permissions[peer.bytes] = now }
        return reconcile(now: now)
    }

    /// A channel for the peer media goes to; ``channel(for:)`` answers once the server agreed.
    public mutating func bind(_ peer: SocketAddress, now: UInt64) -> [Event] {
        if channels[peer] == nil {
            let used = Set(channels.values.map(\.number))
            guard let number = TURN.channels.first(where: { !used.contains($0) }) else { return [] }
            channels[peer] = Channel(number: number, dueAt: now)
        }
        return reconcile(now: now)
    }

    /// The bound channel to `peer`, or nil while media must go in Send indications.
    public func channel(for peer: SocketAddress) -> UInt16? {
        channels[peer].flatMap { $0.bound ? $0.number : nil }
    }

    /// The peer behind a bound channel (for ChannelData from the server).
    public func peer(onChannel number: UInt16) -> SocketAddress? {
        channels.first { $0.value.number == number && $0.value.bound }?.key
    }

    /// Deletes the allocation (Refresh with lifetime 0), once, without waiting for an answer.
    public mutating func close(now: UInt64) -> [Event] {
        guard state == .allocated else { state = .closed; return [] }
        let events = request(.refresh(lifetime: 0), now: now)
        transactions.removeAll()
        state = .closed
        return events
    }

    /// When ``handleTimeout(now:)`` has something to do.
    public var nextTimeout: UInt64? {
        var deadlines = transactions.map { $0.sentAt + timing.retransmissions[$0.attempt] }
        if state == .allocated {
            if let refreshDueAt, !pending(where: { if case .refresh = $0 { return true } else { return false } }) { deadlines.append(refreshDueAt) }
            deadlines += permissions.filter { ip, _ in relays(ip) && !permissionPending(ip) }.map(\.value)
            deadlines += channels.filter { peer, _ in !channelPending(peer) }.map(\.value.dueAt)
        }
        return deadlines.min()
    }

    public mutating func handleTimeout(now: UInt64) -> [Event] {
        var events: [Event] = []
        for index in transactions.indices.reversed() {
            let transaction = transactions[index]
            guard now >= transaction.sentAt + timing.retransmissions[transaction.attempt] else { continue }
            if transaction.attempt + 1 < timing.retransmissions.count {
                transactions[index].attempt += 1
                transactions[index].sentAt = now
                events.append(.send(transaction.bytes))
            } else {
                transactions.remove(at: index)
                events += failed(transaction.purpose, because: "no answer from TURN server \(server)", now: now)
                // A lost allocation took every other transaction with it.
                if case .failed = state { return events }
            }
        }
        return events + reconcile(now: now)
    }

    /// A message that came from the server.
    public mutating func handle(_ bytes: UnsafeRawBufferPointer, now: UInt64) -> Incoming {
        guard let message = try? STUNMessage.decode(bytes) else { droppedMessages += 1; return .dropped }
        if message.messageClass == .indication {
            guard message.method == TURN.data, let peer = message.attribute(.xorPeerAddress)?.socketAddress(transactionID: message.transactionID),
                  let data = message.attribute(.data)?.value else { droppedMessages += 1; return .dropped }
            return .data(peer: peer, data: data)
        }
        guard let index = transactions.firstIndex(where: { $0.id == message.transactionID }),
              message.messageClass == .successResponse || message.messageClass == .errorResponse else { droppedMessages += 1; return .dropped }
        // Once credentials were sent, a success must carry MESSAGE-INTEGRITY under the key
        // (errors such as 401 and 438 may not); one that fails it is not the server's.
        if let key {
            if message.attribute(.messageIntegrity) != nil {
                do { try STUNMessage.verifyIntegrity(bytes, key: key) } catch { droppedMessages += 1; return .dropped }
            } else if message.messageClass == .successResponse {
                droppedMessages += 1
                return .dropped
            }
        }
        let transaction = transactions.remove(at: index)
        if message.messageClass == .successResponse { return .handled(succeeded(transaction.purpose, message, now: now)) }
        let (code, reason) = message.attribute(.errorCode)?.errorCodeValue ?? (0, "")
        let phrase = "\(code) \(String(reason.prefix { $0 != "\0" }))"
        switch code {
        case 401 where transaction.purpose == .allocate && key == nil:
            guard let realm = message.attribute(.realm)?.stringValue, let nonce = message.attribute(.nonce)?.stringValue else {
                return .handled(failed(.allocate, because: "TURN server \(server) asked for credentials without a realm and nonce", now: now))
            }
            learn(realm: realm, nonce: nonce)
            return .handled(request(.allocate, now: now))
        case 401 where transaction.purpose == .allocate:
            return .handled(failed(.allocate, because: "TURN server \(server) refused the user name or password (401)", now: now))
        case 438 where !transaction.afterStaleNonce:
            guard let nonce = message.attribute(.nonce)?.stringValue else { break }
            learn(realm: message.attribute(.realm)?.stringValue ?? realm ?? "", nonce: nonce)
            return .handled(request(transaction.purpose, now: now, afterStaleNonce: true))
        default:
            break
        }
        let what = code == 486 ? "its allocation quota is reached (486)" : code == 403 ? "it refuses that peer address (403 \(reason.prefix { $0 != "\0" }))" : phrase
        return .handled(failed(transaction.purpose, because: "TURN server \(server): \(what)", code: code, now: now))
    }

    // MARK: - Requests

    private mutating func learn(realm: String, nonce: String) {
        self.realm = realm
        self.nonce = nonce
        key = Array("\(credentials.username):\(realm):\(credentials.password)".utf8).withUnsafeBytes { Digest.md5($0) }
    }

    private mutating func request(_ purpose: Purpose, now: UInt64, afterStaleNonce: Bool = false) -> [Event] {
        let id = randomBytes(12)
        var attributes: [STUNAttribute] = []
        switch purpose {
        case .allocate:
            attributes = [.requestedTransport(TURN.udp), .lifetime(seconds: timing.requestedLifetime)]
        case .refresh(let lifetime):
            attributes = [.lifetime(seconds: lifetime)]
        case .permission(let ips):
            attributes = ips.map { .xorAddress(.xorPeerAddress, address: $0, port: 0, transactionID: id) }
        case .channel(let peer, let number):
            attributes = [.channelNumber(number), .xorPeerAddress(peer, transactionID: id)]
        }
        if let realm, let nonce { attributes += [.username(credentials.username), .realm(realm), .nonce(nonce)] }
        attributes.append(.software("classbox"))
        let method: UInt16 = switch purpose {
        case .allocate: TURN.allocate
        case .refresh: TURN.refresh
        case .permission: TURN.createPermission
        case .channel: TURN.channelBind
        }
        let bytes = STUNMessage(method: method, messageClass: .request, transactionID: id, attributes: attributes).encoded(integrityKey: key)
        transactions.append(Transaction(id: id, purpose: purpose, bytes: bytes, sentAt: now, afterStaleNonce: afterStaleNonce))
        return [.send(bytes)]
    }

    private mutating func succeeded(_ purpose: Purpose, _ message: STUNMessage, now: UInt64) -> [Event] {
        let lifetime = message.attribute(.lifetime)?.uint32Value
        switch purpose {
        case .allocate:
            guard let relayed = message.attribute(.xorRelayedAddress)?.socketAddress(transactionID: message.transactionID) else {
                return failed(.allocate, because: "TURN server \(server) allocated without a relayed address", now: now)
            }
            relayedAddress = relayed
            mappedAddress = message.attribute(.xorMappedAddress)?.socketAddress(transactionID: message.transactionID)
            state = .allocated
            scheduleRefresh(lifetime: lifetime ?? timing.requestedLifetime, now: now)
            return [.allocated(relayed: relayed, mapped: mappedAddress)] + reconcile(now: now)
        case .refresh(let asked):
            if asked > 0 { scheduleRefresh(lifetime: lifetime ?? asked, now: now) }
            return []
        case .permission(let ips):
            for ip in ips where permissions[ip] != nil { permissions[ip] = now + timing.permissionRefresh }
            return []
        case .channel(let peer, let number):
            guard channels[peer]?.number == number else { return [] }
            channels[peer]?.bound = true
            channels[peer]?.dueAt = now + timing.channelRefresh
            // A ChannelBind installs or refreshes the peer's permission too (§12.2).
            if permissions[peer.bytes] != nil { permissions[peer.bytes] = max(permissions[peer.bytes]!, now + timing.permissionRefresh) }
            return [.channelBound(peer: peer, channel: number)]
        }
    }

    private mutating func failed(_ purpose: Purpose, because reason: String, code: Int = 0, now: UInt64) -> [Event] {
        switch purpose {
        case .allocate, .refresh:
            guard state != .closed else { return [] }
            state = .failed(reason)
            transactions.removeAll()
            return [.failed(reason)]
        case .permission(let ips):
            note(reason)
            for ip in ips where permissions[ip] != nil {
                // A refused address stays refused (coturn's denied-peer-ip); anything else is tried again.
                if code == 403 {
                    permissions[ip] = nil
                    refusedPeers.insert(ip)
                } else {
                    permissions[ip] = now + timing.retryAfterFailure
                }
            }
        case .channel(let peer, _):
            note(reason)
            channels[peer]?.dueAt = now + timing.retryAfterFailure
        }
        return []
    }

    /// Keeps a problem for the log once, and not without end.
    private mutating func note(_ reason: String) {
        guard !problems.contains(reason), problems.count < 20 else { return }
        problems.append(reason)
    }

    private mutating func scheduleRefresh(lifetime: UInt32, now: UInt64) {
        // A minute before the end, or halfway through a short lifetime.
        let seconds = UInt64(lifetime)
        refreshDueAt = now + (seconds > 120 ? seconds - 60 : seconds / 2) * 1_000_000_000
    }

    /// Sends what is due: the allocation's refresh, permissions, channels.
    private mutating func reconcile(now: UInt64) -> [Event] {
        guard state == .allocated else { return [] }
        var events: [Event] = []
        if let refreshDueAt, now >= refreshDueAt, !pending(where: { if case .refresh = $0 { return true } else { return false } }) {
            self.refreshDueAt = nil
            events += request(.refresh(lifetime: timing.requestedLifetime), now: now)
        }
        // One request per address: the server refuses a request whole when it refuses one of
        // its addresses (RFC 8656 §10.2), and the bridge's private addresses often are.
        let due = permissions.filter { ip, dueAt in relays(ip) && now >= dueAt && !permissionPending(ip) }.map(\.key).sorted { $0.lexicographicallyPrecedes($1) }
        for ip in due { events += request(.permission([ip]), now: now) }
        for (peer, channel) in channels where now >= channel.dueAt && !channelPending(peer) {
            events += request(.channel(peer, channel.number), now: now)
        }
        return events
    }

    /// A relay reaches peers of its own address family only.
    private func relays(_ ip: [UInt8]) -> Bool { relayedAddress.map { $0.bytes.count == ip.count } ?? false }

    private func pending(where matches: (Purpose) -> Bool) -> Bool { transactions.contains { matches($0.purpose) } }

    private func permissionPending(_ ip: [UInt8]) -> Bool {
        pending { if case .permission(let ips) = $0 { return ips.contains(ip) } else { return false } }
    }

    private func channelPending(_ peer: SocketAddress) -> Bool {
        pending { if case .channel(let other, _) = $0 { return other == peer } else { return false } }
    }
}
