#if canImport(Glibc)
import Glibc
#endif
import Runtime
import Updater

/// classbox-clock.service: gives the box a clock it can trust on a board without a battery
/// clock, in a school that may block NTP.
///
/// At boot PID 1 has already moved the clock to the image's build time (`/usr/lib/clock-epoch`)
/// and systemd-timesyncd to the last time it saved on the data partition (its clock file,
/// touched at every sync and every minute): a floor, not the time. The keeper then
/// 1. names the district's NTP servers to systemd-timesyncd (a drop-in in /run, written
///    before timesyncd starts; the image's own drop-in removes Debian's public fallback servers),
/// 2. waits a little for NTP, and failing that asks the district's server for its `Date`
///    over HTTPS, moving the clock forward only,
/// 3. writes ``ClockState`` for the box, which signs in only once the clock is trusted, and
///    asks the server again every hour while NTP stays silent.
public final class ClockKeeper {
    public struct Configuration: Sendable {
        public var ntpServers: [String]
        public var server: ServerClock?
        public var runDirectory = "/run"
        /// How long NTP has to answer before the server's `Date` is asked.
        public var ntpGrace: UInt64 = 20_000_000_000
        public var recheck: UInt64 = 3_600_000_000_000

        public init(ntpServers: [String], server: ServerClock?) {
            (self.ntpServers, self.server) = (ntpServers, server)
        }

        /// What the box waits for, as IT reads it.
        public var sources: String {
            var names = ntpServers.isEmpty ? [] : ["\(ntpServers.joined(separator: ", ")) (NTP)"]
            if let server { names.append(server.url) }
            return names.isEmpty ? "no time source (network.ntp is empty and the server is not wss://)" : names.joined(separator: " or ")
        }
    }

    let configuration: Configuration
    let log: (String) -> Void
    /// Seconds since 1970 as UTC text, with the zone.
    let utc: (Int64) -> String
    /// Sets the real-time clock (nanoseconds since 1970); clock_settime, or a test's own.
    let setClock: (Int64) -> Int32

    public init(configuration: Configuration, log: @escaping (String) -> Void, utc: @escaping (Int64) -> String,
                setClock: @escaping (Int64) -> Int32 = ClockKeeper.setRealtime) {
        (self.configuration, self.log, self.utc, self.setClock) = (configuration, log, utc, setClock)
    }

    /// The drop-in for systemd-timesyncd: only the district's NTP servers (none: NTP stays off).
    public var timesyncdDropIn: String {
        "# Written by classbox-clock.service from network.ntp of the provisioning file.\n[Time]\nNTP=\(configuration.ntpServers.joined(separator: " "))\n"
    }

    public func writeTimesyncdDropIn() throws(KeeperError) {
        try Self.replace(configuration.runDirectory + "/systemd/timesyncd.conf.d", "50-classbox.conf", with: timesyncdDropIn)
    }

    public struct KeeperError: Error, CustomStringConvertible { public var description: String }

    /// Runs for good (systemd stops it), or until `shouldStop` says so (tests).
    public func run(shouldStop: () -> Bool = { false }) {
        let started = Monotonic.nanoseconds()
        log("the clock reads \(utc(ServerClock.realtime() / 1_000_000_000)) at start; time from \(configuration.sources)")
        // Restarted (a new provisioning file): a clock the server set already stays trusted.
        let previous = ClockState.read(runDirectory: configuration.runDirectory)
        var state = ClockState(kept: true, source: previous.kept && previous.source == .server ? .server : .waiting,
                               sources: configuration.sources, at: previous.at)
        write(state)
        var nextAsk = started + (configuration.ntpServers.isEmpty ? 0 : configuration.ntpGrace)
        var failures = 0
        var lastFailureLogged: (text: String, at: UInt64)?
        while !shouldStop() {
            let now = Monotonic.nanoseconds()
            if ClockState.ntpSynchronized(runDirectory: configuration.runDirectory) {
                if state.source != .ntp {
                    state.source = .ntp
                    state.detail = ""
                    write(state)
                    log("synchronised by NTP (\(configuration.ntpServers.joined(separator: ", "))): \(utc(ServerClock.realtime() / 1_000_000_000))")
                }
            } else if let server = configuration.server, now >= nextAsk {
                if failures == 0 && state.source == .waiting {
                    // By now systemd-timesyncd has moved the clock to the time it saved last.
                    let silence = configuration.ntpServers.isEmpty ? "" : "no answer from NTP within \(configuration.ntpGrace / 1_000_000_000) s; "
                    log("\(silence)the clock reads \(utc(ServerClock.realtime() / 1_000_000_000)); asking \(server.url) for the time")
                }
                do {
                    let answer = try server.ask()
                    apply(answer, from: server)
                    state.source = .server
                    state.detail = ""
                    state.at = String(ServerClock.realtime() / 1_000_000_000)
                    write(state)
                    failures = 0
                    nextAsk = Monotonic.nanoseconds() + configuration.recheck
                } catch {
                    // A box that had the time keeps trusting it; a waiting one says why it waits.
                    state.detail = error.description
                    write(state)
                    if lastFailureLogged?.text != error.description || now - (lastFailureLogged?.at ?? 0) > 600_000_000_000 {
                        log("no time from \(server.url) yet: \(error.description)")
                        lastFailureLogged = (error.description, now)
                    }
                    nextAsk = now + min(60, UInt64(1) << min(failures + 1, 6)) * 1_000_000_000
                    failures += 1
                }
            }
            usleep(state.source == .waiting ? 250_000 : 1_000_000)
        }
    }

    func apply(_ answer: ServerClock.Answer, from server: ServerClock) {
        // NTP came meanwhile: it is the better source.
        guard !ClockState.ntpSynchronized(runDirectory: configuration.runDirectory) else { return }
        let now = ServerClock.realtime()
        let correction = ClockCorrection.decide(serverDate: answer.date, roundTrip: answer.roundTrip,
                                                sinceAnswer: Int64(Monotonic.nanoseconds() - answer.receivedAt), realtimeNow: now)
        switch correction {
        case .stepForward(let offset):
            let target = now + offset
            if setClock(target) == 0 {
                log("set the clock forward by \(Self.seconds(offset)) from \(server.url): \(utc(target / 1_000_000_000))")
            } else {
                log("cannot set the clock (\(String(cString: strerror(errno)))); it is \(Self.seconds(offset)) behind \(server.url)")
            }
        case .agrees(let offset):
            log("the clock agrees with \(server.url) (within \(Self.seconds(offset < 0 ? -offset : offset)))")
        case .ahead(let offset):
            log("the clock is \(Self.seconds(offset)) ahead of \(server.url); it is never moved back (NTP may correct it)")
        }
    }

    static func seconds(_ nanoseconds: Int64) -> String {
        let tenths = nanoseconds / 100_000_000
        return "\(tenths / 10).\(tenths % 10) s"
    }

    public static func setRealtime(_ nanoseconds: Int64) -> Int32 {
        var time = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        return clock_settime(CLOCK_REALTIME, &time)
    }

    func write(_ state: ClockState) {
        try? Self.replace(ClockState.directory(runDirectory: configuration.runDirectory), "state", with: state.serialized)
    }

    /// Writes `name` in `directory` (made if missing) with ``DurableFile``: a reader sees the
    /// old or the new text, never half of one.
    static func replace(_ directory: String, _ name: String, with text: String) throws(KeeperError) {
        var path = ""
        for part in directory.split(separator: "/") {
            path += "/" + part
            if mkdir(path, 0o755) != 0 && errno != EEXIST { throw KeeperError(description: "cannot make \(path): \(String(cString: strerror(errno)))") }
        }
        do {
            try DurableFile.replace(directory + "/" + name, with: Array(text.utf8), mode: 0o644)
        } catch {
            throw KeeperError(description: "\(error)")
        }
    }
}
