import Logging
import Provisioning
import ServiceLifecycle
import StatusScreen

/// `classbox show-problem`: the screen of a box whose provisioning file keeps it from
/// starting. `classbox run` refuses an invalid or unreadable file and exits (systemd does not
/// restart it: the file does not get better by itself), so a teacher would see a dark screen;
/// systemd starts this instead (`OnFailure=` of classbox.service), and it shows "Konfigurationsdatei
/// fehlerhaft" with the file's first error — the line IT finds in the journal, which holds no
/// secrets (they live in files of their own) — until the box is started again.
///
/// The screen is the one the file's `[display]` table names, in its language, when that table
/// itself is readable; else the first connected screen, in German. A valid file shows nothing.
public enum ProblemScreen {
    public static func run(configPath: String, environment: [String: String]) async -> BoxRunner.ExitCode {
        let logger = Logger(label: "classbox")
        guard let detail = problem(configPath: configPath) else {
            logger.info("\(configPath) is valid: no problem to show")
            return .ok
        }
        let display = ConfigLoader.display(path: configPath) ?? .defaults
        guard display.device != .none else {
            logger.info("no screen to show the problem on (display.device = \"none\")")
            return .ok
        }
        let status = ConferenceStatus()
        status.update {
            $0.situation = .problem(.invalidProvisioning(detail: detail))
            $0.micMuted = true  // nothing is captured while the box is down
        }
        let screen = ScreenLoop(display: display, status: status, plan: ScreenPlanBoard(),
                                runtimeDirectory: RuntimeDirectory.path(environment: environment), logger: logger)
        let group = ServiceGroup(services: [Shown(screen: screen)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            logger.error("the problem screen stopped: \(error)")
            return .failed
        }
        return .ok
    }

    /// What the screen says of the file: its first error (and how many more), or why it
    /// cannot be read; nil when the file is valid.
    static func problem(configPath: String) -> String? {
        switch ConfigLoader.load(path: configPath) {
        case .valid: return nil
        case .unreadable(let reason): return "cannot read \(configPath): \(reason)"
        case .invalid(let diagnostics):
            let errors = diagnostics.filter { $0.severity == .error }
            guard let first = errors.first else { return "\(configPath) is invalid" }
            return first.description + (errors.count > 1 ? " (+\(errors.count - 1) more: classbox check-config)" : "")
        }
    }

    /// The screen's thread, from start until SIGTERM.
    struct Shown: Service {
        let screen: ScreenLoop

        func run() async throws {
            try screen.start()
            try? await gracefulShutdown()
            screen.stop()
        }
    }
}
