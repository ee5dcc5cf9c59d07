import Foundation

/// A peer program (gst-launch-1.0, python3, ...) run by a test, output in a log file.
public final class ExternalProcess: @unchecked Sendable {
    public let child: SpawnedProcess

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        child = try SpawnedProcess(executable, arguments, environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
    }

    /// Sends SIGINT (GStreamer with -e then finishes its files) and waits up to `timeout` s.
    public func interrupt(timeout: Double = 10) {
        child.signal(SIGINT)
        child.wait(timeout: timeout)
    }

    public var output: String { child.stdout + child.stderr }

    /// Finds an executable on PATH.
    public static func which(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// A TCP port that is free right now on 127.0.0.1 (for a server the test starts).
    public static func freeTCPPort() -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        return bindToLoopback(fd)
    }

    /// Binds an IPv4 socket to 127.0.0.1 on a port the kernel picks, and returns that port.
    public static func bindToLoopback(_ fd: Int32) -> UInt16 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return UInt16(bigEndian: address.sin_port)
    }

    /// Waits until something accepts TCP connections on 127.0.0.1:`port`.
    public static func waitForTCP(port: Int, timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if connected == 0 { return }
            usleep(50_000)
        }
        throw CocoaError(.fileReadNoSuchFile, userInfo: ["port": port])
    }

    /// A UDP port that is free right now on 127.0.0.1 (for a peer that binds it itself).
    public static func freeUDPPort() -> UInt16 { BoundUDPPort().port }

    /// A scratch copy of the simulated board's provisioning file and its secret.
    /// `screen`: keep the sim board's snapshot display; without it the box runs without a
    /// screen, as the tests before the screen did (a PNG a second costs CPU the cores lack).
    public static func simConfig(appending extra: String = "", replacing replacements: [String: String] = [:], screen: Bool = false) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("classbox-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let source = ClassboxProcess.packageRoot.appendingPathComponent("Board/sim/classbox.toml").path
        var text = try String(contentsOfFile: source, encoding: .utf8)
        if !screen { text = text.replacingOccurrences(of: "device = \"snapshot\"", with: "device = \"none\"") }
        for (old, new) in replacements {
            guard text.contains(old) else { throw CocoaError(.fileReadCorruptFile, userInfo: ["missing": old]) }
            text = text.replacingOccurrences(of: old, with: new)
        }
        try (text + extra).write(toFile: directory + "/classbox.toml", atomically: true, encoding: .utf8)
        try "secret-of-the-test-room\n".write(toFile: directory + "/room-password", atomically: true, encoding: .utf8)
        chmod(directory + "/room-password", 0o600)
        return directory + "/classbox.toml"
    }
}

/// A UDP port held open on 127.0.0.1 for as long as this lives, so datagrams sent to it are
/// accepted (and, unread, dropped by the kernel) instead of bouncing with "port unreachable".
public final class BoundUDPPort: @unchecked Sendable {
    public let port: UInt16
    private let fd: Int32

    public init() {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }
}
