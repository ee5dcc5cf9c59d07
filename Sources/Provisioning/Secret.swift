/// A secret read from a file next to the configuration (a room password, a TURN
/// credential). It never prints itself, so it cannot leak into a log line by accident.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The file it came from, for messages.
    public let path: String
    private let bytes: [UInt8]

    public init(path: String, value: String) {
        self.path = path
        self.bytes = Array(value.utf8)
    }

    /// The secret itself; call this only where it goes on the wire.
    public func reveal() -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    public var description: String { "<secret from \(path)>" }
    public var debugDescription: String { description }
}
