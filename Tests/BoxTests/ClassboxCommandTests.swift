import ClassboxTestSupport
import Foundation
import Testing
@testable import Box
import Provisioning

/// The `classbox` executable as IT and systemd use it: exit codes, messages, notifications.
@Suite struct ClassboxCommandTests {
    static func simConfig(appending extra: String = "") throws -> String {
        try ExternalProcess.simConfig(appending: extra)
    }

    @Test func versionPrintsTheVersion() throws {
        let result = try ClassboxProcess.run(["version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("classbox 0."))
    }

    @Test func checkConfigAcceptsAValidFile() throws {
        let path = try Self.simConfig()
        let result = try ClassboxProcess.run(["check-config", path])
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("valid"))
    }

    @Test func checkConfigPrintsEveryProblemAndExitsOne() throws {
        let path = try Self.simConfig(appending: "\n[update]\nallow_from = [\"10.0.0.0/99\"]\nauthorised_keys = []\n")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let allowLine = lines.firstIndex { $0.hasPrefix("allow_from") }! + 1
        let result = try ClassboxProcess.run(["check-config", path])
        #expect(result.status == 1)
        #expect(result.stdout.split(separator: "\n") == [
            "\(path):\(allowLine): update.allow_from[1]: \"10.0.0.0/99\" is not an address range (address ranges such as \"192.0.2.0/24\" or \"2001:db8::/32\")",
            "\(path):\(allowLine + 1): update.authorised_keys: unknown key; did you mean 'authorized_keys'? ([update] has: authorized_keys, allow_from, trial_seconds)",
        ])
        #expect(result.stderr.contains("invalid, 2 errors"))
    }

    @Test func checkConfigExitsTwoWhenTheFileCannotBeRead() throws {
        let result = try ClassboxProcess.run(["check-config", "/nonexistent/classbox.toml"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cannot read /nonexistent/classbox.toml: No such file or directory"))
    }

    @Test func runRefusesAnInvalidFileWithTheSameMessages() throws {
        let path = try Self.simConfig(appending: "\n[update]\nallow_from = [\"nowhere\"]\n")
        let check = try ClassboxProcess.run(["check-config", path])
        let listener = try NotifyListener()
        let run = try ClassboxProcess.run(["run", "--config", path], environment: ["NOTIFY_SOCKET": listener.path])
        #expect(run.status == 1)
        let diagnostics = check.stdout.split(separator: "\n")
        #expect(diagnostics.count == 1)
        #expect(diagnostics.allSatisfy { run.stderr.contains($0) })
        #expect(run.stderr.contains("refusing to start"))
        #expect(listener.receive(timeout: 0.2) == nil, "nothing may be announced for a refused file")
    }

    /// What systemd runs when `run` gave up on the file: the problem on the screen the file's
    /// `[display]` names, in its language, until SIGTERM; nothing for a valid file.
    @Test func showProblemPaintsTheFilesFirstErrorUntilStopped() throws {
        #expect(try ClassboxProcess.run(["show-problem", "--config", try ExternalProcess.simConfig(screen: true)]).status == 0, "a valid file: nothing to show")
        let path = try ExternalProcess.simConfig(appending: "\n[log]\nlevel = \"loud\"\n", replacing: ["name = \"klasse-4b\"": "name = \"Klasse 4b!\""], screen: true)
        let runtime = FileManager.default.temporaryDirectory.appendingPathComponent("classbox-rt-\(UUID().uuidString)").path
        let box = ClassboxProcess(["show-problem", "--config", path], environment: ["CLASSBOX_RUNTIME_DIR": runtime])
        try box.start()
        let snapshot = runtime + "/screen.png"
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: snapshot) && Date() < deadline { usleep(100_000) }
        usleep(300_000)
        let screen = ScreenSnapshot.available ? try ScreenSnapshot.read(snapshot) : nil
        box.signal(SIGTERM)
        let result = box.finish()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("screen: snapshot"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: snapshot), "removed when stopped")
        if ScreenSnapshot.available {
            let shown = try #require(screen, "\(result.stderr)")
            let accent = shown.pixel(x: shown.width / 2, y: 2)
            #expect(accent.red == 200 && accent.green == 32 && accent.blue == 40, "the error's red accent: \(accent)")
        }
        let problem = try #require(ProblemScreenText.of(path))
        #expect(problem.hasPrefix("\(path):") && problem.contains("room.name") && problem.hasSuffix("(+1 more: classbox check-config)"), "\(problem)")
    }

    @Test func runExitsTwoWhenTheFileCannotBeRead() throws {
        let run = try ClassboxProcess.run(["run", "--config", "/nonexistent/classbox.toml"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("cannot read /nonexistent/classbox.toml"))
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func runNotifiesSystemdFeedsTheWatchdogAndStopsCleanly(signal: Int32) throws {
        let path = try Self.simConfig()
        let listener = try NotifyListener()
        let box = ClassboxProcess(["run", "--config", path],
                                  environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "200000"])
        try box.start()
        let ready = listener.receive(until: { $0.hasPrefix("READY=1") }, timeout: 15)
        #expect(ready.last?.hasPrefix("READY=1\nSTATUS=camera private") == true, "\(ready)")
        // At 200 ms, pings come every 100 ms: at least 3 in 0.5 s.
        let pings = listener.receive(until: { _ in false }, timeout: 0.5)
        #expect(pings.filter { $0 == "WATCHDOG=1" }.count >= 3, "\(pings)")
        box.signal(signal)
        let stopping = listener.receive(until: { $0.hasPrefix("STOPPING=1") }, timeout: 10)
        #expect(stopping.last?.hasPrefix("STOPPING=1") == true)
        let result = box.finish()
        #expect(result.status == 0 && !result.signaled, "\(result.stderr)")
        #expect(result.stderr.contains("room klasse-4b on localhost as \"Klasse 4b\""))
        #expect(result.stderr.contains("camera test pattern 1280x720@30: private until the simulated switch opens it"))
        #expect(result.stderr.contains("shutting down"))
        #expect(!result.stderr.contains("secret-of-the-test-room"), "the room password must never be logged")
    }

    @Test func aWatchdogMeantForAnotherProcessIsNotFed() throws {
        let path = try Self.simConfig()
        let listener = try NotifyListener()
        let box = ClassboxProcess(["run", "--config", path],
                                  environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"])
        try box.start()
        #expect(listener.receive(until: { $0.hasPrefix("READY=1") }, timeout: 15).last?.hasPrefix("READY=1") == true)
        #expect(!listener.receive(until: { _ in false }, timeout: 0.4).contains("WATCHDOG=1"))
        box.signal(SIGTERM)
        #expect(box.finish().status == 0)
    }

    @Test func underSystemdLogLinesCarrySyslogPriorities() throws {
        let path = try Self.simConfig()
        let box = ClassboxProcess(["run", "--config", path])
        // Tell the child its stderr is the journal stream: dev:inode of the file it writes to.
        var info = stat()
        stat(box.output.stderr, &info)
        box.environment["JOURNAL_STREAM"] = "\(info.st_dev):\(info.st_ino)"
        try box.start()
        usleep(1_500_000)
        box.signal(SIGTERM)
        let result = box.finish()
        #expect(result.status == 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix("<6>") || $0.hasPrefix("<5>") || $0.hasPrefix("<4>") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("<6>classbox 0.") })
    }

    @Test func probeListsEveryKindOfDevice() throws {
        let result = try ClassboxProcess.run(["probe"])
        #expect(result.status == 0)
        for heading in ["Cameras (V4L2", "ALSA PCMs", "Input devices", "LEDs"] {
            #expect(result.stdout.contains(heading), "\(heading) missing")
        }
        #expect(result.stdout.contains("  playback  null") || result.stdout.contains(" null "))
    }
}

/// `ProblemScreen.problem` is internal to Box: the same words through `@testable`.
enum ProblemScreenText {
    static func of(_ path: String) -> String? { ProblemScreen.problem(configPath: path) }
}

