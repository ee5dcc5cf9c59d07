#if canImport(Glibc)
import Glibc
#endif
import DTLS
import ICE
import RTCP
import Runtime
import Session
import Synchronization
import Wire

/// The WebRTC media transport of one session: host-candidate UDP ports, the ICE agent, DTLS
/// with use_srtp and SRTP/SRTCP, all multiplexed on the selected 5-tuple (BUNDLE, rtcp-mux)
/// and told apart by their first byte (RFC 7983).
///
/// One network thread owns the sockets' receive side and every protocol state machine;
/// media threads only call ``send(_:)``. The owner learns what happens through callbacks,
/// which run on the network thread.
public final class MediaTransport: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var interfaces: [String] = []
        public var ipv6 = true
        /// Host candidates on loopback only: for test rigs on one machine.
        public var loopback = false
        /// Only relayed candidates, signalled and checked (the browsers' `iceTransportPolicy:
        /// "relay"`): proves in a test that media really goes through the TURN server.
        public var relayOnly = false
        public var mtu = 1200

        public init() {}
    }

    public enum State: Sendable, Equatable {
        case connecting
        /// Keys are ready: senders protect with `localMasterKey` under `profile`.
        case connected(profile: SRTPProfile, localMasterKey: [UInt8])
        case failed(String)
        case closed
    }

    public struct Counters: Sendable {
        public var received = 0, unclassified = 0, stunDropped = 0, srtpRejected = 0, rtcpMalformed = 0, sendFailures = 0
        /// Why a TURN allocation was lost during the call (its relayed candidate is gone).
        public var relayFailures: [String] = []
    }

    public let configuration: Configuration
    public let certificate: DTLSCertificate
    public let localCredentials: ICECredentials
    /// Host candidates: the bases the ICE agent checks from.
    public let localCandidates: [ICECandidate]
    /// Learnt from the district's STUN servers by ``gatherServerReflexive(servers:timeout:)``.
    public internal(set) var serverReflexiveCandidates: [ICECandidate] = []
    /// Allocated on the district's TURN servers by ``allocateRelays(on:timeout:)``.
    public internal(set) var relayCandidates: [ICECandidate] = []
    /// What to signal to the peer: host candidates, server-reflexive ones, relayed ones.
    public var signalledCandidates: [ICECandidate] {
        configuration.relayOnly ? relayCandidates : localCandidates + serverReflexiveCandidates + relayCandidates
    }
    /// The bases the ICE agent checks from.
    var checkedCandidates: [ICECandidate] { configuration.relayOnly ? relayCandidates : localCandidates + relayCandidates }
    let ports: [UDPPort]
    var relayPorts: [RelayPort] = []

    /// Called on the network thread.
    public var onStateChange: ((State) -> Void)?
    /// A decrypted RTP packet (valid during the call) and the arrival time.
    public var onRTP: ((UnsafeMutableRawBufferPointer, UInt64) -> Void)?
    public var onRTCP: (([RTCPPacket], UInt64) -> Void)?
    /// Every 100 ms, for RTCP reports and feedback timers.
    public var onTick: ((UInt64) -> Void)?
    /// A DTLS application data record (an SCTP packet of the data channel, RFC 8261) and
    /// the arrival time.
    public var onApplicationData: (([UInt8], UInt64) -> Void)?

    /// Where media goes: the selected pair's local port (a host socket or a relay) and the
    /// remote address.
    let path = Mutex<(port: any CandidatePort, remote: SocketAddress)?>(nil)
    let commands = Mutex<[Command]>([])
    let counters = Mutex(Counters())
    let rtcpChannelStorage = Mutex<RTCPChannel?>(nil)
    let wake = Wakeup()
    var thread: BackgroundThread?

    enum Command {
        case addCandidate(ICECandidate)
        case applicationData([UInt8])
        case stop
    }

    /// Binds one port per usable local address.
    public init(configuration: Configuration, certificate: DTLSCertificate) throws(SocketError) {
        self.configuration = configuration
        self.certificate = certificate
        localCredentials = .random()
        let addresses = LocalAddresses.list(interfaces: configuration.interfaces, ipv6: configuration.ipv6, loopback: configuration.loopback)
        var ports: [UDPPort] = []
        for address in addresses {
            do { ports.append(try UDPPort(bindTo: address)) } catch { continue }
        }
        guard !ports.isEmpty else { throw .system("no usable local address for ICE", errno: EADDRNOTAVAIL) }
        self.ports = ports
        localCandidates = ports.enumerated().map { ICECandidate.host($0.element.localAddress, index: $0.offset) }
    }

    deinit { stop() }

    public var currentCounters: Counters { counters.withLock { $0 } }

    /// Starts ICE and DTLS towards `remote` in the given roles; returns at once.
    public func start(remote: MediaSession, iceRole: ICEAgent.Role, dtlsRole: DTLSConnection.Role, goodbyeSSRCs: [UInt32] = []) throws {
        let worker = NetworkLoop(transport: self, remote: remote, iceRole: iceRole, dtlsRole: dtlsRole, goodbyeSSRCs: goodbyeSSRCs)
        thread = try BackgroundThread(name: "classbox-net") { worker.run() }
    }

    /// A candidate learnt later (trickle ICE, Jingle transport-info).
    public func addRemoteCandidate(_ candidate: ICECandidate) {
        command(.addCandidate(candidate))
    }

    /// Sends an SRTP/SRTCP datagram on the selected pair; false when there is none (not yet
    /// connected, or consent lost: RFC 7675 says stop sending).
    @discardableResult
    public func transmit(_ datagram: UnsafeRawBufferPointer) -> Bool {
        guard let (port, remote) = path.withLock({ $0 }) else { return false }
        do {
            try port.send(datagram, to: remote)
            return true
        } catch {
            counters.withLock { $0.sendFailures += 1 }
            return false
        }
    }

    /// Sends one DTLS application data record (an SCTP packet) to the peer; from any thread.
    /// The network thread writes it at once; before DTLS is connected it is dropped.
    public func sendApplicationData(_ bytes: [UInt8]) {
        command(.applicationData(bytes))
    }

    /// Stops the network thread after telling the peer (DTLS close_notify).
    public func stop() {
        guard let thread else { return }
        command(.stop)
        thread.join()
        self.thread = nil
    }

    func command(_ command: Command) {
        commands.withLock { $0.append(command) }
        wake.signal()
    }

    /// RFC 7983 §7: what the first byte of a datagram says it is.
    enum Kind { case stun, dtls, rtp, rtcp, other }

    static func classify(_ bytes: UnsafeRawBufferPointer) -> Kind {
        guard let first = bytes.first else { return .other }
        switch first {
        case 0...3: return .stun
        case 20...63: return .dtls
        case 128...191:
            guard bytes.count >= 2 else { return .other }
            return (192...223).contains(bytes[1]) ? .rtcp : .rtp  // RFC 5761 §4
        default: return .other
        }
    }
}
