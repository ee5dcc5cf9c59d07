import ClassboxTestSupport
import Foundation
import Testing

extension RealPeers {
    /// TURN as a Jitsi deployment hands it out: real Prosody's mod_external_services answers
    /// the box's XEP-0215 question with short-lived credentials computed under a secret it
    /// shares with coturn (use-auth-secret). The box allocates with those, and refuses a TURN
    /// server outside the district's domains, whatever the conference server says.
    @Suite(.serialized, .enabled(if: LocalConferenceServer.available && ExternalProcess.which("turnserver") != nil,
                                 "needs prosody, coturn, openssl, aiortc and slixmpp (make deps installs them)"))
    struct ExternalServicesConferenceTests {
        @Test func theConferenceServersTURNServerIsUsedWithItsCredentials() throws {
            let secret = "geteiltes-geheimnis-\(UUID().uuidString.prefix(8))"
            let port = ExternalProcess.freeUDPPort()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("coturn-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let relayBase = 49152 + Int(port % 200) * 50
            let turn = try ExternalProcess("/usr/bin/turnserver", [
                "-n", "--listening-ip=127.0.0.1", "--listening-port=\(port)", "--relay-ip=127.0.0.1", "--min-port=\(relayBase)",
                "--max-port=\(relayBase + 49)", "--use-auth-secret", "--static-auth-secret=\(secret)", "--realm=classbox.test",
                "--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--no-tcp", "--fingerprint", "--log-file=stdout", "--simple-log",
                "--pidfile=\(directory)/pid", "--db=\(directory)/turndb",
            ])
            defer { turn.interrupt(timeout: 5) }
            let server = try LocalConferenceServer(options: ["--turn", "turn:udp:127.0.0.1:\(port)", "--turn", "turns:tcp:turn.elsewhere.example:443",
                                                             "--turn-secret", secret])
            let config = try server.boxConfig()
            var text = try String(contentsOfFile: config, encoding: .utf8)
            text = text.replacingOccurrences(of: "loopback = true", with: "loopback = true\nturn_from_server = true")
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            let box = try ConferenceTests.Box(config: config)
            #expect(server.wait(timeout: 30) { _ in !ConferenceTests.sessions(server).isEmpty }, "the box accepted a session: \(box.log.suffix(3000))")
            let result = box.stop()
            let log = box.log
            #expect(log.contains("TURN servers from the conference server: turn:127.0.0.1:\(port)?transport=udp, turns:turn.elsewhere.example:443?transport=tcp"),
                    "\(log.suffix(3000))")
            #expect(log.contains("the conference server names TURN server turns:turn.elsewhere.example:443?transport=tcp outside the district's domains: not used"))
            let candidates = log.split(separator: "\n").first { $0.contains("candidates:") } ?? ""
            #expect(candidates.contains("relay 127.0.0.1:"), "allocated with Prosody's short-lived credentials: \(candidates)")
            #expect(!log.contains("refused the user name or password"))
            #expect(result.status == 0)
        }
    }
}
