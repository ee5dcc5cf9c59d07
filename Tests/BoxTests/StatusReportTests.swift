@testable import Box
import ClassboxTestSupport
import Foundation
import JSON
import Provisioning
import Testing

/// `classbox status`: what IT sees of a box, as JSON and as a screen — counts, never a
/// secret or anyone's name.
@Suite struct StatusReportTests {
    static func config() throws -> ProvisioningConfig {
        guard case .valid(let config, _) = ConfigLoader.load(path: try ExternalProcess.simConfig()) else { throw CocoaError(.fileReadCorruptFile) }
        return config
    }

    @Test func theBoxsHalfSaysWhereItIsWithoutSecrets() throws {
        let config = try Self.config()
        var snapshot = ConferenceSnapshot(state: "in call", inRoom: true, others: 2, cameraLive: true, mediaConnected: true)
        snapshot.mediaPath = "TURN relay (tls) via turn.schule.example"
        snapshot.roundTripMs = 23
        snapshot.reportedLossPercent = 1
        snapshot.heardSources = 2
        snapshot.bridgeChannelOpen = true
        snapshot.resumes = 1
        snapshot.tokenNote = "token runs out in 3 days"
        let problems = RecentProblems()
        problems.record(level: "warning", message: "the signalling connection was lost (reset)", at: "2026-12-07T08:01:00.000Z")
        problems.record(level: "warning", message: "the signalling connection was lost (reset)", at: "2026-12-07T08:02:00.000Z")
        let live = StatusReport.live(snapshot, rates: (video: 812, audio: 42), config: config, problems: problems.all)
        #expect(live["conference"]?["others"] == .number(2) && live["conference"]?["room"] == .string("Klasse 4b"))
        #expect(live["media"]?["path"] == .string("TURN relay (tls) via turn.schule.example") && live["media"]?["round_trip_ms"] == .number(23))
        #expect(live["privacy"]?["camera"] == .string("live"))
        #expect(live["problems"]?.arrayValue?.count == 1 && live["problems"]?[0]?["repeats"] == .number(1), "a repeated problem is counted")
        let text = live.serialized
        #expect(!text.contains(config.room.password.reveal()), "no room password")
        #expect(JSONValue(parsing: text) == live, "what the control socket carries reads back")

        let report = StatusReport.combined(system: StatusReport.system(), box: live)
        let screen = StatusReport.text(report)
        for expected in ["Classbox \(ClassboxVersion.current)", "clock: ", "media TURN relay (tls)", "in call · room \"Klasse 4b\"", "2 other participants",
                         "signalling resumed 1×", "token runs out in 3 days", "video 812 kbit/s", "round trip 23 ms", "loss 1 %",
                         "privacy: camera live", "the signalling connection was lost (reset) (2×)"] {
            #expect(screen.contains(expected), "\(expected) in:\n\(screen)")
        }
    }

    @Test func theMachinesHalfReadsProcAndWorksWithoutTheBox() throws {
        let proc = FileManager.default.temporaryDirectory.appendingPathComponent("proc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: proc, withIntermediateDirectories: true)
        try "BOOT_IMAGE=/vmlinuz root=/dev/vda2 rauc.slot=B quiet\n".write(toFile: proc + "/cmdline", atomically: true, encoding: .utf8)
        try "93784.51 180000.00\n".write(toFile: proc + "/uptime", atomically: true, encoding: .utf8)
        try "0.1.77\n".write(toFile: proc + "/classbox-version", atomically: true, encoding: .utf8)
        let system = StatusReport.system(procDirectory: proc, runDirectory: proc, versionFile: proc + "/classbox-version")
        #expect(system["slot"] == .string("B") && system["uptime_s"] == .number(93785) && system["firmware"] == .string("0.1.77"))
        #expect(system["clock"]?["synchronized"] == .bool(false))
        let screen = StatusReport.text(StatusReport.combined(system: system, box: nil, unreachable: "no running box"))
        #expect(screen.contains("Classbox 0.1.77 · slot B · up 1 d 2 h 3 min") && screen.contains("box: not running (no running box)"), "\(screen)")
    }

    @Test func theClockSaysWhereItsTimeCameFromOrWhatItWaitsFor() throws {
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: run + "/classbox-clock", withIntermediateDirectories: true)
        func screen(_ state: String) throws -> (JSONValue?, String) {
            try state.write(toFile: run + "/classbox-clock/state", atomically: true, encoding: .utf8)
            let system = StatusReport.system(runDirectory: run)
            return (system["clock"], StatusReport.text(StatusReport.combined(system: system, box: nil, unreachable: "down")))
        }
        var (clock, text) = try screen("state=waiting\nsources=ntp.schule.example (NTP) or https://meet.schule.example\ndetail=cannot connect to meet.schule.example:443: Connection refused\nat=\n")
        #expect(clock?["synchronized"] == .bool(false) && clock?["source"] == .string("none"))
        #expect(text.contains("not synchronised: waiting for the time from ntp.schule.example (NTP) or https://meet.schule.example: cannot connect"), "\(text)")
        (clock, text) = try screen("state=server\nsources=https://meet.schule.example\ndetail=\nat=1796638042\n")
        #expect(clock?["synchronized"] == .bool(true) && clock?["server_time_at"] == .string("2026-12-07 10:07:22 UTC"))
        #expect(text.contains("set from the district server's Date at 2026-12-07 10:07:22 UTC"), "\(text)")
        try FileManager.default.createDirectory(atPath: run + "/systemd/timesync", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: run + "/systemd/timesync/synchronized", contents: nil)
        (clock, text) = try screen("state=server\nsources=https://meet.schule.example\ndetail=\nat=1796638042\n")
        #expect(clock?["source"] == .string("ntp") && text.contains("synchronised by NTP"), "\(text)")
    }
}
