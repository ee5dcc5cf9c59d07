#if canImport(Glibc)
import Glibc
#endif

/// Why an update step failed, in words for the admin's terminal.
public enum UpdateError: Error, CustomStringConvertible, Equatable {
    case system(String, errno: Int32)
    case refused(String)
    case failed(String)

    public var description: String {
        switch self {
        case .system(let what, let number): return "\(what): \(String(cString: strerror(number)))"
        case .refused(let why): return "refused: \(why)"
        case .failed(let why): return why
        }
    }
}
