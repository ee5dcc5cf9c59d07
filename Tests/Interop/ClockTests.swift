import ClassboxTestSupport
import Foundation
import Testing

extension RealPeers {
    /// A box without a trusted clock (the image's classbox-clock.service has not had the time
    /// yet) waits and says so instead of failing TLS over and over; the real `classbox clock`
    /// then takes the time from the real Prosody's HTTPS `Date` (verified with the district's
    /// CA) and the box signs in.
    @Suite(.serialized, .enabled(if: LocalConferenceServer.available, "needs prosody, openssl and aiortc (make deps installs them)"))
    struct ClockTests {
        @Test func theBoxWaitsForTheTimeThenTheServersDateLetsItIn() throws {
            let server = try LocalConferenceServer()
            defer { server.stop() }
            let run = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: run + "/classbox-clock", withIntermediateDirectories: true)
            // What the keeper writes at its start, before any source answered.
            try "state=waiting\nsources=https://localhost:\(server.httpsPort)\ndetail=\nat=\n"
                .write(toFile: run + "/classbox-clock/state", atomically: true, encoding: .utf8)
            let config = try server.boxConfig()
            let box = try ConferenceTests.Box(config: config, environment: ["CLASSBOX_CLOCK_RUN_DIR": run])
            defer { _ = box.stop() }
            let deadline = Date().addingTimeInterval(20)
            while !box.log.contains("waiting for the time from https://localhost:\(server.httpsPort) before signing in") && Date() < deadline { usleep(50_000) }
            usleep(2_000_000)  // a box that did not wait would have joined by now
            #expect(ConferenceTests.sessions(server).isEmpty && server.events("occupant-joined").isEmpty, "no sign-in without the time: \(box.log.suffix(1500))")
            let json = try box.control(["status", "--json"]).stdout
            #expect(json.contains("\"state\":\"waiting for the time from https://localhost:\(server.httpsPort)\""), "\(json)")
            #expect(box.log.components(separatedBy: "before signing in").count == 2, "said once, not in a loop")

            let keeper = ClassboxProcess(["clock", "--config", config, "--run-directory", run])
            try keeper.start()
            let started = Date()
            #expect(server.wait(timeout: 30) { _ in !ConferenceTests.sessions(server).isEmpty }, "the box signed in: \(box.log.suffix(1500))")
            let joinedAfter = Date().timeIntervalSince(started)
            keeper.signal(SIGTERM)
            let keeperLog = keeper.finish(timeout: 10).stderr
            // Same machine, same clock: the server's Date agrees, and nothing is set.
            #expect(keeperLog.contains("the clock agrees with https://localhost:\(server.httpsPort)"), "\(keeperLog)")
            let state = try String(contentsOfFile: run + "/classbox-clock/state", encoding: .utf8)
            #expect(state.hasPrefix("state=server\n"), "\(state)")
            #expect(box.log.contains("the clock is set (the server's Date); signing in"))
            print("clock: the box signed in \(String(format: "%.1f", joinedAfter)) s after classbox clock started")
        }
    }
}
