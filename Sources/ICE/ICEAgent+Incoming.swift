import STUN
import Wire

extension ICEAgent {
    /// A STUN datagram that arrived on local candidate `local` from `source`.
    public mutating func handle(datagram: [UInt8], from source: SocketAddress, at local: SocketAddress, now: UInt64) -> [Action] {
        let message: STUNMessage
        do {
            message = try datagram.withUnsafeBytes { try STUNMessage.decode($0) }
        } catch {
            droppedMessages += 1
            return []
        }
        switch message.messageClass {
        case .request: return handleRequest(message, datagram, from: source, at: local, now: now)
        case .successResponse, .errorResponse: return handleResponse(message, datagram, from: source, at: local, now: now)
        case .indication: return []
        }
    }

    /// An answer to a request, with integrity under our password and a fingerprint.
    func respond(to request: STUNMessage, _ messageClass: STUNMessage.Class, _ attributes: [STUNAttribute],
                 from local: SocketAddress, to source: SocketAddress, authenticated: Bool = true) -> Action {
        let response = STUNMessage(messageClass: messageClass, transactionID: request.transactionID, attributes: attributes)
        let key = authenticated ? Array(localCredentials.password.utf8) : nil
        return .send(datagram: response.encoded(integrityKey: key), from: local, to: source)
    }

    /// RFC 8445 §7.3: authenticate, resolve role conflicts, answer, learn peer-reflexive
    /// candidates, and check the pair back (a triggered check).
    mutating func handleRequest(_ message: STUNMessage, _ datagram: [UInt8], from source: SocketAddress, at local: SocketAddress,
                                now: UInt64) -> [Action] {
        guard let localCandidate = localCandidates.first(where: { $0.address == local }) else {
            droppedMessages += 1
            return []
        }
        guard let username = message.attribute(.username)?.stringValue, message.attribute(.messageIntegrity) != nil else {
            return [respond(to: message, .errorResponse, [.errorCode(400, reason: "Bad Request")], from: local, to: source, authenticated: false)]
        }
        let names = username.split(separator: ":", maxSplits: 1)
        let authentic = names.first.map(String.init) == localCredentials.ufrag
            && (try? datagram.withUnsafeBytes { try STUNMessage.verifyIntegrity($0, key: Array(localCredentials.password.utf8)) }) != nil
        guard authentic else {
            droppedMessages += 1
            return [respond(to: message, .errorResponse, [.errorCode(401, reason: "Unauthorized")], from: local, to: source, authenticated: false)]
        }
        // §7.3.1.1: role conflicts are settled by the larger tie-breaker.
        if let theirs = message.attribute(.iceControlling)?.uint64Value, role == .controlling {
            if tieBreaker >= theirs {
                return [respond(to: message, .errorResponse, [.errorCode(487, reason: "Role Conflict")], from: local, to: source)]
            }
            role = .controlled
        } else if let theirs = message.attribute(.iceControlled)?.uint64Value, role == .controlled {
            if tieBreaker >= theirs {
                role = .controlling
            } else {
                return [respond(to: message, .errorResponse, [.errorCode(487, reason: "Role Conflict")], from: local, to: source)]
            }
        }
        var actions = start(now: now)
        let remote: ICECandidate
        if let known = remoteCandidates.first(where: { $0.address == source }) {
            remote = known
        } else {
            // §7.3.1.3: an address we did not know is a peer-reflexive candidate.
            let priority = message.attribute(.priority)?.uint32Value ?? ICECandidate.priority(kind: .prflx)
            remote = ICECandidate(foundation: "prflx\(remoteCandidates.count)", priority: priority, address: source, kind: .prflx)
            remoteCandidates.append(remote)
        }
        let index = addPair(local: localCandidate, remote: remote)
        actions.append(respond(to: message, .successResponse, [
            .xorMappedAddress(address: source.bytes, port: source.port, transactionID: message.transactionID),
        ], from: local, to: source))
        if message.attribute(.useCandidate) != nil && role == .controlled {
            pairs[index].nominatedByPeer = true
            if pairs[index].state == .succeeded { actions += select(index, now: now) }
        }
        if pairs[index].state != .succeeded && pairs[index].transaction == nil && !triggered.contains(index) {
            if pairs[index].state == .failed { pairs[index].state = .waiting }
            triggered.append(index)
        }
        return actions
    }

    mutating func handleResponse(_ message: STUNMessage, _ datagram: [UInt8], from source: SocketAddress, at local: SocketAddress,
                                 now: UInt64) -> [Action] {
        guard let index = pairs.firstIndex(where: { $0.transaction?.id == message.transactionID }),
              let remote = remoteCredentials,
              (try? datagram.withUnsafeBytes { try STUNMessage.verifyIntegrity($0, key: Array(remote.password.utf8)) }) != nil else {
            droppedMessages += 1
            return []
        }
        let transaction = pairs[index].transaction!
        pairs[index].transaction = nil
        if message.messageClass == .errorResponse {
            if message.attribute(.errorCode)?.errorCodeValue?.code == 487 {
                // §7.2.5.1: switch role and check again.
                role = role == .controlling ? .controlled : .controlling
                pairs[index].state = .waiting
                triggered.append(index)
            } else if !transaction.consent {
                pairs[index].state = .failed
            }
            return []
        }
        if transaction.consent {
            lastConsent = now
            return []
        }
        // §7.2.5.2.1: a check succeeds only if the response came back on the same addresses.
        guard source == pairs[index].remote.address, local == pairs[index].local.address else {
            pairs[index].state = .failed
            return []
        }
        pairs[index].state = .succeeded
        switch role {
        case .controlled:
            return pairs[index].nominatedByPeer ? select(index, now: now) : []
        case .controlling:
            if transaction.nominating { return select(index, now: now) }
            if nominating == nil && selected == nil {
                // Regular nomination (§8.1.1): check the first valid pair again, with USE-CANDIDATE.
                nominating = index
                triggered.insert(index, at: 0)
                nextCheckAt = min(nextCheckAt, now)
            }
            return []
        }
    }
}
