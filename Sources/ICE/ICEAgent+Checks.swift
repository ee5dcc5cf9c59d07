import STUN
import Wire

extension ICEAgent {
    /// Runs what is due at `now`: paced checks, retransmissions, consent, the failure deadline.
    public mutating func handleTimeout(now: UInt64) -> [Action] {
        var actions: [Action] = []
        guard state == .checking || state == .connected else { return actions }
        for index in pairs.indices {
            guard let transaction = pairs[index].transaction,
                  now >= transaction.sentAt + configuration.retransmissions[transaction.attempt] else { continue }
            if transaction.attempt + 1 < configuration.retransmissions.count {
                pairs[index].transaction?.attempt += 1
                pairs[index].transaction?.sentAt = now
                actions.append(request(for: index, transactionID: transaction.id, nominating: transaction.nominating))
            } else {
                pairs[index].transaction = nil
                if transaction.consent { continue }  // consent is judged by its own deadline
                pairs[index].state = .failed
                if nominating == index { nominating = nil }
            }
        }
        if remoteCredentials != nil, now >= nextCheckAt, let index = nextPairToCheck() {
            actions.append(check(index, now: now, nominating: role == .controlling && nominating == index))
            nextCheckAt = now + configuration.pacing
        }
        if state == .connected {
            if now >= lastConsent + configuration.consentTimeout {
                return actions + fail("consent lost: no answer from the peer for \(configuration.consentTimeout / 1_000_000_000) s")
            }
            if now >= nextConsentAt, let selected {
                actions.append(check(selected, now: now, nominating: false, consent: true))
                scheduleConsent(now: now)
            }
        } else if let startedAt, now >= startedAt + configuration.connectTimeout {
            return actions + fail("no candidate pair worked within \(configuration.connectTimeout / 1_000_000_000) s")
        }
        return actions
    }

    /// Triggered checks first, then the best waiting pair.
    mutating func nextPairToCheck() -> Int? {
        while let index = triggered.first {
            triggered.removeFirst()
            if pairs[index].transaction == nil && pairs[index].state != .succeeded { return index }
            if role == .controlling && nominating == index && pairs[index].transaction == nil { return index }
        }
        let waiting = pairs.indices.filter { pairs[$0].state == .waiting && pairs[$0].transaction == nil }
        return waiting.max { pairPriority(pairs[$0]) < pairPriority(pairs[$1]) }
    }

    mutating func check(_ index: Int, now: UInt64, nominating: Bool, consent: Bool = false) -> Action {
        let id = randomBytes(12)
        pairs[index].transaction = .init(id: id, sentAt: now, attempt: 0, nominating: nominating, consent: consent)
        if !consent { pairs[index].state = .inProgress }
        return request(for: index, transactionID: id, nominating: nominating)
    }

    /// A Binding request for a pair (§7.1.1): USERNAME, PRIORITY of a peer-reflexive
    /// candidate of ours, our role and tie-breaker, USE-CANDIDATE when nominating.
    func request(for index: Int, transactionID: [UInt8], nominating: Bool) -> Action {
        let pair = pairs[index]
        let remote = remoteCredentials ?? ICECredentials(ufrag: "", password: "")
        var attributes: [STUNAttribute] = [
            .username("\(remote.ufrag):\(localCredentials.ufrag)"),
            .priority(ICECandidate.priority(kind: .prflx, localPreference: (pair.local.priority >> 8) & 0xFFFF)),
            role == .controlling ? .iceControlling(tieBreaker: tieBreaker) : .iceControlled(tieBreaker: tieBreaker),
        ]
        if nominating { attributes.append(.useCandidate) }
        let message = STUNMessage(messageClass: .request, transactionID: transactionID, attributes: attributes)
        return .send(datagram: message.encoded(integrityKey: Array(remote.password.utf8)), from: pair.local.address, to: pair.remote.address)
    }

    mutating func scheduleConsent(now: UInt64) {
        let jitter = Double(randomBytes(1)[0]) / 255 * 0.4 + 0.8
        nextConsentAt = now + UInt64(Double(configuration.consentInterval) * jitter)
    }

    mutating func select(_ index: Int, now: UInt64) -> [Action] {
        guard selected != index else { return [] }
        selected = index
        nominating = nil
        lastConsent = now
        scheduleConsent(now: now)
        var actions: [Action] = [.selected(local: pairs[index].local.address, remote: pairs[index].remote.address)]
        if state != .connected {
            state = .connected
            actions.append(.stateChanged(.connected))
        }
        return actions
    }

    mutating func fail(_ reason: String) -> [Action] {
        state = .failed(reason: reason)
        selected = nil
        for index in pairs.indices { pairs[index].transaction = nil }
        return [.stateChanged(state)]
    }
}
