import Foundation
import Runtime

/// A child process started with `posix_spawn`, a clean signal mask and default signal
/// dispositions (Foundation's `Process` passes on the test runner's blocked signals, so a
/// child would never see SIGINT), and stdout/stderr in files.
public final class SpawnedProcess: @unchecked Sendable {
    public let pid: pid_t
    public let stdoutPath: String
    public let stderrPath: String
    private var exit: (status: Int32, signaled: Bool)?

    /// Creates the output files first, so a test can learn their identity before the start.
    public static func outputFiles() -> (stdout: String, stderr: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("spawn-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: base + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: base + ".err", contents: nil)
        return (base + ".out", base + ".err")
    }

    public init(_ executable: String, _ arguments: [String], environment: [String: String],
                output: (stdout: String, stderr: String) = SpawnedProcess.outputFiles()) throws {
        stdoutPath = output.stdout
        stderrPath = output.stderr
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_APPEND, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_APPEND, 0)
        var child = pid_t()
        let result = ChildProcess.spawn(executable, arguments, environment: environment, actions: &actions, pid: &child)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        pid = child
    }

    deinit {
        if exit == nil {
            kill(pid, SIGKILL)
            _ = wait(timeout: 5)
        }
    }

    public func signal(_ number: Int32) { kill(pid, number) }

    /// The processes this one started (for a wrapper such as strace, the program it runs:
    /// a signal to strace itself detaches it and leaves the program running).
    public var children: [pid_t] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    public var isRunning: Bool { poll() == nil }

    /// Waits for the end; after `timeout` seconds the child is killed. Returns its status.
    @discardableResult
    public func wait(timeout: Double) -> (status: Int32, signaled: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let exit = poll() { return exit }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        while poll() == nil { usleep(10_000) }
        return exit!
    }

    private func poll() -> (status: Int32, signaled: Bool)? {
        if let exit { return exit }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        let signaled = status & 0x7F != 0 && status & 0x7F != 0x7F
        exit = signaled ? (status & 0x7F, true) : ((status >> 8) & 0xFF, false)
        return exit
    }

    public var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}
