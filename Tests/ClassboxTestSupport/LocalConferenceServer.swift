import Foundation

/// The local conference server of `Board/sim/conference` (real Prosody + the Jicofo/JVB
/// double + one simulated participant) on free loopback ports, with its event log.
public final class LocalConferenceServer: @unchecked Sendable {
    public let directory: String
    public let eventsPath: String
    public let httpPort: Int, httpsPort: Int
    public let process: SpawnedProcess
    public private(set) var ready: [String: Any] = [:]

    public static var available: Bool {
        guard ExternalProcess.which("prosody") != nil, ExternalProcess.which("openssl") != nil, let python = ExternalProcess.which("python3") else { return false }
        let check = try? SpawnedProcess(python, ["-c", "import aiortc, slixmpp"], environment: ProcessInfo.processInfo.environment)
        return check?.wait(timeout: 30).status == 0
    }

    /// Starts it and waits for its `ready` line. `roomSecrets` lock rooms as a teacher would.
    /// `options`: more of the double's options (`--participants 3`, `--tones …`, `--leave …`;
    /// Board/sim/conference/README.md).
    /// `wrap`: a command the server runs under (`ip netns exec NAME`, a namespace of the test's own).
    public init(participant: String = "before-box", roomSecrets: [String: String] = [:], participantPasswords: [String: String] = [:],
                options: [String] = [], wrap: [String] = []) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("conference-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        eventsPath = directory + "/events.jsonl"
        (httpPort, httpsPort) = (Int(ExternalProcess.freeTCPPort()), Int(ExternalProcess.freeTCPPort()))
        var arguments = [ClassboxProcess.packageRoot.appendingPathComponent("Board/sim/conference/conference_server.py").path,
                         "--run-dir", directory + "/server", "--events", eventsPath, "--participant", participant,
                         "--http-port", "\(httpPort)", "--https-port", "\(httpsPort)",
                         "--c2s-port", "\(ExternalProcess.freeTCPPort())", "--component-port", "\(ExternalProcess.freeTCPPort())"]
        for (room, secret) in roomSecrets { arguments += ["--room-secret", "\(room)=\(secret)"] }
        for (room, secret) in participantPasswords { arguments += ["--participant-password", "\(room)=\(secret)"] }
        arguments += options
        let python = ExternalProcess.which("python3")!
        process = try wrap.first.map { try SpawnedProcess($0, Array(wrap.dropFirst()) + [python] + arguments, environment: ProcessInfo.processInfo.environment) }
            ?? SpawnedProcess(python, arguments, environment: ProcessInfo.processInfo.environment)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let line = process.stdout.split(separator: "\n").first(where: { $0.contains("\"ready\"") }),
               let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                ready = json
                return
            }
            guard process.isRunning else { break }
            usleep(100_000)
        }
        throw CocoaError(.fileReadUnknown, userInfo: ["conference server": process.stderr.suffix(3000)])
    }

    deinit { stop() }

    public func stop() {
        guard process.isRunning else { return }
        process.signal(SIGTERM)
        process.wait(timeout: 15)
    }

    public var caBundle: String { ready["ca_bundle"] as? String ?? "" }
    public var secureWebSocket: String { "wss://localhost:\(httpsPort)/xmpp-websocket" }
    public var plainWebSocket: String { "ws://127.0.0.1:\(httpPort)/xmpp-websocket" }

    /// The simulated board's provisioning file pointed at this server (TLS with its CA).
    /// `playback`: the ALSA PCM the box plays the others on (the sim board's is "null").
    public func boxConfig(password: String = "secret-of-the-test-room", organiser: Bool = false, secure: Bool = true,
                          playback: String = "null", screen: Bool = false) throws -> String {
        let url = secure ? secureWebSocket : plainWebSocket
        let path = try ExternalProcess.simConfig(replacing: [
            "playback = \"null\"": "playback = \"\(playback)\"",
            "websocket_url = \"ws://127.0.0.1:15280/xmpp-websocket\"": "websocket_url = \"\(url)\"" + (secure ? "\nca_bundle = \"\(caBundle)\"" : ""),
            "organiser = true": "organiser = \(organiser)",
            // Half the sim board's 720p: the box's encoder and the double's decoder share two cores with the tests.
            "width = 1280\nheight = 720": "width = 640\nheight = 360",
            // The LEDs a board would have (the test points CLASSBOX_LED_DIRECTORY at a scratch sysfs).
            "switch = \"simulated\"": "switch = \"simulated\"\nled_camera = \"classbox:camera\"\nled_mic_muted = \"classbox:mic\"\nled_status = \"classbox:status\"",
        ], screen: screen)
        let secret = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("room-password").path
        try (password + "\n").write(toFile: secret, atomically: false, encoding: .utf8)
        chmod(secret, 0o600)
        return path
    }

    /// Every event so far, in order.
    public var events: [[String: Any]] {
        guard let text = try? String(contentsOfFile: eventsPath, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    public func events(_ name: String) -> [[String: Any]] { events.filter { $0["event"] as? String == name } }

    /// Waits until `condition` holds for the events, polling; returns whether it did.
    @discardableResult
    public func wait(timeout: Double, until condition: ([[String: Any]]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(events) { return true }
            usleep(100_000)
        }
        return condition(events)
    }

    /// The nightly restart: Prosody is killed and started again.
    public func restartProsody() { process.signal(SIGUSR1) }
}
