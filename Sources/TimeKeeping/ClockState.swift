#if canImport(Glibc)
import Glibc
#endif
import Updater

/// Whether the box may trust its clock, as `classbox clock` (classbox-clock.service) and
/// systemd-timesyncd leave it in /run for the box and for `classbox status`.
///
/// The keeper writes `/run/classbox-clock/state`, a few `key=value` lines (`state` waiting,
/// ntp or server; `sources`; `detail`, the last failure; `at`, when the clock was set).
/// systemd-timesyncd touches `/run/systemd/timesync/synchronized` once NTP has set the clock.
/// Without the keeper's directory (a development machine, `make run`) nothing is waited for.
public struct ClockState: Sendable, Equatable {
    public enum Source: String, Sendable, Equatable {
        /// Neither NTP nor the server has told the time since this boot.
        case waiting
        /// systemd-timesyncd synchronised the clock from the district's NTP servers.
        case ntp
        /// The keeper set (or confirmed) it from the `Date` of the district's server over HTTPS.
        case server
    }

    /// False where no keeper runs: such a machine's clock is its administrator's business.
    public var kept: Bool
    public var source: Source
    /// What the box waits for, e.g. "ntp.schule.example (NTP) or https://meet.schule.example".
    public var sources: String
    /// The last reason the time could not be had, for IT (one line, no secret).
    public var detail: String
    /// When the server's time was taken, in seconds since 1970 (as text).
    public var at: String

    public init(kept: Bool, source: Source, sources: String = "", detail: String = "", at: String = "") {
        (self.kept, self.source, self.sources, self.detail, self.at) = (kept, source, sources, detail, at)
    }

    /// Whether TLS certificates and tokens can be checked against the clock.
    public var isTrusted: Bool { !kept || source != .waiting }

    public static func directory(runDirectory: String) -> String { runDirectory + "/classbox-clock" }

    /// systemd-timesyncd's mark that NTP has set the clock (systemd >= 239).
    public static func ntpSynchronized(runDirectory: String) -> Bool {
        access(runDirectory + "/systemd/timesync/synchronized", F_OK) == 0
    }

    /// The state as the files in `runDirectory` say it now.
    public static func read(runDirectory: String = "/run") -> ClockState {
        let ntp = ntpSynchronized(runDirectory: runDirectory)
        var directoryStat = stat()
        guard stat(directory(runDirectory: runDirectory), &directoryStat) == 0 else {
            return ClockState(kept: false, source: ntp ? .ntp : .waiting)
        }
        let fields = parse(DurableFile.contents(of: directory(runDirectory: runDirectory) + "/state").map { String(decoding: $0, as: UTF8.self) } ?? "")
        var state = ClockState(kept: true, source: Source(rawValue: fields["state"] ?? "") ?? .waiting,
                               sources: fields["sources"] ?? "", detail: fields["detail"] ?? "", at: fields["at"] ?? "")
        if ntp { state.source = .ntp }  // NTP outranks a `Date` taken earlier
        return state
    }

    /// The file's text: one `key=value` per line, newlines in values replaced.
    public var serialized: String {
        let clean = { (text: String) in String(text.map { $0 == "\n" ? " " : $0 }) }
        return "state=\(source.rawValue)\nsources=\(clean(sources))\ndetail=\(clean(detail))\nat=\(clean(at))\n"
    }

    static func parse(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return fields
    }
}
