import Device
import Runtime
import Logging
import Provisioning
import ServiceLifecycle

/// The box's main loop: the conference client in the provisioned room, the local control
/// socket (`classbox switch`, `classbox end`), the live status, and systemd's watchdog.
/// At SIGTERM or SIGINT it leaves the room; as organiser it first ends the meeting for all
/// (the seed's "leave last").
public struct BoxService: Service {
    let config: ProvisioningConfig
    let notifier: SystemdNotifier
    let logger: Logger
    let environment: [String: String]
    /// How often a status line is printed while nothing changes.
    var statusInterval: UInt64 = 5_000_000_000

    public init(config: ProvisioningConfig, notifier: SystemdNotifier, logger: Logger, environment: [String: String] = [:]) {
        self.config = config
        self.notifier = notifier
        self.logger = logger
        self.environment = environment
    }

    public func run() async throws {
        let status = BoxStatus(config: config)
        for line in status.startupLines { logger.info("\(line)") }
        let conference = ConferenceStatus()
        let privacy = PrivacyController(config: config, logger: logger)
        let client = ConferenceClient(config: config, logger: logger, status: conference, privacy: privacy,
                                      clockRunDirectory: environment["CLASSBOX_CLOCK_RUN_DIR"] ?? "/run")
        let screen = ScreenLoop(display: config.display, status: conference, plan: client.screenPlan,
                                runtimeDirectory: RuntimeDirectory.path(environment: environment),
                                selfView: config.privacy.cameraSwitch != .none, logger: logger)
        if config.display.device != .none { client.videoSink = screen.sink }
        try privacy.start()
        try client.start()
        do { try screen.start() } catch { logger.warning("no screen thread: \(error)") }
        var control: ControlSocket?
        do {
            control = try ControlSocket(path: RuntimeDirectory.controlSocket(environment: environment))
        } catch {
            logger.warning("no local control socket: \(error)")
        }
        notify("ready") { try self.notifier.ready(status: status.summary) }
        if let interval = notifier.watchdogInterval {
            logger.info("systemd watchdog armed", metadata: ["interval_ms": "\(interval.milliseconds)"])
        }
        let lights = IndicatorLights(config: config, directory: environment["CLASSBOX_LED_DIRECTORY"] ?? LEDClass.defaultDirectory, logger: logger)
        let loop = MainLoop(service: self, client: client, privacy: privacy, lights: lights, conference: conference, control: control)
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(100))
                loop.step()
            }
        }
        logger.info("shutting down")
        notify("stopping") { try self.notifier.stopping(status: "shutting down") }
        client.stop(endForAll: config.room.organiser)
        screen.stop()
        privacy.stop()
        lights.show(cameraLive: false, micMuted: false, status: .off)
        logger.info("left the conference")
    }

    func notify(_ what: String, _ body: () throws -> Void) {
        do { try body() } catch { logger.warning("systemd notification '\(what)' failed: \(error)") }
    }
}

/// The periodic work of ``BoxService``, on its task.
final class MainLoop: @unchecked Sendable {
    let service: BoxService
    let client: ConferenceClient
    let privacy: PrivacyController
    let lights: IndicatorLights
    let conference: ConferenceStatus
    let control: ControlSocket?
    var lastWatchdog: UInt64 = 0
    var lastLights: (Bool, Bool, IndicatorLights.Status)?
    var lastPrinted: (at: UInt64, snapshot: ConferenceSnapshot)?
    /// The sending rates of the last status line (kbit/s), for `classbox status`.
    var lastRates = (video: 0, audio: 0)
    var lessonEnded = false

    init(service: BoxService, client: ConferenceClient, privacy: PrivacyController, lights: IndicatorLights, conference: ConferenceStatus,
         control: ControlSocket?) {
        self.service = service
        self.client = client
        self.privacy = privacy
        self.lights = lights
        self.conference = conference
        self.control = control
    }

    func step() {
        let now = Monotonic.nanoseconds()
        control?.receive(answer)
        if let interval = service.notifier.watchdogInterval, now >= lastWatchdog + UInt64(interval.milliseconds) * 500_000 {
            lastWatchdog = now
            do { try service.notifier.watchdog() } catch { service.logger.warning("watchdog ping failed: \(error)") }
        }
        let snapshot = conference.current
        let shown = (snapshot.cameraLive, snapshot.micMuted, lessonEnded ? .off : IndicatorLights.status(of: snapshot))
        if lastLights.map({ $0 != shown }) ?? true {
            lights.show(cameraLive: shown.0, micMuted: shown.1, status: shown.2)
            lastLights = shown
        }
        let changed = lastPrinted.map { $0.snapshot.state != snapshot.state || $0.snapshot.inRoom != snapshot.inRoom
            || $0.snapshot.cameraLive != snapshot.cameraLive || $0.snapshot.micMuted != snapshot.micMuted || $0.snapshot.others != snapshot.others || $0.snapshot.mediaConnected != snapshot.mediaConnected
            || $0.snapshot.heardSources != snapshot.heardSources || $0.snapshot.seenSources != snapshot.seenSources || $0.snapshot.bridgeChannelOpen != snapshot.bridgeChannelOpen
            || ($0.snapshot.watchedLines == 0) != (snapshot.watchedLines == 0) } ?? true
        if changed || now >= (lastPrinted?.at ?? 0) + service.statusInterval {
            let seconds = lastPrinted.map { Double(now - $0.at) / 1e9 } ?? 0
            if let previous = lastPrinted?.snapshot, seconds > 0 {
                let kbps = { (bytes: Int, before: Int) in max(0, Int(Double(bytes - before) * 8 / 1000 / seconds)) }
                lastRates = (kbps(snapshot.videoBytes, previous.videoBytes), kbps(snapshot.audioBytes, previous.audioBytes))
            }
            let line = ConferenceStatus.line(snapshot, since: lastPrinted?.snapshot, seconds: seconds)
            service.logger.info("status: \(line)", metadata: ["event": "status"])
            try? service.notifier.status(line)
            lastPrinted = (now, snapshot)
        }
    }

    /// A local command: the simulated board's switch, or the end of the lesson.
    func answer(_ command: String) -> String {
        switch command.trimmingWhitespace {
        case "switch open", "switch close":
            let open = command.contains("open")
            guard privacy.simulatedSwitch(open: open) else {
                return "refused: only the simulated board's test-pattern camera has a software switch; a real camera follows its physical switch"
            }
            return open ? "ok: camera live" : "ok: camera private"
        case "mute":
            guard service.config.privacy.cameraSwitch == .simulated else { return "refused: the mute button is a physical key (KEY_MICMUTE)" }
            privacy.toggleMicMute()
            return privacy.isMicMuted ? "ok: microphone muted" : "ok: microphone on"
        case "end":
            guard !lessonEnded else { return "ok: the lesson has already ended" }
            lessonEnded = true
            client.stop(endForAll: true)
            conference.update { $0.state = "lesson ended; switch the box off and on to start the next one"; $0.situation = .ended }
            return service.config.room.organiser ? "ok: the meeting has ended for everyone" : "ok: the box has left the meeting"
        case "status":
            return ConferenceStatus.line(conference.current, since: nil, seconds: 0)
        case "status-json":
            let snapshot = conference.current
            return StatusReport.live(snapshot, rates: snapshot.mediaConnected ? lastRates : (0, 0), config: service.config,
                                     problems: RecentProblems.shared.all).serialized
        case "health":
            // For the slot trial after an update (classbox health): running with a valid
            // provisioning file is implied by answering at all.
            return conference.current.signedInOnce ? "healthy: signed in to \(service.config.server.host)"
                                                   : "starting: not yet signed in to \(service.config.server.host)"
        default:
            return "refused: unknown command (switch open|close, mute, end, status, status-json, health)"
        }
    }
}

extension String {
    var trimmingWhitespace: String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}

/// What the box reports about itself: free of secrets and of anyone's personal data.
struct BoxStatus {
    let config: ProvisioningConfig

    var cameraState: String {
        switch config.privacy.cameraSwitch {
        case .none: return "private (no privacy switch configured: the camera stays off)"
        case .inputDevice(let path): return "private until the privacy switch \(path) opens it"
        case .simulated: return "private until the simulated switch opens it"
        }
    }

    var startupLines: [String] {
        let camera: String
        switch config.camera.source {
        case .testPattern: camera = "test pattern \(config.camera.width)x\(config.camera.height)@\(config.camera.fps)"
        case .device(let path): camera = "\(path) \(config.camera.width)x\(config.camera.height)@\(config.camera.fps)"
        }
        return [
            "classbox \(ClassboxVersion.current) starting",
            "room \(config.room.name) on \(config.server.host) as \"\(config.room.label)\"\(config.room.organiser ? " (organiser)" : "")",
            "camera \(camera): \(cameraState)",
            "microphone \(describe(config.audio.capture)), speaker \(describe(config.audio.playback))",
        ]
    }

    var summary: String { "camera private; room \(config.room.name)" }

    private func describe(_ capture: ProvisioningConfig.Audio.Capture) -> String {
        switch capture {
        case .pcm(let name): return name
        case .tone: return "tone \(config.audio.toneHz) Hz"
        case .null: return "none"
        }
    }

    private func describe(_ playback: ProvisioningConfig.Audio.Playback) -> String {
        switch playback {
        case .pcm(let name): return name
        case .null: return "none"
        }
    }
}
