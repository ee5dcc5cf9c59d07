#if canImport(Glibc)
import Glibc
#endif
import JSON
import Provisioning
import TimeKeeping
import Transport
import Updater

/// `classbox status` (and `ssh status@box`): one screen for IT — firmware and slot, uptime,
/// the clock, the network, the conference, the media, the privacy state and the last
/// problems — or the same as JSON (`--json`) for a fleet's table.
///
/// Two halves: what the running box knows (``live(_:rates:config:problems:)``, answered on its
/// control socket) and what the machine says (``system()``, read by the command itself, so
/// the report works while the box is down). Counts only: no one's name, no address but the
/// box's own, no secret.
public enum StatusReport {
    /// The running box's half.
    static func live(_ snapshot: ConferenceSnapshot, rates: (video: Int, audio: Int), config: ProvisioningConfig,
                     problems: [RecentProblems.Entry]) -> JSONValue {
        let optional = { (value: Int?) -> JSONValue in value.map { .number(Double($0)) } ?? .null }
        return .object([
            ("conference", .object([
                ("server", .string(config.server.host)), ("room", .string(config.room.label)), ("state", .string(snapshot.state)),
                ("in_room", .bool(snapshot.inRoom)), ("others", .number(Double(snapshot.others))),
                ("signalling_interrupted", .bool(snapshot.signallingInterrupted)), ("signalling_resumes", .number(Double(snapshot.resumes))),
                ("rejoins", .number(Double(snapshot.rejoins))), ("token", snapshot.tokenNote.map(JSONValue.string) ?? .null),
            ])),
            ("media", .object([
                ("connected", .bool(snapshot.mediaConnected)), ("path", snapshot.mediaPath.map(JSONValue.string) ?? .null),
                ("video_kbps", .number(Double(rates.video))), ("audio_kbps", .number(Double(rates.audio))),
                ("video_target_kbps", .number(Double(snapshot.videoTargetKbps))),
                ("round_trip_ms", optional(snapshot.roundTripMs)), ("loss_reported_percent", optional(snapshot.reportedLossPercent)),
                ("received_packets", .number(Double(snapshot.receivedPackets))),
                ("hearing", .number(Double(snapshot.heardSources))), ("seeing", .number(Double(snapshot.seenSources))),
                ("bridge_channel_open", snapshot.bridgeChannelOpen.map(JSONValue.bool) ?? .null),
                ("watched_lines", optional(snapshot.watchedLines >= 0 ? snapshot.watchedLines : nil)),
            ])),
            ("privacy", .object([("camera", .string(snapshot.cameraLive ? "live" : "private")),
                                 ("microphone", .string(snapshot.micMuted ? "muted" : "on"))])),
            ("problems", .array(problems.map { entry in
                .object([("at", .string(entry.at)), ("level", .string(entry.level)), ("message", .string(entry.message)),
                         ("repeats", .number(Double(entry.repeats)))])
            })),
        ])
    }

    /// The machine's half: firmware, the booted slot, uptime, the clock, the box's addresses.
    public static func system(procDirectory: String = "/proc", runDirectory: String = "/run", versionFile: String = UpdatePaths().versionFile) -> JSONValue {
        let cmdline = UpdateInstaller.firstLine(of: procDirectory + "/cmdline") ?? ""
        let slot = cmdline.split(separator: " ").first { $0.hasPrefix("rauc.slot=") }.map { String($0.dropFirst("rauc.slot=".count)) }
        let uptime = UpdateInstaller.firstLine(of: procDirectory + "/uptime").flatMap { $0.split(separator: " ").first }.flatMap { Double($0) }
        let clock = ClockState.read(runDirectory: runDirectory)
        // NTP (systemd-timesyncd's mark), or the district server's `Date` (classbox-clock.service).
        let synchronized = clock.source != .waiting
        var clockMembers: [(String, JSONValue)] = [("utc", .string(BoxLogHandler.timestamp())), ("synchronized", .bool(synchronized))]
        if clock.kept || synchronized {
            clockMembers.append(("source", .string(clock.source == .ntp ? "ntp" : clock.source == .server ? "server" : "none")))
        }
        if clock.kept {
            clockMembers.append(("from", .string(clock.sources)))
            if clock.source == .server, let at = Int(clock.at) { clockMembers.append(("server_time_at", .string(UpdateStatusReport.utc(at)))) }
            if !clock.detail.isEmpty { clockMembers.append(("problem", .string(clock.detail))) }
        }
        return .object([
            // The image's version (what updates compare); a development build has none.
            ("firmware", .string(UpdateInstaller.firstLine(of: versionFile) ?? ClassboxVersion.current)), ("slot", slot.map(JSONValue.string) ?? .null),
            ("uptime_s", uptime.map { .number($0.rounded()) } ?? .null),
            ("clock", .object(clockMembers)),
            ("addresses", .array(LocalAddresses.list(ipv6: true).map { .string($0.host) })),
        ])
    }

    /// Both halves, the box's asked on its control socket in `environment`'s runtime directory.
    public static func collect(environment: [String: String]) -> JSONValue {
        switch BoxControl.send("status-json", environment: environment) {
        case .success(let reply):
            guard let live = JSONValue(parsing: reply), live.members != nil else {
                return combined(system: system(), box: nil, unreachable: "the box answered: \(reply.prefix(200))")
            }
            return combined(system: system(), box: live)
        case .failure(let error):
            return combined(system: system(), box: nil, unreachable: "\(error)")
        }
    }

    /// The whole report: the machine's half with the box's (`box` is nil or an error text when it is not running).
    public static func combined(system: JSONValue, box live: JSONValue?, unreachable reason: String = "") -> JSONValue {
        var members = system.members ?? []
        if let live {
            members.append(("box", .object([("running", .bool(true))] + (live.members ?? []))))
        } else {
            members.append(("box", .object([("running", .bool(false)), ("reason", .string(reason))])))
        }
        return .object(members)
    }

    /// How the clock got its time, or for what the box waits.
    static func clockText(_ clock: JSONValue?) -> String {
        switch clock?["source"]?.stringValue {
        case "ntp": return "synchronised by NTP"
        case "server":
            return "set from the district server's Date at \(clock?["server_time_at"]?.stringValue ?? "?") (NTP has not answered)"
        case "none":
            let problem = clock?["problem"]?.stringValue.map { ": \($0)" } ?? ""
            return "not synchronised: waiting for the time from \(clock?["from"]?.stringValue ?? "?")\(problem)"
        default:
            return clock?["synchronized"]?.boolValue == true ? "synchronised" : "not synchronised (yet)"
        }
    }

    /// The report as a person reads it.
    public static func text(_ report: JSONValue) -> String {
        func string(_ value: JSONValue?) -> String? { value?.stringValue }
        func number(_ value: JSONValue?) -> Int? { value?.doubleValue.map { Int($0) } }
        var lines: [String] = []
        let uptime = number(report["uptime_s"]).map { "up \($0 / 86_400 > 0 ? "\($0 / 86_400) d " : "")\($0 % 86_400 / 3600) h \($0 % 3600 / 60) min" } ?? "uptime unknown"
        lines.append("Classbox \(string(report["firmware"]) ?? "?") · slot \(string(report["slot"]) ?? "unknown") · \(uptime)")
        let clock = report["clock"]
        lines.append("clock: \(string(clock?["utc"]) ?? "?"), " + clockText(clock))
        let addresses = report["addresses"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let box = report["box"]
        let media = box?["media"]
        lines.append("network: \(addresses.isEmpty ? "no address" : addresses.joined(separator: ", "))"
                     + (string(media?["path"]).map { " · media \($0)" } ?? ""))
        guard box?["running"]?.boolValue == true, let conference = box?["conference"] else {
            lines.append("box: not running (\(string(box?["reason"]) ?? "no answer"))")
            return lines.joined(separator: "\n")
        }
        var call = ["\(string(conference["state"]) ?? "?") · room \"\(string(conference["room"]) ?? "?")\" on \(string(conference["server"]) ?? "?")"]
        if conference["in_room"]?.boolValue == true {
            let others = number(conference["others"]) ?? 0
            call.append(others == 1 ? "1 other participant" : "\(others) other participants")
        }
        if conference["signalling_interrupted"]?.boolValue == true { call.append("signalling connection lost, resuming") }
        call.append("signalling resumed \(number(conference["signalling_resumes"]) ?? 0)×, rejoined \(number(conference["rejoins"]) ?? 0)×")
        if let token = string(conference["token"]) { call.append(token) }
        lines.append("conference: " + call.joined(separator: " · "))
        if media?["connected"]?.boolValue == true, let media {
            var parts = ["video \(number(media["video_kbps"]) ?? 0) kbit/s (target \(number(media["video_target_kbps"]) ?? 0)), audio \(number(media["audio_kbps"]) ?? 0) kbit/s"]
            parts.append("round trip " + (number(media["round_trip_ms"]).map { "\($0) ms" } ?? "not measured yet"))
            parts.append("loss " + (number(media["loss_reported_percent"]).map { "\($0) %" } ?? "not reported yet"))
            parts.append("hearing \(number(media["hearing"]) ?? 0), seeing \(number(media["seeing"]) ?? 0)")
            if let open = media["bridge_channel_open"]?.boolValue { parts.append(open ? "bridge channel open" : "bridge channel not open") }
            lines.append("media: " + parts.joined(separator: " · "))
        } else {
            lines.append("media: no call")
        }
        lines.append("privacy: camera \(string(box?["privacy"]?["camera"]) ?? "?") · microphone \(string(box?["privacy"]?["microphone"]) ?? "?")")
        let problems = box?["problems"]?.arrayValue ?? []
        lines.append(problems.isEmpty ? "last problems: none" : "last problems:")
        for problem in problems {
            let repeats = number(problem["repeats"]) ?? 0
            lines.append("  \(string(problem["at"]) ?? "") \(string(problem["level"]) ?? ""): \(string(problem["message"]) ?? "")" + (repeats > 0 ? " (\(repeats + 1)×)" : ""))
        }
        return lines.joined(separator: "\n")
    }
}
