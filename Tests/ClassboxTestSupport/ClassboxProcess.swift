import Foundation

/// The built `classbox` executable, run as a user would run it.
public final class ClassboxProcess: @unchecked Sendable {
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

    public let arguments: [String]
    public var environment: [String: String]
    /// Where stdout and stderr go; known before the start (a journal-stream test needs stderr's identity).
    public let output = SpawnedProcess.outputFiles()
    private var child: SpawnedProcess?

    /// A command the box runs under, e.g. `["/usr/sbin/ip", "netns", "exec", NAME]`.
    public let wrap: [String]

    public init(_ arguments: [String], environment: [String: String] = [:], wrap: [String] = []) {
        self.arguments = arguments
        self.wrap = wrap
        var env = ProcessInfo.processInfo.environment
        for key in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"] { env[key] = nil }
        self.environment = env.merging(environment) { $1 }
    }

    public func start() throws {
        if let first = wrap.first {
            child = try SpawnedProcess(first, Array(wrap.dropFirst()) + [Self.executable] + arguments, environment: environment, output: output)
        } else {
            child = try SpawnedProcess(Self.executable, arguments, environment: environment, output: output)
        }
    }

    public func signal(_ number: Int32) { child?.signal(number) }

    /// Waits for the end (killing the process after `timeout` seconds) and collects its output.
    public func finish(timeout: Double = 20) -> Result {
        guard let child else { return Result(status: -1, stdout: "", stderr: "not started", signaled: false) }
        let exit = child.wait(timeout: timeout)
        return Result(status: exit.status, stdout: child.stdout, stderr: child.stderr, signaled: exit.signaled)
    }

    /// Runs to the end.
    public static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 20) throws -> Result {
        let child = ClassboxProcess(arguments, environment: environment)
        try child.start()
        return child.finish(timeout: timeout)
    }
}
