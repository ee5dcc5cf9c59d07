import Device
import Logging
import Provisioning
import ServiceLifecycle

/// The box's main loop. For now it announces its state, keeps systemd's watchdog fed while
/// healthy and shuts down cleanly; the conference, camera and privacy services join it in
/// the later stages.
public struct BoxService: Service {
    let config: ProvisioningConfig
    let notifier: SystemdNotifier
    let logger: Logger

    public init(config: ProvisioningConfig, notifier: SystemdNotifier, logger: Logger) {
        self.config = config
        self.notifier = notifier
        self.logger = logger
    }

    /// How often the loop checks health; half the watchdog interval as sd_watchdog_enabled(3) advises.
    var tick: Duration { notifier.watchdogInterval.map { $0 / 2 } ?? .seconds(1) }

    public func run() async throws {
        let status = BoxStatus(config: config)
        for line in status.startupLines { logger.info("\(line)") }
        notify("ready") { try self.notifier.ready(status: status.summary) }
        if let interval = notifier.watchdogInterval {
            logger.info("systemd watchdog armed", metadata: ["interval_ms": "\(interval.milliseconds)"])
        }
        let (tick, notifier, logger) = (self.tick, self.notifier, self.logger)
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: tick)
                if notifier.watchdogInterval != nil {
                    do { try notifier.watchdog() } catch { logger.warning("watchdog ping failed: \(error)") }
                }
            }
        }
        logger.info("shutting down")
        notify("stopping") { try self.notifier.stopping(status: "shutting down") }
    }

    private func notify(_ what: String, _ body: () throws -> Void) {
        do { try body() } catch { logger.warning("systemd notification '\(what)' failed: \(error)") }
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
