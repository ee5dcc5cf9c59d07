#if canImport(Glibc)
import Glibc
#endif
import Logging
import Media
import Provisioning
import Runtime
import SecureSocket
import Signaling
import StatusScreen
import Synchronization
import TimeKeeping
import Transport
import XML

/// The box's main job: be in the provisioned room, with media, all the time. One thread
/// connects, joins, answers Jicofo's invitation with a call, and after any loss (socket,
/// XMPP, the server's nightly restart, a failed ICE session) starts again from scratch with
/// a new endpoint id, pausing with jitter up to 30 s between attempts.
final class ConferenceClient: @unchecked Sendable {
    enum Command {
        case stop(endForAll: Bool)
        /// The privacy state changed (switch, mute button): presence and senders follow.
        case privacyChanged
        case mediaFailed(String)
        /// Addresses or routes changed (``NetworkChangeMonitor``, already gathered).
        case networkChanged([RouteChange])
    }

    let config: ProvisioningConfig
    let logger: Logger
    let status: ConferenceStatus
    /// What the classroom screen shows of the call, and where the others' pictures go.
    let screenPlan = ScreenPlanBoard()
    var videoSink: (any VideoSink)?
    private let commands = Mutex<[Command]>([])
    let wake = Wakeup()
    private var thread: BackgroundThread?
    let stopped = Atomic<Bool>(false)
    /// The privacy state: private at every start of the process, the switch decides.
    let privacy: PrivacyController
    /// Address and route changes, so a call whose network changed restarts at once.
    private var networkMonitor: NetworkChangeMonitor?
    /// When the token's expiry was last warned about (``checkTokenExpiry(now:)``), conference thread only.
    var lastTokenWarning: UInt64?
    /// Where classbox-clock.service and systemd-timesyncd say whether the clock is trusted.
    let clockRunDirectory: String

    init(config: ProvisioningConfig, logger: Logger, status: ConferenceStatus, privacy: PrivacyController, clockRunDirectory: String = "/run") {
        self.clockRunDirectory = clockRunDirectory
        self.config = config
        self.logger = logger
        self.status = status
        self.privacy = privacy
        privacy.observe { [weak self] snapshot in
            self?.status.update {
                $0.cameraLive = snapshot.cameraLive
                $0.micMuted = snapshot.micMuted
            }
            self?.command(.privacyChanged)
        }
    }

    func start() throws {
        networkMonitor = NetworkChangeMonitor { [weak self] changes in self?.command(.networkChanged(changes)) }
        if networkMonitor == nil { logger.warning("no rtnetlink socket: network changes are noticed only by ICE consent", metadata: ["event": "network.watch"]) }
        thread = try BackgroundThread(name: "classbox-conf") { [self] in run() }
    }

    /// Leaves (as organiser ending the meeting for all when `endForAll`) and waits for the
    /// thread, at most a few seconds.
    func stop(endForAll: Bool) {
        command(.stop(endForAll: endForAll))
        thread?.join()
        thread = nil
        networkMonitor?.stop()
    }

    func command(_ command: Command) {
        commands.withLock { $0.append(command) }
        wake.signal()
    }

    // MARK: The loop

    private func run() {
        var failures = 0
        var rejoining = false
        while !stopped.load(ordering: .relaxed) {
            if waitForTrustedClock() { break }
            if rejoining { status.update { $0.rejoins += 1 } }
            let outcome = attempt()
            if stopped.load(ordering: .relaxed) { break }
            rejoining = true
            let pause: UInt64
            switch outcome {
            case .failed(let failure) where failure.retryAfter > 0:
                pause = failure.retryAfter
                failures = 0
            case .failed, .lost:
                pause = Self.backoff(failures: failures)
                failures += 1
            case .joinedThenLost:
                pause = Self.backoff(failures: 0)
                failures = 1
            case .stopped:
                return
            }
            status.update {
                $0.state = "reconnecting in \(max(1, pause / 1_000_000_000)) s"
                // A problem stays on the screen while the box retries (its text says so).
                if !$0.situation.isProblem { $0.situation = .reconnecting(seconds: Int(max(1, pause / 1_000_000_000))) }
            }
            if waitForStop(nanoseconds: pause) { break }
        }
    }

    /// Signs in only with a clock that can check the server's certificate and the token: on a
    /// board without a battery clock, before NTP or the server's `Date` came, every TLS attempt
    /// would fail with "not yet valid" and look like an untrusted server. Waits and says for
    /// what instead; true when a stop came meanwhile.
    private func waitForTrustedClock() -> Bool {
        var clock = ClockState.read(runDirectory: clockRunDirectory)
        guard !clock.isTrusted else { return false }
        logger.warning("waiting for the time from \(clock.sources) before signing in (no battery clock; certificates cannot be checked without it)",
                       metadata: ["event": "clock.wait"])
        var shownDetail: String?
        while !clock.isTrusted {
            if shownDetail != clock.detail {
                shownDetail = clock.detail
                let (sources, detail) = (clock.sources, clock.detail)
                status.update {
                    $0.state = "waiting for the time from \(sources)"
                    $0.situation = .problem(.noTime(sources: sources, detail: detail))
                }
            }
            if waitForStop(nanoseconds: 250_000_000) { return true }
            clock = ClockState.read(runDirectory: clockRunDirectory)
        }
        logger.info("the clock is set (\(clock.source == .ntp ? "NTP" : "the server's Date")); signing in", metadata: ["event": "clock.set"])
        status.update { $0.situation = .starting }
        return false
    }

    /// 0.5–1 s, then doubling, capped at 30 s, each with random jitter so a district's
    /// boxes do not all come back at the same instant after a server restart.
    static func backoff(failures: Int) -> UInt64 {
        let base = min(30.0, pow(2.0, Double(failures)))
        return UInt64(base * Double.random(in: 0.5...1.0) * 1e9)
    }

    /// Waits, woken by commands; true when a stop came.
    private func waitForStop(nanoseconds: UInt64) -> Bool {
        let deadline = Monotonic.nanoseconds() + nanoseconds
        while case let now = Monotonic.nanoseconds(), now < deadline {
            var entry = pollfd(fd: wake.descriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&entry, 1, Int32(min(1000, (deadline - now) / 1_000_000 + 1)))
            wake.drain()
            for command in takeCommands() {
                switch command {
                case .stop:
                    stopped.store(true, ordering: .relaxed)
                    return true
                case .privacyChanged, .mediaFailed, .networkChanged: break
                }
            }
        }
        return false
    }

    func takeCommands() -> [Command] {
        commands.withLock { pending in
            defer { pending = [] }
            return pending
        }
    }

    enum Outcome {
        case failed(JoinFailure)
        case lost(String)
        case joinedThenLost(String)
        case stopped
    }

    /// One connection: connect, join, keep the call going until something ends it.
    private func attempt() -> Outcome {
        checkTokenExpiry()
        status.update {
            $0.state = "connecting to \(config.server.host)"
            if !$0.situation.isProblem { $0.situation = .connecting(server: config.server.host) }
            $0.inRoom = false
            $0.mediaConnected = false
        }
        let connection: SignalingConnection
        do {
            connection = try SignalingConnection(url: config.server.websocketURL, room: config.room.name, token: config.server.token?.reveal(),
                                                 caBundle: config.server.caBundle)
        } catch {
            logger.warning("cannot reach the conference server: \(error)", metadata: ["event": "signalling.connect"])
            let host = config.server.host
            status.update {
                $0.failed = true
                $0.situation = .problem(error.kind == .trust ? .serverUntrusted(server: host, detail: error.description)
                                                             : .serverUnreachable(server: host, detail: error.description))
            }
            return .lost(error.description)
        }
        defer { connection.close() }
        let run = ConferenceRun(client: self, connection: connection, session: ConferenceSession(configuration: conferenceConfiguration,
                                                                                                 stream: streamConfiguration))
        return run.loop()
    }

    var conferenceConfiguration: ConferenceConfiguration {
        let room = JID(local: config.room.name, domain: config.server.mucDomain)
        let random = { String(UInt64.random(in: 0...UInt64.max), radix: 36) }
        let secret = config.room.password.reveal()  // the loader already dropped the file's final newline
        let password = secret.isEmpty ? nil : secret
        var configuration = ConferenceConfiguration(room: room, focus: JID(config.server.focus) ?? JID(domain: "focus." + config.server.xmppDomain),
                                       label: config.room.label, password: password, organiser: config.room.organiser,
                                       startAudioMuted: config.room.startAudioMuted, startVideoMuted: config.room.startVideoMuted,
                                       machineUID: random(), statsID: "classbox-" + random())
        configuration.askExternalServices = config.network.turnFromServer
        return configuration
    }

    var streamConfiguration: XMPPStream.Configuration {
        switch config.server.login {
        case .anonymous:
            return .init(domain: config.server.xmppDomain, login: .anonymous)
        case .token:
            return .init(domain: config.server.xmppDomain, login: .anonymous)  // the token rides on the URL
        case .account:
            return .init(domain: config.server.xmppDomain,
                         login: .plain(user: config.server.account ?? "", password: config.server.accountPassword?.reveal() ?? ""))
        }
    }
}
