#if canImport(Glibc)
import Glibc
#endif
import Device
import Logging
import Provisioning
import ServiceLifecycle

/// Starts the box from a provisioning file: the body of `classbox run`.
public enum BoxRunner {
    /// Exit codes, shared with `classbox check-config`.
    public enum ExitCode: Int32 {
        case ok = 0
        case invalidConfig = 1
        case unreadableConfig = 2
        case failed = 3
    }

    /// Installs the box's log handler; call once, first thing in the process.
    public static func bootstrapLogging(environment: [String: String]) {
        let journal = BoxLogHandler.stderrIsJournal(environment: environment)
        LoggingSystem.bootstrap { label in BoxLogHandler(label: label, journal: journal) }
    }

    /// Validates the file, refuses to start on any error (printing each one), then runs
    /// until SIGTERM or SIGINT.
    public static func run(configPath: String, environment: [String: String]) async -> ExitCode {
        var logger = Logger(label: "classbox")
        let config: ProvisioningConfig
        switch ConfigLoader.load(path: configPath) {
        case .unreadable(let reason):
            logger.error("cannot read \(configPath): \(reason)")
            return .unreadableConfig
        case .invalid(let diagnostics):
            printDiagnostics(diagnostics)
            let errors = diagnostics.filter { $0.severity == .error }.count
            logger.error("refusing to start: \(configPath) has \(errors) error\(errors == 1 ? "" : "s")")
            return .invalidConfig
        case .valid(let valid, let warnings):
            printDiagnostics(warnings)
            config = valid
        }
        logger.logLevel = Logger.Level(rawValue: config.log.level.rawValue) ?? .info
        let notifier = SystemdNotifier(environment: environment)
        let service = BoxService(config: config, notifier: notifier, logger: logger)
        let group = ServiceGroup(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        do {
            try await group.run()
        } catch {
            logger.critical("stopped on error: \(error)")
            return .failed
        }
        logger.info("stopped")
        return .ok
    }

    /// One line per diagnostic on stderr, exactly as `classbox check-config` prints them.
    public static func printDiagnostics(_ diagnostics: [Diagnostic]) {
        for diagnostic in diagnostics {
            var line = Array("\(diagnostic)\n".utf8)
            _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
        }
    }
}
