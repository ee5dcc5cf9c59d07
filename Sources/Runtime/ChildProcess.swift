#if canImport(Glibc)
import Glibc
#endif

/// Runs a helper program (`rauc`, `ssh-keygen`, `systemctl`) to its end, with a clean signal
/// mask, stdin from /dev/null and stdout+stderr merged into one pipe that is handed over
/// line by line as it comes, so progress can be passed on while the child still runs.
public enum ChildProcess {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// How the child ended: its exit status, or the signal that killed it.
    public struct Exit: Equatable, Sendable {
        public let status: Int32
        public let signal: Int32?
        public var succeeded: Bool { status == 0 && signal == nil }
    }

    /// Runs `executable` (an absolute path) and returns how it ended; `line` gets each output
    /// line without its newline. The environment is `environment` alone.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"],
                           line: (String) -> Void = { _ in }) throws(Failure) -> Exit {
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)
        var pid = pid_t()
        let spawned = spawn(executable, arguments, environment: environment, actions: &actions, pid: &pid)
        close(pipeEnds[1])
        defer { close(pipeEnds[0]) }
        guard spawned == 0 else { throw Failure(description: "cannot run \(executable): \(String(cString: strerror(spawned)))") }

        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(pipeEnds[0], &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                line(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
        }
        if !pending.isEmpty { line(String(decoding: pending, as: UTF8.self)) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7F
        return signal != 0 ? Exit(status: -1, signal: signal) : Exit(status: (status >> 8) & 0xFF, signal: nil)
    }

    /// `posix_spawn` with an empty signal mask and default dispositions for every signal (a
    /// parent may block or ignore some; the child must not inherit that). Returns 0 or an errno.
    public static func spawn(_ executable: String, _ arguments: [String], environment: [String: String],
                             actions: UnsafePointer<posix_spawn_file_actions_t>, pid: inout pid_t) -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        return posix_spawn(&pid, executable, actions, &attributes, argv, envp)
    }

    /// Runs the child and returns its whole output, or throws with that output when it fails.
    public static func output(_ executable: String, _ arguments: [String]) throws(Failure) -> String {
        var lines: [String] = []
        let exit = try run(executable, arguments) { lines.append($0) }
        guard exit.succeeded else {
            let how = exit.signal.map { "was killed by signal \($0)" } ?? "exited with \(exit.status)"
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) \(how): \(lines.suffix(5).joined(separator: " / "))")
        }
        return lines.joined(separator: "\n")
    }
}
