import ClassboxTestSupport
import Foundation
import Testing
@testable import SecureSocket
@testable import TimeKeeping

/// The keeper against a real HTTPS server (Python's http.server behind TLS, date_server.py)
/// whose certificate is not valid yet by the box's clock, as on a box at its floor, and whose
/// `Date` the test chooses. The clock itself is a closure here: a test must not set the host's.
@Suite(.serialized, .enabled(if: ExternalProcess.which("python3") != nil, "needs python3 with cryptography (make deps installs it)"))
struct ClockKeeperTests {
    final class DateServer {
        let process: SpawnedProcess
        let port: Int
        let ca: String

        init(notBefore: Double, dateOffset: Double, extra: [String] = []) throws {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("clock-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("date_server.py").path
            process = try SpawnedProcess(ExternalProcess.which("python3")!, [script, "--dir", directory, "--not-before", String(notBefore),
                                                                            "--date-offset", String(dateOffset)] + extra,
                                         environment: ProcessInfo.processInfo.environment)
            let deadline = Date().addingTimeInterval(20)
            while !process.stdout.contains("\n") && Date() < deadline { usleep(50_000) }
            let ready = try JSONSerialization.jsonObject(with: Data(process.stdout.utf8)) as? [String: Any]
            guard let port = ready?["port"] as? Int, let ca = ready?["ca"] as? String else {
                throw CocoaError(.fileReadCorruptFile, userInfo: ["stderr": process.stderr])
            }
            (self.port, self.ca) = (port, ca)
        }

        deinit {
            process.signal(SIGTERM)
            _ = process.wait(timeout: 5)
        }
    }

    static let inAYear = Date().timeIntervalSince1970 + 365 * 86_400

    final class Recorder: @unchecked Sendable {
        var lines: [String] = []
        var setTo: [Int64] = []
    }

    func keep(_ server: ServerClock, runDirectory: String, recorder: Recorder, until: @escaping (ClockState) -> Bool) {
        var configuration = ClockKeeper.Configuration(ntpServers: [], server: server)
        configuration.runDirectory = runDirectory
        let keeper = ClockKeeper(configuration: configuration, log: { recorder.lines.append($0) }, utc: { "\($0)" },
                                 setClock: { recorder.setTo.append($0); return 0 })
        let deadline = Date().addingTimeInterval(15)
        keeper.run(shouldStop: { until(ClockState.read(runDirectory: runDirectory)) || Date() > deadline })
    }

    func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aClockBehindTheServersDateIsSetForwardThoughTheCertificateIsNotValidYetByIt() throws {
        // The certificate starts in a year: by this machine's clock it is "not yet valid", as
        // the district's certificate is for a box at its floor.
        let server = try DateServer(notBefore: Self.inAYear, dateOffset: 2 * 365 * 86_400)
        let plainTLS = #expect(throws: StreamSocketError.self) {
            _ = try StreamSocket(host: "127.0.0.1", port: server.port, tls: TLSVerification(caBundle: server.ca))
        }
        #expect(plainTLS?.description.contains("not yet valid") == true, "\(String(describing: plainTLS))")

        let run = try scratch()
        let recorder = Recorder()
        let before = Int64(Date().timeIntervalSince1970 * 1e9)
        keep(ServerClock(host: "127.0.0.1", port: server.port, caBundle: server.ca), runDirectory: run, recorder: recorder) { $0.source == .server }
        let state = ClockState.read(runDirectory: run)
        #expect(state.kept && state.source == .server && state.isTrusted && state.sources == "https://127.0.0.1:\(server.port)")
        #expect(recorder.setTo.count == 1)
        let expected = before + 2 * 365 * 86_400 * 1_000_000_000
        #expect(recorder.setTo.first.map { abs($0 - expected) < 3_000_000_000 } == true, "\(recorder.setTo) vs \(expected)")
        #expect(recorder.lines.contains { $0.hasPrefix("set the clock forward by 63071") || $0.hasPrefix("set the clock forward by 63072") },
                "\(recorder.lines)")
    }

    @Test func aServerBehindTheClockMovesNothingButIsTrusted() throws {
        let server = try DateServer(notBefore: Date().timeIntervalSince1970 - 3600, dateOffset: -600)
        let run = try scratch()
        let recorder = Recorder()
        keep(ServerClock(host: "localhost", port: server.port, caBundle: server.ca), runDirectory: run, recorder: recorder) { $0.source == .server }
        #expect(recorder.setTo.isEmpty)
        #expect(ClockState.read(runDirectory: run).isTrusted)
        #expect(recorder.lines.contains { $0.contains("ahead of https://localhost:\(server.port); it is never moved back") }, "\(recorder.lines)")
    }

    @Test func anUntrustedServerOrOneWithoutDateLeavesTheBoxWaitingAndSaysWhy() throws {
        let stranger = try DateServer(notBefore: Self.inAYear, dateOffset: 86_400)
        let other = try DateServer(notBefore: Date().timeIntervalSince1970 - 3600, dateOffset: 0, extra: ["--no-date"])
        for (server, ca, why) in [(stranger, other.ca, "not trusted"), (other, other.ca, "answered without a Date")] {
            let run = try scratch()
            let recorder = Recorder()
            keep(ServerClock(host: "127.0.0.1", port: server.port, caBundle: ca), runDirectory: run, recorder: recorder) { !$0.detail.isEmpty }
            let state = ClockState.read(runDirectory: run)
            #expect(state.kept && state.source == .waiting && !state.isTrusted)
            #expect(state.detail.contains(why), "\(state.detail)")
            #expect(recorder.setTo.isEmpty)
        }
    }

    @Test func ntpOutranksAndTheDropInNamesOnlyTheDistrictsServers() throws {
        let run = try scratch()
        var configuration = ClockKeeper.Configuration(ntpServers: ["ntp1.schule.example", "10.0.0.5"], server: nil)
        configuration.runDirectory = run
        let keeper = ClockKeeper(configuration: configuration, log: { _ in }, utc: { "\($0)" }, setClock: { _ in 0 })
        try keeper.writeTimesyncdDropIn()
        let dropIn = try String(contentsOfFile: run + "/systemd/timesyncd.conf.d/50-classbox.conf", encoding: .utf8)
        #expect(dropIn.hasSuffix("[Time]\nNTP=ntp1.schule.example 10.0.0.5\n"))
        #expect(ClockState.read(runDirectory: run) == ClockState(kept: false, source: .waiting))
        try FileManager.default.createDirectory(atPath: run + "/systemd/timesync", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: run + "/systemd/timesync/synchronized", contents: nil)
        keeper.run(shouldStop: { ClockState.read(runDirectory: run).source == .ntp })
        let state = ClockState.read(runDirectory: run)
        #expect(state.kept && state.source == .ntp && state.sources == "ntp1.schule.example, 10.0.0.5 (NTP)")
    }
}
