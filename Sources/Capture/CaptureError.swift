#if canImport(Glibc)
import Glibc
#endif

/// Errors of the capture layer (V4L2, ALSA), with the failing call and its reason.
public enum CaptureError: Error, Equatable, CustomStringConvertible {
    case system(String, errno: Int32)
    case alsa(String, code: Int32, reason: String)

    public var description: String {
        switch self {
        case .system(let call, let code): return "\(call): \(String(cString: strerror(code)))"
        case .alsa(let call, _, let reason): return "\(call): \(reason)"
        }
    }
}
