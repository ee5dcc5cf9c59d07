#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Writes log lines to stderr, one `write(2)` per line.
///
/// Under systemd (stderr connected to the journal, `JOURNAL_STREAM` matching it) each
/// line starts with a `<N>` syslog priority, which journald turns into the entry's level,
/// and carries no timestamp of its own. Elsewhere lines read
/// `2026-11-26T08:00:00.000Z info classbox: message key=value`.
///
/// What is logged is the caller's responsibility, and the box's rule is strict: no other
/// participant's name, JID or address, no secrets. On the image the journal lives in RAM.
public struct BoxLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let journal: Bool

    public init(label: String, journal: Bool) {
        self.label = label
        self.journal = journal
    }

    /// True when stderr is the journal stream systemd set up for this service.
    public static func stderrIsJournal(environment: [String: String]) -> Bool {
        guard let stream = environment["JOURNAL_STREAM"] else { return false }
        let parts = stream.split(separator: ":")
        var info = stat()
        guard parts.count == 2, fstat(2, &info) == 0 else { return false }
        return UInt64(parts[0]) == UInt64(info.st_dev) && UInt64(parts[1]) == UInt64(info.st_ino)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let fields = all.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let now = Self.timestamp()
        if event.level >= .warning { RecentProblems.shared.record(level: "\(event.level)", message: event.message.description, at: now) }
        let line: String
        if journal {
            line = "<\(Self.syslogPriority(event.level))>\(event.message)\(fields)\n"
        } else {
            line = "\(now) \(event.level) \(label): \(event.message)\(fields)\n"
        }
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }

    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        gmtime_r(&now.tv_sec, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
        let millis = now.tv_nsec / 1_000_000
        let base = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return base + "." + String(repeating: "0", count: millis < 10 ? 2 : millis < 100 ? 1 : 0) + "\(millis)Z"
    }
}
