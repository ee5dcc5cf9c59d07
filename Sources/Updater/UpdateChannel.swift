#if canImport(Glibc)
import Glibc
#endif

/// The line between the SSH side and the root side of an update. District IT's keys log in
/// as the unprivileged `update` user, forced to run `classbox update`; that process holds no
/// rights but to connect to `classbox-update.socket` (group `update`), where systemd starts
/// `classbox update-serve` as root for each connection. The client sends one request line,
/// then the bundle (for `install`) until it half-closes; the server answers with lines for
/// the terminal and ends with `exit N`.
public enum UpdateChannel {
    public static let socketPath = "/run/classbox-update.socket"
    public static let exitPrefix = "exit "

    /// A request as the admin types it after the host name (`SSH_ORIGINAL_COMMAND`).
    public enum Request: Equatable, Sendable {
        case install(allowDowngrade: Bool)
        case status
        /// The same as one JSON object, for a fleet's table.
        case statusJSON
        /// A provisioning file (or a tar of it with its secrets) on the connection, or the last good one back.
        case config(rollback: Bool)

        /// `""`, `update` or `install` (optionally `--allow-downgrade`), or `status`.
        public static func parse(_ command: String) -> Result<Request, UpdateError> {
            var words = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if words.first == "classbox" { words.removeFirst() }
            switch words.first {
            case nil, "update", "install":
                let options = words.dropFirst()
                guard options.allSatisfy({ $0 == "--allow-downgrade" }) else {
                    return .failure(.refused("unknown option \(options.first { $0 != "--allow-downgrade" } ?? ""); " + usage))
                }
                return .success(.install(allowDowngrade: !options.isEmpty))
            case "status" where words.count == 1:
                return .success(.status)
            case "status" where words.count == 2 && words[1] == "--json":
                return .success(.statusJSON)
            case "config" where words.count == 1:
                return .success(.config(rollback: false))
            case "config" where words.count == 2 && words[1] == "rollback":
                return .success(.config(rollback: true))
            default:
                return .failure(.refused("unknown command '\(command.prefix(60))'; " + usage))
            }
        }

        public var line: String {
            switch self {
            case .install(let allowDowngrade): return allowDowngrade ? "install --allow-downgrade" : "install"
            case .status: return "status"
            case .statusJSON: return "status --json"
            case .config(let rollback): return rollback ? "config rollback" : "config"
            }
        }

        public static let usage = "use: ssh update@<box> update < bundle.raucb | ssh update@<box> update --allow-downgrade < bundle.raucb | ssh update@<box> status [--json]"
            + " | ssh config@<box> < classbox.toml (or a tar of it with its secret files) | ssh config@<box> rollback"
    }

    /// The SSH side: sends the request and standard input, copies the answer to standard
    /// output as it comes, and returns the exit status the server reported.
    public static func relay(_ request: Request, path: String = socketPath) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return fail("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8).prefix($0.count - 1)) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return fail("the box's update service does not answer (\(String(cString: strerror(errno))))") }
        guard writeAll(fd, Array((request.line + "\n").utf8)) else { return fail("the update service hung up") }
        var sending = true
        if request == .status || request == .statusJSON || request == .config(rollback: true) {
            shutdown(fd, Int32(SHUT_WR))
            sending = false
        }
        var pending: [UInt8] = []
        var status: Int32?
        let chunk = 1 << 16
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: sending ? 0 : -1, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, -1) >= 0 || errno == EINTR else { break }
            if fds[1].revents != 0 {
                let count = read(0, buffer, chunk)
                if count > 0 {
                    guard writeAll(fd, Array(UnsafeRawBufferPointer(start: buffer, count: count))) else { sending = false; continue }
                } else if count == 0 || errno != EINTR {
                    shutdown(fd, Int32(SHUT_WR))
                    sending = false
                }
            }
            if fds[0].revents != 0 {
                let count = read(fd, buffer, chunk)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                pending += UnsafeRawBufferPointer(start: buffer, count: count)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[..<newline], as: UTF8.self)
                    pending.removeSubrange(...newline)
                    if line.hasPrefix(exitPrefix), let code = Int32(line.dropFirst(exitPrefix.count)) {
                        status = code
                    } else {
                        _ = writeAll(1, Array((line + "\n").utf8))
                    }
                }
            }
        }
        guard let status else {
            // systemd closes extra connections at once (one request at a time).
            return fail("the update service ended without an answer; another update or status request may be running, try again")
        }
        return status
    }

    /// Reads the request line byte by byte, so not one byte of the bundle behind it is taken.
    public static func readRequestLine(from fd: Int32) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < 256 {
            let count = read(fd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            guard count == 1 else { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return nil
    }

    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            let result = written >= 0 || errno != ENOTSOCK ? written
                : bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { return false }
            offset += result
        }
        return true
    }

    private static func fail(_ message: String) -> Int32 {
        writeAll(2, Array("classbox update: \(message)\n".utf8))
        return 2
    }
}
