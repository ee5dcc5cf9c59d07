import STUN
import Wire

/// Gathers server-reflexive candidates (RFC 8445 §5.1.1.1): a STUN Binding request from each
/// host base to each of the district's STUN servers, the XOR-MAPPED-ADDRESS of the answer is
/// the box's address as the world sees it, behind the school's NAT. Only servers named in the
/// provisioning file are ever asked (the box talks to district hosts only). Without I/O, like
/// ``ICEAgent``: datagrams and the time go in, datagrams to send and candidates come out.
///
/// Relayed candidates (TURN, RFC 8656) will come from the same place: a TURN allocation is a
/// Binding-like transaction to a configured server whose answer yields a `relay` candidate.
public struct ServerReflexiveGatherer {
    struct Transaction {
        var id: [UInt8]
        var base: ICECandidate
        var server: SocketAddress
        var sentAt: UInt64
        var attempt: Int
        var done = false
    }

    /// Retransmission delays (RFC 8489 §6.2.1, shortened: a box must not wait long to join).
    public var retransmissions: [UInt64] = [250, 500, 1000].map { $0 * 1_000_000 }
    var transactions: [Transaction] = []
    var randomBytes: (Int) -> [UInt8]
    public private(set) var candidates: [ICECandidate] = []
    /// Answers that were malformed, unexpected or carried an error code.
    public private(set) var failures: [String] = []

    /// One transaction per (host base of the same address family, server).
    public init(bases: [ICECandidate], servers: [SocketAddress], randomBytes: @escaping (Int) -> [UInt8] = ICEAgent.systemRandom) {
        self.randomBytes = randomBytes
        for base in bases where base.kind == .host {
            for server in servers where server.isIPv6 == base.address.isIPv6 {
                transactions.append(Transaction(id: randomBytes(12), base: base, server: server, sentAt: 0, attempt: -1))
            }
        }
    }

    /// True when every request was answered or gave up.
    public var isFinished: Bool { transactions.allSatisfy(\.done) }

    /// First requests and retransmissions that are due.
    public mutating func handleTimeout(now: UInt64) -> [ICEAgent.Action] {
        var actions: [ICEAgent.Action] = []
        for index in transactions.indices where !transactions[index].done {
            let transaction = transactions[index]
            if transaction.attempt >= 0 && now < transaction.sentAt + retransmissions[transaction.attempt] { continue }
            if transaction.attempt + 1 >= retransmissions.count {
                transactions[index].done = true
                failures.append("STUN server \(transaction.server) did not answer")
                continue
            }
            transactions[index].attempt += 1
            transactions[index].sentAt = now
            let request = STUNMessage(messageClass: .request, transactionID: transaction.id, attributes: [.software("classbox")])
            actions.append(.send(datagram: request.encoded(), from: transaction.base.address, to: transaction.server))
        }
        return actions
    }

    /// The earliest time ``handleTimeout(now:)`` has something to do; nil when finished.
    public var nextDeadline: UInt64? {
        transactions.filter { !$0.done }.map { $0.attempt < 0 ? 0 : $0.sentAt + retransmissions[$0.attempt] }.min()
    }

    /// A datagram that arrived on `local` from `source`; true when it belonged to gathering.
    @discardableResult
    public mutating func handle(datagram: [UInt8], from source: SocketAddress, at local: SocketAddress) -> Bool {
        guard let message = try? datagram.withUnsafeBytes({ try STUNMessage.decode($0) }),
              let index = transactions.firstIndex(where: { $0.id == message.transactionID && !$0.done }),
              transactions[index].server == source, transactions[index].base.address == local else { return false }
        transactions[index].done = true
        let transaction = transactions[index]
        guard message.messageClass == .successResponse else {
            let code = message.attribute(.errorCode)?.errorCodeValue
            failures.append("STUN server \(source) answered \(code.map { "\($0.code) \($0.reason)" } ?? "with an error")")
            return true
        }
        guard let mapped = message.attribute(.xorMappedAddress)?.xorMappedAddressValue(transactionID: message.transactionID) else {
            failures.append("STUN server \(source) answered without XOR-MAPPED-ADDRESS")
            return true
        }
        let address = SocketAddress(bytes: mapped.address, port: mapped.port)
        // §5.1.3: a server-reflexive address equal to its base (no NAT) or already known adds nothing.
        guard address != transaction.base.address, !candidates.contains(where: { $0.address == address }) else { return true }
        let preference = (transaction.base.priority >> 8) & 0xFFFF
        candidates.append(ICECandidate(foundation: (address.isIPv6 ? "4" : "3"), priority: ICECandidate.priority(kind: .srflx, localPreference: preference),
                                       address: address, kind: .srflx, relatedAddress: transaction.base.address))
        return true
    }
}
