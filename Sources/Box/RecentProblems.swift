import Synchronization

/// The last warnings and errors the box logged, for `classbox status`: IT asks a box over SSH
/// what went wrong lately without reading its journal (which lives in RAM and may be gone).
/// Log lines carry no secrets and no one's name (``BoxLogHandler``'s rule), so neither does
/// this; it is memory only, like everything the box knows.
public final class RecentProblems: Sendable {
    public struct Entry: Sendable, Equatable {
        public var at: String
        public var level: String
        public var message: String
        /// The same message again right after: counted, not repeated.
        public var repeats: Int
    }

    public static let shared = RecentProblems()
    /// How many distinct problems are kept, newest last.
    public static let kept = 5
    private let entries = Mutex<[Entry]>([])

    public init() {}

    public func record(level: String, message: String, at: String) {
        entries.withLock { entries in
            if let last = entries.last, last.message == message, last.level == level {
                entries[entries.count - 1].repeats += 1
                entries[entries.count - 1].at = at
                return
            }
            entries.append(Entry(at: at, level: level, message: message, repeats: 0))
            if entries.count > Self.kept { entries.removeFirst(entries.count - Self.kept) }
        }
    }

    public var all: [Entry] { entries.withLock { $0 } }
}
