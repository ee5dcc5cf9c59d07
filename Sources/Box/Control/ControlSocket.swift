#if canImport(Glibc)
import Glibc
#endif
import Runtime

/// Where the running box listens for the local commands `classbox switch` and `classbox
/// end`: a Unix datagram socket in the box's runtime directory, owner-only (mode 0600 in a
/// 0700 directory). Nothing here reaches the network.
enum RuntimeDirectory {
    /// `CLASSBOX_RUNTIME_DIR`, systemd's `RUNTIME_DIRECTORY`, `/run/classbox` for root,
    /// else `$XDG_RUNTIME_DIR/classbox` or `/tmp/classbox-<uid>`.
    static func path(environment: [String: String]) -> String {
        if let explicit = environment["CLASSBOX_RUNTIME_DIR"], !explicit.isEmpty { return explicit }
        if let systemd = environment["RUNTIME_DIRECTORY"], !systemd.isEmpty { return String(systemd.split(separator: ":")[0]) }
        if getuid() == 0 { return "/run/classbox" }
        if let xdg = environment["XDG_RUNTIME_DIR"], !xdg.isEmpty { return xdg + "/classbox" }
        return "/tmp/classbox-\(getuid())"
    }

    static func controlSocket(environment: [String: String]) -> String { path(environment: environment) + "/control" }
}

/// The server side, polled by the box.
final class ControlSocket: @unchecked Sendable {
    let path: String
    let fd: Int32

    init(path: String) throws(ControlError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty { mkdir(directory, 0o700) }
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw ControlError("socket: \(String(cString: strerror(errno)))") }
        self.path = path
        let previous = umask(0o177)
        defer { umask(previous) }
        guard Self.withAddress(path, { bind(fd, $0, $1) }) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ControlError("cannot listen on \(path): \(reason)")
        }
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Reads one waiting command, if any, and lets `answer` reply to its sender.
    func receive(_ answer: (String) -> String) {
        var buffer = [UInt8](repeating: 0, count: 512)
        var peer = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let count = withUnsafeMutablePointer(to: &peer) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) }
        }
        guard count > 0 else { return }
        let reply = Array(answer(String(decoding: buffer[0..<count], as: UTF8.self)).utf8)
        _ = withUnsafePointer(to: &peer) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, reply, reply.count, 0, $0, length) }
        }
    }

    /// Sends `command` to the box listening at `path` and returns its reply.
    static func send(_ command: String, to path: String, timeout: Int32 = 10_000) throws(ControlError) -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // An abstract-namespace reply address unique to this process (Linux), so nothing is left behind.
        var local = sockaddr_un()
        local.sun_family = sa_family_t(AF_UNIX)
        let name = Array("\0classbox-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))".utf8)
        withUnsafeMutableBytes(of: &local.sun_path) { $0.copyBytes(from: name.prefix($0.count)) }
        let localLength = socklen_t(MemoryLayout<sa_family_t>.size + name.count)
        _ = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, localLength) } }
        let message = Array(command.utf8)
        guard withAddress(path, { sendto(fd, message, message.count, 0, $0, $1) }) >= 0 else {
            throw ControlError("no running box listens at \(path) (\(String(cString: strerror(errno))))")
        }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, timeout) > 0 else { throw ControlError("the box did not answer within \(timeout / 1000) s") }
        var buffer = [UInt8](repeating: 0, count: 65536)  // the status report is a few KiB
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
    }

    static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8.prefix(107)) + [0]
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes.prefix($0.count)) }
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
    }
}

struct ControlError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The client side, for the `classbox` subcommands.
public enum BoxControl {
    public static func send(_ command: String, environment: [String: String]) -> Result<String, any Error> {
        do {
            return .success(try ControlSocket.send(command, to: RuntimeDirectory.controlSocket(environment: environment)))
        } catch {
            return .failure(error)
        }
    }
}
