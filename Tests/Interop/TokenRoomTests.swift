import ClassboxTestSupport
import Foundation
import Testing

extension RealPeers {
    /// Token rooms (Jitsi's token authentication): the local server's Prosody checks an HS256
    /// JWT on the WebSocket URL at every login (prosody-modules/mod_auth_classbox_anonymous.lua
    /// with a token secret), as Jitsi's mod_auth_token does.
    @Suite(.serialized, .enabled(if: LocalConferenceServer.available && getuid() == 0 && ExternalProcess.which("ss") != nil,
                                 "needs root, ss, prosody and aiortc (make deps installs them)"))
    struct TokenRoomTests {
        static let secret = "district-signing-secret-\(UUID().uuidString.prefix(8))"

        /// A token as a district's portal would issue it, signed with Python's hmac.
        static func token(expiresIn seconds: Int, room: String = "klasse-4b") throws -> String {
            let script = """
                import base64, hashlib, hmac, json, sys, time
                b = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
                now = int(time.time())
                header = b(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
                claims = {"iss": "district", "aud": "jitsi", "sub": "meet.classbox.test", "room": sys.argv[3],
                          "nbf": now - 60, "exp": now + int(sys.argv[2]), "context": {"user": {"name": "Klasse 4b"}}}
                signed = header + "." + b(json.dumps(claims).encode())
                print(signed + "." + b(hmac.new(sys.argv[1].encode(), signed.encode(), hashlib.sha256).digest()))
                """
            let python = try SpawnedProcess(ExternalProcess.which("python3")!, ["-c", script, secret, "\(seconds)", room],
                                            environment: ProcessInfo.processInfo.environment)
            _ = python.wait(timeout: 20)
            return python.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        static func boxConfig(_ server: LocalConferenceServer, token: String) throws -> String {
            let path = try server.boxConfig()
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try (token + "\n").write(toFile: directory + "/district-token", atomically: false, encoding: .utf8)
            chmod(directory + "/district-token", 0o600)
            let text = try String(contentsOfFile: path, encoding: .utf8)
                .replacingOccurrences(of: "[server]\n", with: "[server]\nlogin = \"token\"\ntoken_file = \"district-token\"\n")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        @Test func aValidTokenJoinsAndResumesAndNeverShowsInTheLog() throws {
            let server = try LocalConferenceServer(options: ["--token-secret", Self.secret])
            defer { server.stop() }
            let token = try Self.token(expiresIn: 3 * 86_400)  // inside the week of warnings
            #expect(token.split(separator: ".").count == 3)
            let box = try ConferenceTests.Box(config: try Self.boxConfig(server, token: token))
            #expect(server.wait(timeout: 30) { _ in
                ConferenceTests.sessions(server).contains { (ConferenceTests.media(server, sid: $0)?["audio_frames"] as? Int ?? 0) > 50 }
            }, "the box joined with its token: \(box.log.suffix(2000))")
            // The server checks the token again when the box resumes after a cut.
            try StreamResumptionTests.cut(port: server.httpsPort)
            let cutAt = Date()
            while StreamResumptionTests.resumes(box).isEmpty && Date().timeIntervalSince(cutAt) < 10 { usleep(20_000) }
            #expect(!StreamResumptionTests.resumes(box).isEmpty, "resumed with the token: \(box.log.suffix(2000))")
            // IT's look at the same box: classbox status, as JSON and as a screen.
            usleep(1_500_000)  // the conference thread's once-a-second media figures
            let json = try box.control(["status", "--json"]).stdout
            let report = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "\(json)")
            let live = report["box"] as? [String: Any] ?? [:]
            let conference = live["conference"] as? [String: Any] ?? [:], media = live["media"] as? [String: Any] ?? [:]
            #expect(live["running"] as? Bool == true && conference["in_room"] as? Bool == true && conference["others"] as? Int == 1, "\(json)")
            #expect(conference["signalling_resumes"] as? Int == 1 && conference["token"] as? String == "token runs out in 2 days", "\(json)")
            #expect(media["connected"] as? Bool == true && media["path"] as? String == "direct" && (media["received_packets"] as? Int ?? 0) > 0, "\(json)")
            #expect((report["firmware"] as? String)?.isEmpty == false && report["clock"] != nil, "\(json)")
            let screen = try box.control(["status"]).stdout
            #expect(screen.contains("conference: in call") && screen.contains("1 other participant") && screen.contains("privacy: camera private"), "\(screen)")
            #expect(!json.contains(token) && !screen.contains(token) && !json.contains("secret-of-the-test-room"), "no secret in the status")
            let result = box.stop()
            let prosodyLog = (try? String(contentsOfFile: server.directory + "/server/prosody.log", encoding: .utf8)) ?? ""
            #expect(!prosodyLog.contains("login refused"), "Prosody accepted every login: \(prosodyLog.suffix(1500))")
            #expect(result.stderr.contains("the box's token runs out at") && result.stderr.contains("token runs out in 2 days"),
                    "the week's warning, in the log and the status line: \(result.stderr.suffix(1500))")
            #expect(!result.stderr.contains(token) && !result.stdout.contains(token), "the token is never logged")
            #expect(!result.stderr.contains(String(token.split(separator: ".")[2])), "not even its signature")
        }

        @Test func anExpiredTokenIsRefusedWithItsExpiryAndTriedAgainSlowly() throws {
            let server = try LocalConferenceServer(options: ["--token-secret", Self.secret])
            defer { server.stop() }
            let token = try Self.token(expiresIn: -3600)
            let box = try ConferenceTests.Box(config: try Self.boxConfig(server, token: token))
            let refused = { box.log.contains("the XMPP server refused the login: not-allowed (token expired)") }
            let deadline = Date().addingTimeInterval(20)
            while !refused() && Date() < deadline { usleep(100_000) }
            usleep(2_000_000)  // a fast retry would show now
            let result = box.stop()
            #expect(refused(), "the server's reason: \(result.stderr.suffix(2000))")
            #expect(result.stderr.contains("district-token expired at "), "the line names the token file and its expiry")
            #expect(result.stderr.components(separatedBy: "refused the login").count == 2, "one refusal, then a slow retry (a minute)")
            #expect(ConferenceTests.sessions(server).isEmpty, "no session without a valid token")
            #expect(!result.stderr.contains(token), "the token is never logged")
        }
    }
}
