/// One problem found in a provisioning file, printed as
/// `FILE:LINE: key: what is wrong (what was expected)`.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: Sendable, Equatable {
        case error
        /// The file is usable, but something is probably not what IT intended.
        case warning
    }

    public var severity: Severity
    public var file: String
    /// 1-based line number.
    public var line: Int
    /// The dotted key (`camera.fps`, `network.turn[2].url`), or `syntax` for a line that
    /// could not be read as TOML at all.
    public var key: String
    public var message: String
    public var expected: String?

    public init(_ severity: Severity, file: String, line: Int, key: String, message: String, expected: String? = nil) {
        self.severity = severity
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        self.expected = expected
    }

    public var description: String {
        let prefix = severity == .warning ? "warning: " : ""
        let suffix = expected.map { " (\($0))" } ?? ""
        return "\(file):\(line): \(key): \(prefix)\(message)\(suffix)"
    }
}
