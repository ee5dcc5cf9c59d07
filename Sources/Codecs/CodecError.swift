/// Errors of the codec wrappers, with the library's own message.
public enum CodecError: Error, Equatable, CustomStringConvertible {
    case vpx(String, message: String)
    case opus(String, code: Int32)
    case invalidSettings(String)

    public var description: String {
        switch self {
        case .vpx(let call, let message): return "\(call): \(message)"
        case .opus(let call, let code): return "\(call): opus error \(code)"
        case .invalidSettings(let message): return message
        }
    }
}
