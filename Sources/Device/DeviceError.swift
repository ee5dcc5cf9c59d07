#if canImport(Glibc)
import Glibc
#endif

/// Errors of the device layer, with the failing call and errno.
public enum DeviceError: Error, Equatable, CustomStringConvertible {
    case system(String, errno: Int32)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .system(let call, let code): return "\(call): \(String(cString: strerror(code)))"
        case .invalidArgument(let message): return message
        }
    }
}
