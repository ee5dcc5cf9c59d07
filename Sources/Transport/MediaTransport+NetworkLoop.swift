#if canImport(Glibc)
import Glibc
#endif
import DTLS
import ICE
import RTCP
import Runtime
import Session
import TURN
import Wire

extension MediaTransport {
    /// Writes an RTCP compound packet, protects it with SRTCP and sends it. Call it on the
    /// network thread only (from `onTick`, `onRTCP` or `onRTP`); before keys exist it does nothing.
    public func sendRTCP(_ write: (inout ByteWriter) -> Void) {
        guard let rtcp = rtcpChannel else { return }
        var writer = ByteWriter(rtcp.buffer)
        write(&writer)
        guard writer.offset > 0, let length = try? rtcp.session.protectRTCP(rtcp.buffer, length: writer.offset) else { return }
        transmit(UnsafeRawBufferPointer(rebasing: rtcp.buffer[0..<length]))
    }

    var rtcpChannel: RTCPChannel? {
        get { rtcpChannelStorage.withLock { $0 } }
        set { rtcpChannelStorage.withLock { $0 = newValue } }
    }
}

/// The outbound SRTCP session and its buffer, used on the network thread only.
final class RTCPChannel: @unchecked Sendable {
    let session: SRTPSession
    let buffer: UnsafeMutableRawBufferPointer

    init(session: SRTPSession) {
        self.session = session
        buffer = .allocate(byteCount: 1500, alignment: 16)
    }

    deinit { buffer.deallocate() }
}

/// Everything the network thread owns: the ICE agent, DTLS, the inbound SRTP session.
final class NetworkLoop: @unchecked Sendable {
    unowned let transport: MediaTransport
    let remote: MediaSession
    let dtlsRole: DTLSConnection.Role
    let goodbyeSSRCs: [UInt32]
    var agent: ICEAgent
    var dtls: DTLSConnection?
    var dtlsStarted = false
    var inbound: SRTPSession?
    var state = MediaTransport.State.connecting
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    var nextTick: UInt64 = 0

    init(transport: MediaTransport, remote: MediaSession, iceRole: ICEAgent.Role, dtlsRole: DTLSConnection.Role, goodbyeSSRCs: [UInt32]) {
        self.transport = transport
        self.remote = remote
        self.dtlsRole = dtlsRole
        self.goodbyeSSRCs = goodbyeSSRCs
        agent = ICEAgent(role: iceRole, localCredentials: transport.localCredentials, localCandidates: transport.checkedCandidates)
        do {
            dtls = try DTLSConnection(role: dtlsRole, certificate: transport.certificate,
                                      remoteFingerprint: remote.fingerprint, mtu: transport.configuration.mtu)
        } catch {
            state = .failed("\(error)")
        }
    }

    deinit { buffer.deallocate() }

    func run() {
        if case .failed = state { return publish(state) }
        // The relays let the peer's checks in only once they have a permission for it.
        permitRelays(remote.candidates)
        apply(agent.setRemote(credentials: remote.ice, candidates: remote.candidates, now: Monotonic.nanoseconds()))
        let relays = transport.relayPorts
        var descriptors = (transport.ports.map(\.fd) + relays.map(\.descriptor)).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        descriptors.append(pollfd(fd: transport.wake.descriptor, events: Int16(POLLIN), revents: 0))
        while true {
            // A stream to a TURN server is also watched for room to write while its queue holds something.
            for (index, relay) in relays.enumerated() {
                guard case .stream(let stream) = relay.link else { continue }
                descriptors[transport.ports.count + index].events = Int16(POLLIN) | (stream.wantsWrite ? Int16(POLLOUT) : 0)
            }
            let now = Monotonic.nanoseconds()
            let deadlines = [agent.nextTimeout, dtlsStarted ? dtls?.timeoutRemaining.map { now + $0 } : nil, nextTick].compactMap { $0 }
                + relays.compactMap(\.client.nextTimeout)
            let wait = deadlines.min().map { $0 > now ? Int32(min(($0 - now) / 1_000_000 + 1, 100)) : 0 } ?? 100
            _ = poll(&descriptors, nfds_t(descriptors.count), wait)
            if descriptors.last!.revents != 0 { transport.wake.drain() }
            for (index, port) in transport.ports.enumerated() where descriptors[index].revents & Int16(POLLIN) != 0 {
                while let (count, source) = port.receive(into: buffer) {
                    receive(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]), from: source, on: port)
                }
            }
            for (index, relay) in relays.enumerated() where descriptors[transport.ports.count + index].revents != 0 {
                if !receiveRelayed(on: relay) { descriptors[transport.ports.count + index].fd = -1 }
            }
            if handleCommands() { return shutDown() }
            for (index, relay) in relays.enumerated() where descriptors[transport.ports.count + index].fd >= 0 {
                guard case .stream(let stream) = relay.link, stream.wantsWrite else { continue }
                do { try stream.flush() } catch {
                    lose(relay, because: "the connection to TURN server \(relay.server) broke: \(error)")
                    descriptors[transport.ports.count + index].fd = -1
                }
            }
            let time = Monotonic.nanoseconds()
            for relay in relays where (relay.client.nextTimeout ?? .max) <= time { applyTURN(relay.client.handleTimeout(now: time), on: relay) }
            if let timeout = agent.nextTimeout, timeout <= time { apply(agent.handleTimeout(now: time)) }
            if dtlsStarted, let dtls, (dtls.timeoutRemaining ?? 1) == 0 { sendDTLS(dtls.handleTimeout()) }
            if time >= nextTick {
                nextTick = time + 100_000_000
                if case .connected = state { transport.onTick?(time) }
            }
        }
    }

    /// Returns true when asked to stop.
    func handleCommands() -> Bool {
        let pending = transport.commands.withLock { commands -> [MediaTransport.Command] in
            defer { commands.removeAll() }
            return commands
        }
        for command in pending {
            switch command {
            case .stop: return true
            case .addCandidate(let candidate):
                permitRelays([candidate])
                apply(agent.addRemoteCandidate(candidate, now: Monotonic.nanoseconds()))
            case .applicationData(let bytes):
                guard case .connected = state, let dtls else { continue }
                sendDTLS(bytes.withUnsafeBytes { dtls.send(applicationData: $0) })
            }
        }
        return false
    }

    /// One datagram from the peer, arrived on a host socket or unwrapped from a relay.
    func receive(_ datagram: UnsafeMutableRawBufferPointer, from source: SocketAddress, on port: any CandidatePort) {
        transport.counters.withLock { $0.received += 1 }
        let count = datagram.count
        let now = Monotonic.nanoseconds()
        switch MediaTransport.classify(UnsafeRawBufferPointer(datagram)) {
        case .stun:
            let before = agent.droppedMessages
            apply(agent.handle(datagram: Array(datagram), from: source, at: port.localAddress, now: now))
            if agent.droppedMessages > before { transport.counters.withLock { $0.stunDropped += 1 } }
        case .dtls:
            // Only from an address ICE has seen the peer at: nobody else may talk DTLS to us.
            guard let dtls, agent.remoteCandidates.contains(where: { $0.address == source }) else {
                transport.counters.withLock { $0.unclassified += 1 }
                return
            }
            sendDTLS(dtls.handle(datagram: Array(datagram)), to: source, via: port)
            checkDTLS()
            if case .connected = state {
                for record in dtls.takeApplicationData() { transport.onApplicationData?(record, now) }
            }
        case .rtp:
            guard let inbound, let length = try? inbound.unprotect(datagram, length: count) else {
                transport.counters.withLock { $0.srtpRejected += 1 }
                return
            }
            transport.onRTP?(UnsafeMutableRawBufferPointer(rebasing: datagram[0..<length]), now)
        case .rtcp:
            guard let inbound, let length = try? inbound.unprotectRTCP(datagram, length: count) else {
                transport.counters.withLock { $0.srtpRejected += 1 }
                return
            }
            guard let packets = RTCPPacket.parseCompound(UnsafeRawBufferPointer(rebasing: datagram[0..<length])) else {
                transport.counters.withLock { $0.rtcpMalformed += 1 }
                return
            }
            transport.onRTCP?(packets, now)
        case .other:
            transport.counters.withLock { $0.unclassified += 1 }
        }
    }

    func apply(_ actions: [ICEAgent.Action]) {
        for action in actions {
            switch action {
            case .send(let datagram, let from, let to):
                guard let port = port(at: from) else { continue }
                try? datagram.withUnsafeBytes { try port.send($0, to: to) }
            case .selected(let local, let remote):
                guard let port = port(at: local) else { continue }
                transport.path.withLock { $0 = (port, remote) }
                // Media through a relay goes in ChannelData (4 octets) once the channel is bound.
                if let relay = port as? RelayPort { applyTURN(relay.client.bind(remote, now: Monotonic.nanoseconds()), on: relay) }
                if dtlsRole == .client, !dtlsStarted, let dtls {
                    dtlsStarted = true
                    sendDTLS(dtls.start(), to: remote, via: port)
                }
            case .stateChanged(.failed(let reason)):
                transport.path.withLock { $0 = nil }
                publish(.failed("ICE: \(reason)"))
            case .stateChanged:
                break
            }
        }
    }

    func port(at address: SocketAddress) -> (any CandidatePort)? {
        transport.ports.first { $0.localAddress == address } ?? transport.relayPorts.first { $0.localAddress == address }
    }

    /// Reads what arrived from a relay's server; false when its stream ended (the relay is lost).
    func receiveRelayed(on relay: RelayPort) -> Bool {
        switch relay.link {
        case .datagram(let socket):
            while let (count, source) = socket.receive(into: buffer) { receiveRelayed(count: count, from: source, on: relay) }
            return true
        case .stream(let stream):
            // Each message is copied out of the framer into the receive buffer (SRTP is
            // unprotected in place there); the socket's bytes went into the framer first.
            let open = stream.receive(using: buffer) { message in
                guard message.count <= buffer.count else { return }
                buffer.copyMemory(from: message)
                receiveRelayed(count: message.count, from: relay.server, on: relay)
            }
            if !open { lose(relay, because: "TURN server \(relay.server) closed the connection") }
            return open
        }
    }

    /// A relay whose connection is gone: its channels are forgotten (sends through it fail)
    /// and the reason is kept; if media went through it, ICE consent ends the call's path.
    func lose(_ relay: RelayPort, because reason: String) {
        relay.markLost()
        transport.counters.withLock { $0.relayFailures.append(reason) }
    }

    /// A message from a relay's server: the peer's (ChannelData, a Data indication) goes on
    /// as if it had arrived at the relayed address; the server's answers go to its client.
    func receiveRelayed(count: Int, from source: SocketAddress, on relay: RelayPort) {
        let now = Monotonic.nanoseconds()
        switch relay.unwrap(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), from: source, now: now) {
        case .peer(let peer, let range):
            receive(UnsafeMutableRawBufferPointer(rebasing: buffer[range]), from: peer, on: relay)
        case .indication(let peer, let data):
            guard data.count <= buffer.count else { return }
            buffer.copyBytes(from: data)
            receive(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<data.count]), from: peer, on: relay)
        case .answer(let events):
            applyTURN(events, on: relay)
        case .dropped:
            transport.counters.withLock { $0.unclassified += 1 }
        }
    }

    func applyTURN(_ events: [TURNClient.Event], on relay: RelayPort) {
        guard let failure = relay.apply(events) else { return }
        transport.counters.withLock { $0.relayFailures.append(failure) }
    }

    func permitRelays(_ candidates: [ICECandidate]) {
        for relay in transport.relayPorts {
            applyTURN(relay.client.permit(candidates.filter { $0.component == 1 }.map(\.address), now: Monotonic.nanoseconds()), on: relay)
        }
    }

    func sendDTLS(_ datagrams: [[UInt8]], to destination: SocketAddress? = nil, via port: (any CandidatePort)? = nil) {
        guard let (selectedPort, selectedRemote) = transport.path.withLock({ $0 }) ?? (port.flatMap { p in destination.map { (p, $0) } }) else { return }
        let target = destination ?? selectedRemote
        let via = port ?? selectedPort
        for datagram in datagrams { try? datagram.withUnsafeBytes { try via.send($0, to: target) } }
        dtlsStarted = true
    }

    func checkDTLS() {
        guard let dtls, case .connecting = state else { return }
        switch dtls.state {
        case .handshaking:
            break
        case .failed(let error):
            transport.path.withLock { $0 = nil }
            publish(.failed("DTLS: \(error)"))
        case .connected(let keys):
            let profile: SRTPProfile = keys.profile == "SRTP_AEAD_AES_128_GCM" ? .aeadAes128Gcm : .aes128CmHmacSha1_80
            do {
                inbound = try SRTPSession(profile: profile, masterKey: keys.remoteMasterKey, direction: .inbound)
                transport.rtcpChannel = RTCPChannel(session: try SRTPSession(profile: profile, masterKey: keys.localMasterKey, direction: .outbound))
                publish(.connected(profile: profile, localMasterKey: keys.localMasterKey))
            } catch {
                publish(.failed("SRTP: \(error)"))
            }
        }
    }

    func publish(_ newState: MediaTransport.State) {
        state = newState
        transport.onStateChange?(newState)
    }

    func shutDown() {
        if case .connected = state, !goodbyeSSRCs.isEmpty {
            transport.sendRTCP { Goodbye.write(ssrcs: goodbyeSSRCs, reason: "the lesson is over", into: &$0) }
        }
        if case .connected = state, let dtls { sendDTLS(dtls.close()) }
        for relay in transport.relayPorts {
            _ = relay.apply(relay.client.close(now: Monotonic.nanoseconds()))
            // Over a stream the goodbye, close_notify and the deletion only sit in the queue:
            // out with them now, as far as the socket takes them without waiting.
            if case .stream(let stream) = relay.link { try? stream.flush() }
        }
        transport.path.withLock { $0 = nil }
        transport.rtcpChannel = nil
        publish(.closed)
    }
}
