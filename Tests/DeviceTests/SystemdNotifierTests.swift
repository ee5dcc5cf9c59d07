import ClassboxTestSupport
import Foundation
import Testing
@testable import Device

@Suite struct SystemdNotifierTests {
    @Test func withoutNotifySocketNothingIsSent() throws {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled && notifier.watchdogInterval == nil)
        try notifier.ready(status: "x")  // a no-op, not an error
    }

    @Test func watchdogIntervalFollowsSdWatchdogEnabled() {
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "3000000"], pid: 42).watchdogInterval == .seconds(3))
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "42"], pid: 42).watchdogInterval == .seconds(3))
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "7"], pid: 42).watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "0"], pid: 42).watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "soon"], pid: 42).watchdogInterval == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/path"]).isEnabled == false)
    }

    @Test func messagesArriveAsOneDatagramEach() throws {
        let listener = try NotifyListener()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path])
        try notifier.ready(status: "camera private")
        try notifier.watchdog()
        try notifier.stopping(status: "bye")
        #expect(listener.receive(timeout: 2) == "READY=1\nSTATUS=camera private")
        #expect(listener.receive(timeout: 2) == "WATCHDOG=1")
        #expect(listener.receive(timeout: 2) == "STOPPING=1\nSTATUS=bye")
    }

    @Test func abstractSocketsAreSupported() throws {
        let name = "classbox-test-\(UUID().uuidString.prefix(8))"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = [UInt8(0)] + Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        try #require(bound == 0)
        try SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name]).watchdog()
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        #expect(count > 0 && String(decoding: buffer[0..<max(count, 0)], as: UTF8.self) == "WATCHDOG=1")
    }

    @Test func aVanishedSocketIsAnErrorNotACrash() {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent/notify"])
        #expect(throws: DeviceError.system("sendto /nonexistent/notify", errno: ENOENT)) { try notifier.watchdog() }
    }
}
