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
    public enum ExitCode: Int32, Error {
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
        let config: ProvisioningConfig, logger: Logger
        switch load(configPath) {
        case .failure(let code): return code
        case .success(let loaded): (config, logger) = loaded
        }
        let notifier = SystemdNotifier(environment: environment)
        let service = BoxService(config: config, notifier: notifier, logger: logger, environment: environment)
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

    /// `classbox send`: the configured camera and microphone as (S)RTP to one address.
    public static func send(configPath: String, options: DebugSender.Options) async -> ExitCode {
        let config: ProvisioningConfig, logger: Logger
        switch load(configPath) {
        case .failure(let code): return code
        case .success(let loaded): (config, logger) = loaded
        }
        do {
            let summary = try await DebugSender(config: config, options: options, logger: logger).run()
            logger.info("sent: \(summary)")
            return .ok
        } catch {
            logger.error("send: \(error)")
            return .failed
        }
    }

    /// Reads and checks the provisioning file; problems are printed, nothing half-read is
    /// kept. Returns the configuration and a logger at its log level.
    static func load(_ path: String) -> Result<(ProvisioningConfig, Logger), ExitCode> {
        var logger = Logger(label: "classbox")
        switch ConfigLoader.load(path: path) {
        case .unreadable(let reason):
            logger.error("cannot read \(path): \(reason)")
            return .failure(.unreadableConfig)
        case .invalid(let diagnostics):
            printDiagnostics(diagnostics)
            let errors = diagnostics.filter { $0.severity == .error }.count
            logger.error("refusing to start: \(path) has \(errors) error\(errors == 1 ? "" : "s")")
            return .failure(.invalidConfig)
        case .valid(let config, let warnings):
            printDiagnostics(warnings)
            logger.logLevel = Logger.Level(rawValue: config.log.level.rawValue) ?? .info
            return .success((config, logger))
        }
    }

    /// One line per diagnostic on stderr, exactly as `classbox check-config` prints them.
    public static func printDiagnostics(_ diagnostics: [Diagnostic]) {
        for diagnostic in diagnostics {
            var line = Array("\(diagnostic)\n".utf8)
            _ = line.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
        }
    }
}
