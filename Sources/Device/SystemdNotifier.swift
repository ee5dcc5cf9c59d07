#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd about the service's state (`sd_notify(3)`) without linking libsystemd:
/// one datagram per message to the socket named in `NOTIFY_SOCKET`.
///
/// `classbox.service` is `Type=notify` with `WatchdogSec=`: the box reports `READY=1`
/// once it runs, `WATCHDOG=1` at half the watchdog interval while healthy, and
/// `STOPPING=1` when it shuts down. Without `NOTIFY_SOCKET` every call does nothing.
public struct SystemdNotifier: Sendable {
    /// The socket path; a leading `@` names an abstract socket.
    public let socketPath: String?
    /// The watchdog interval, if systemd asked this process for keep-alive pings.
    public let watchdogInterval: Duration?

    public init(environment: [String: String], pid: Int32 = getpid()) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path.flatMap { ($0.hasPrefix("/") || $0.hasPrefix("@")) ? $0 : nil }
        // sd_watchdog_enabled(3): WATCHDOG_PID, when set, must name this process.
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == pid } ?? true
        if forUs, let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            watchdogInterval = .microseconds(Int64(clamping: usec))
        } else {
            watchdogInterval = nil
        }
    }

    public var isEnabled: Bool { socketPath != nil }

    public func ready(status: String) throws(DeviceError) { try send("READY=1\nSTATUS=\(status)") }
    public func status(_ status: String) throws(DeviceError) { try send("STATUS=\(status)") }
    public func watchdog() throws(DeviceError) { try send("WATCHDOG=1") }
    public func stopping(status: String) throws(DeviceError) { try send("STOPPING=1\nSTATUS=\(status)") }

    /// Sends one notification message (newline-separated `KEY=value` assignments).
    public func send(_ message: String) throws(DeviceError) {
        guard let socketPath else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system("socket", errno: errno) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }  // abstract namespace
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { throw .invalidArgument("NOTIFY_SOCKET path is too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (pathBytes.first == 0 ? 0 : 1))
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                sendto(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL), sockaddrPointer, length)
            }
        }
        guard sent == bytes.count else { throw .system("sendto \(socketPath)", errno: errno) }
    }
}
