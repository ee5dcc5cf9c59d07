#if canImport(Glibc)
import Glibc
#endif
internal import CLinux
import Runtime
import Synchronization

/// Watches the kernel's rtnetlink broadcasts for changes under a call — a DHCP lease renewed
/// with a new address, a cable pulled and plugged, the default route moved — so the box can
/// restart its media at once instead of waiting up to 30 s for ICE consent to run out. The
/// kernel sends bursts (an address, its routes, IPv6 link-local addresses again after a link
/// comes up): changes are gathered until `quiet` passes without one, then handed over at once.
public final class NetworkChangeMonitor: @unchecked Sendable {
    private let descriptor: Int32
    private let wake = Wakeup()
    private let stopping = Atomic<Bool>(false)
    private var thread: BackgroundThread?

    /// Nil when the kernel refuses the socket (no netlink, as in some containers).
    public init?(quiet: UInt64 = 1_000_000_000, onChange: @escaping @Sendable ([RouteChange]) -> Void) {
        let descriptor = clinux_open_route_socket()
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
        // Unowned: deinit stops (joins) the thread before the monitor goes away.
        guard let thread = try? BackgroundThread(name: "classbox-netwatch", { [unowned self] in watch(quiet: quiet, onChange: onChange) }) else {
            close(descriptor)
            return nil
        }
        self.thread = thread
    }

    deinit {
        stop()
        close(descriptor)
    }

    public func stop() {
        guard let thread else { return }
        stopping.store(true, ordering: .relaxed)
        wake.signal()
        thread.join()
        self.thread = nil
    }

    private func watch(quiet: UInt64, onChange: ([RouteChange]) -> Void) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16384, alignment: 8)
        defer { buffer.deallocate() }
        var pending: [RouteChange] = []
        var lastAt: UInt64 = 0
        var descriptors = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.descriptor, events: Int16(POLLIN), revents: 0)]
        while !stopping.load(ordering: .relaxed) {
            let now = Monotonic.nanoseconds()
            if !pending.isEmpty && now >= lastAt + quiet {
                onChange(pending)
                pending.removeAll()
            }
            let wait = pending.isEmpty ? Int32(-1) : Int32(clamping: (lastAt + quiet - min(now, lastAt + quiet)) / 1_000_000 + 1)
            _ = poll(&descriptors, 2, wait)
            if descriptors[1].revents != 0 { wake.drain() }
            guard descriptors[0].revents != 0 else { continue }
            while true {
                let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
                if count < 0 && errno == EINTR { continue }
                // The kernel dropped messages (the socket overflowed): something changed.
                if count < 0 && errno == ENOBUFS {
                    pending.append(.messagesLost)
                    lastAt = Monotonic.nanoseconds()
                    continue
                }
                guard count > 0 else { break }
                let changes = RouteChange.changes(in: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                if !changes.isEmpty {
                    pending += changes
                    lastAt = Monotonic.nanoseconds()
                }
            }
        }
    }
}
