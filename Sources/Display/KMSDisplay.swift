import Composition
import Glibc
internal import CDRM

public enum DisplayError: Error, CustomStringConvertible, Equatable {
    case noDevice
    case cannotOpen(path: String, errno: Int32)
    case noDumbBuffers(path: String)
    case noConnectedScreen(path: String)
    case noController(path: String, connector: String)
    case bufferFailed(String, errno: Int32)
    case modeSetFailed(connector: String, mode: String, errno: Int32)

    public var description: String {
        switch self {
        case .noDevice: "no display device (/dev/dri/card*)"
        case .cannotOpen(let path, let code): "cannot open \(path): \(String(cString: strerror(code)))"
        case .noDumbBuffers(let path): "\(path) cannot allocate scan-out buffers (no dumb buffers)"
        case .noConnectedScreen(let path): "no screen is connected to \(path)"
        case .noController(let path, let connector): "\(path): no display controller can drive \(connector)"
        case .bufferFailed(let what, let code): "scan-out buffer: \(what) failed: \(String(cString: strerror(code)))"
        case .modeSetFailed(let connector, let mode, let code): "cannot set \(mode) on \(connector): \(String(cString: strerror(code)))"
        }
    }
}

/// The classroom screen through Linux kernel mode setting (libdrm), without X or Wayland:
/// the first connected connector, a mode chosen by `DisplayModeChoice`, two XRGB8888 dumb
/// buffers, page flips at vertical blank (no tearing) whose completion arrives as an event on
/// `descriptor`, to be read with `handleEvents()` from the owner's poll loop.
///
/// Drawing: into `canvas` (the back buffer) only while no flip is pending; `present()`
/// flips it to the screen. So a frame waits at most one refresh: the added latency is one
/// frame, as the issue allows. The sequence follows `research/next-stage.md` §3.3, tried on
/// bochs-drm and virtio-gpu.
///
/// Not thread-safe: one thread (the screen's) owns it.
public final class KMSDisplay {
    public let path: String
    /// The connector's name as the kernel's sysfs and `modetest` spell it ("HDMI-A-1").
    public let connectorName: String
    public let mode: DisplayMode
    /// The kernel driver's name ("vc4", "bochs-drm", "virtio_gpu"), for the log.
    public let driverName: String
    /// Why the requested mode was not used (nil: it was, or none was requested).
    public let modeNote: String?
    /// Poll this for POLLIN; then call `handleEvents()`.
    public let descriptor: Int32

    public private(set) var flipsCompleted = 0
    public var isFlipPending: Bool { pending != nil }

    private let connectorID: UInt32
    private let controllerID: UInt32
    private var modeInfo: drmModeModeInfo
    private var buffers: [ScanOutBuffer] = []
    /// The buffer on screen (nil before the first mode set) and the one flipping to it.
    private var front: Int?
    private var pending: Int?

    /// Opens `path`, or the first `/dev/dri/card*` with a connected screen.
    public init(path: String? = nil, requested: RequestedDisplayMode? = nil) throws(DisplayError) {
        let opened = try Self.openFirst(path.map { [$0] } ?? Self.cards(), requested: requested)
        self.path = opened.path
        descriptor = opened.descriptor
        connectorName = opened.probe.connectorName
        connectorID = opened.probe.connectorID
        controllerID = opened.probe.controllerID
        modeInfo = opened.probe.modeInfo
        mode = opened.probe.choice.mode
        modeNote = opened.probe.choice.note
        buffers = opened.buffers
        if let version = drmGetVersion(opened.descriptor) {
            driverName = version.pointee.name.map { String(cString: $0) } ?? "unknown"
            drmFreeVersion(version)
        } else {
            driverName = "unknown"
        }
    }

    private static func openFirst(_ candidates: [String], requested: RequestedDisplayMode?) throws(DisplayError)
        -> (path: String, descriptor: Int32, probe: Probe, buffers: [ScanOutBuffer]) {
        var lastError = DisplayError.noDevice
        for card in candidates {
            let descriptor = open(card, O_RDWR | O_CLOEXEC | O_NONBLOCK)
            guard descriptor >= 0 else { lastError = .cannotOpen(path: card, errno: errno); continue }
            do throws(DisplayError) {
                let probe = try probe(descriptor, path: card, requested: requested)
                var buffers: [ScanOutBuffer] = []
                for _ in 0..<2 {
                    buffers.append(try ScanOutBuffer(descriptor: descriptor, width: probe.choice.mode.width, height: probe.choice.mode.height))
                }
                return (card, descriptor, probe, buffers)
            } catch {
                close(descriptor)  // buffers made so far were released when the array went away
                lastError = error
            }
        }
        throw lastError
    }

    deinit {
        buffers.removeAll()  // frame buffers removed before the device closes
        close(descriptor)  // the kernel gives the screen back to its console
    }

    /// The DRM primary nodes present, in order.
    public static func cards() -> [String] {
        (0..<16).map { "/dev/dri/card\($0)" }.filter { access($0, F_OK) == 0 }
    }

    /// The buffer to draw the next frame into (not on screen, not flipping).
    public var canvas: ScreenCanvas {
        precondition(pending == nil, "no drawing while a flip is pending: the buffer may be on its way to the screen")
        return buffers[back].canvas
    }

    private var back: Int { front == 0 ? 1 : 0 }
    /// Which buffer `canvas` is (0 or 1).
    public var backBufferIndex: Int { back }

    /// Shows the back buffer: the first time by setting the mode, then by a page flip at the
    /// next vertical blank. Returns false (nothing done) while the last flip is pending.
    @discardableResult
    public func present() throws(DisplayError) -> Bool {
        guard pending == nil else { return false }
        let next = back
        guard front != nil else {
            var connector = connectorID
            guard drmModeSetCrtc(descriptor, controllerID, buffers[next].frameBuffer, 0, 0, &connector, 1, &modeInfo) == 0 else {
                throw .modeSetFailed(connector: connectorName, mode: mode.description, errno: errno)
            }
            front = next
            return true
        }
        let user = Unmanaged.passUnretained(self).toOpaque()
        guard drmModePageFlip(descriptor, controllerID, buffers[next].frameBuffer, UInt32(DRM_MODE_PAGE_FLIP_EVENT), user) == 0 else {
            throw .modeSetFailed(connector: connectorName, mode: "a page flip", errno: errno)
        }
        pending = next
        return true
    }

    /// Reads the device's events (flip completions); call when `descriptor` is readable.
    public func handleEvents() {
        _ = classbox_drm_handle_flip_events(descriptor, { _, _, _, _, user in
            guard let user else { return }
            Unmanaged<KMSDisplay>.fromOpaque(user).takeUnretainedValue().flipCompleted()
        })
    }

    private func flipCompleted() {
        guard let pending else { return }
        front = pending
        self.pending = nil
        flipsCompleted += 1
    }

    /// Waits up to `milliseconds` for the pending flip; true when none is pending any more.
    public func waitForFlip(milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while pending != nil {
            guard poll(&entry, 1, milliseconds) > 0 else { return false }
            handleEvents()
        }
        return true
    }

    /// Whether a screen is still connected to this display's connector (asks the kernel,
    /// which re-probes the link: call it on a hotplug event, not per frame).
    public func isConnected() -> Bool {
        guard let connector = drmModeGetConnector(descriptor, connectorID) else { return false }
        defer { drmModeFreeConnector(connector) }
        return connector.pointee.connection == DRM_MODE_CONNECTED && connector.pointee.count_modes > 0
    }
}
