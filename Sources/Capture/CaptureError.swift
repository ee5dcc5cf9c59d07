#if canImport(Glibc)
import Glibc
#endif

/// Errors of the capture layer (V4L2, ALSA), each with what a person needs to act on it.
public enum CaptureError: Error, Equatable, CustomStringConvertible {
    case system(String, errno: Int32)
    case alsa(String, code: Int32, reason: String)
    /// The device is gone (USB unplug, power cut by the privacy switch).
    case disconnected(String)
    /// No frame arrived within the stall timeout.
    case stalled(String, seconds: Double)
    case notACaptureDevice(String)
    /// The camera offers no format the box can use, even through libv4l2's conversion.
    case noUsableFormat(String, offered: [String])
    case unsupported(String)
    /// The camera permit was revoked (the privacy switch closed): no more frames.
    case `private`(String)

    public var description: String {
        switch self {
        case .system(let call, let code): return "\(call): \(String(cString: strerror(code)))"
        case .alsa(let call, _, let reason): return "\(call): \(reason)"
        case .disconnected(let path): return "\(path) disconnected"
        case .stalled(let path, let seconds): return "\(path) delivered no frame for \(seconds) s"
        case .notACaptureDevice(let path): return "\(path) is not a video capture device with streaming I/O"
        case .noUsableFormat(let path, let offered):
            return "\(path) offers no usable picture format (offered: \(offered.isEmpty ? "none" : offered.joined(separator: ", ")))"
        case .unsupported(let message): return message
        case .private(let path): return "\(path) is private: the privacy switch is closed"
        }
    }

    /// True for errors after which the device may come back (unplug, stall).
    public var isTransient: Bool {
        switch self {
        case .disconnected, .stalled: return true
        case .system(_, let code): return code == ENODEV || code == ENOENT || code == EIO || code == ENXIO
        default: return false
        }
    }
}
