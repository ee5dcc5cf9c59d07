import Foundation

/// The built `classbox` executable, run as a user would run it.
public struct ClassboxProcess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// True when the process ended by a signal rather than exiting.
        public var signaled: Bool
    }

    /// The package's root directory (where Package.swift is).
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            url.deleteLastPathComponent()
        }
        return url
    }()

    /// `CLASSBOX_BIN` if set, else the debug build next to the running test bundle.
    public static var executable: String {
        if let path = ProcessInfo.processInfo.environment["CLASSBOX_BIN"] { return path }
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("classbox").path
        if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
        return packageRoot.appendingPathComponent(".build/debug/classbox").path
    }

    public let process = Process()
    private let out = Pipe()
    private let err = Pipe()

    public init(_ arguments: [String], environment: [String: String] = [:]) {
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"] { env[key] = nil }
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = out
        process.standardError = err
    }

    public func start() throws { try process.run() }

    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the end (killing the process after `timeout` seconds) and collects its output.
    public func finish(timeout: Double = 20) -> Result {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr,
                      signaled: process.terminationReason == .uncaughtSignal)
    }

    /// Runs to the end.
    public static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 20) throws -> Result {
        let child = ClassboxProcess(arguments, environment: environment)
        try child.start()
        return child.finish(timeout: timeout)
    }
}
