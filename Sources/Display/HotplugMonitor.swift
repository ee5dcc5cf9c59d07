import Glibc
internal import CLinux

/// Screens plugged in, switched on, swapped or pulled: the kernel's DRM hotplug uevents
/// (`SUBSYSTEM=drm`, `HOTPLUG=1`), read straight from the kernel's netlink broadcast, so the
/// box needs no udev. A TV switched on after the box, or a projector swapped in the break,
/// is probed again instead of staying dark until the next power-on.
public final class HotplugMonitor {
    /// Poll this for POLLIN; then call `drmHotplugOccurred()`.
    public let descriptor: Int32
    private var buffer = [UInt8](repeating: 0, count: 8192)

    /// Nil when the kernel refuses the socket (no netlink in a container): the owner then
    /// re-probes on a timer instead.
    public init?() {
        let descriptor = clinux_open_uevent_socket()
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Reads every waiting uevent; true when one of them was a DRM hotplug.
    public func drmHotplugOccurred() -> Bool {
        var hotplug = false
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            // The kernel dropped uevents (the socket overflowed): one may have been a hotplug.
            if count < 0 && errno == ENOBUFS { hotplug = true; continue }
            guard count > 0 else { return hotplug }
            if Self.isDRMHotplug(buffer[0..<count]) { hotplug = true }
        }
    }

    /// A kernel uevent: "ACTION@DEVPATH" then NUL-separated KEY=VALUE fields.
    static func isDRMHotplug(_ message: ArraySlice<UInt8>) -> Bool {
        var drm = false, hotplug = false
        for field in message.split(separator: 0) {
            if field.elementsEqual("SUBSYSTEM=drm".utf8) { drm = true }
            if field.elementsEqual("HOTPLUG=1".utf8) { hotplug = true }
        }
        return drm && hotplug
    }
}
