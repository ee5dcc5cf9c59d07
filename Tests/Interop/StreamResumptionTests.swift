import ClassboxTestSupport
import Foundation
import Testing

extension RealPeers {
    /// The WebSocket under a call is cut (the kernel aborts both ends with a reset, as `ss -K`
    /// does: a proxy's idle timer, a firewall's state table, a Wi-Fi roam). With XEP-0198 and
    /// a login that gives the reconnecting box its old name (Jitsi's; the local server's
    /// prosody-modules/mod_auth_classbox_anonymous.lua), the box resumes its session: it never
    /// leaves the room and its call goes on. Against Debian's stock anonymous login the
    /// resumption is refused and the box joins anew.
    @Suite(.serialized, .enabled(if: LocalConferenceServer.available && getuid() == 0 && ExternalProcess.which("ss") != nil,
                                 "needs root, ss, prosody and aiortc (make deps installs them)"))
    struct StreamResumptionTests {
        /// Aborts every TCP connection to or from `port` on this host; returns what ss printed.
        @discardableResult
        static func cut(port: Int) throws -> String {
            try LossyLink.run(["ss", "-K", "-t", "-n", "( dport = :\(port) or sport = :\(port) )"])
        }

        static func resumes(_ box: ConferenceTests.Box) -> [[String: String]] { BoxLogEvents.fields(of: "signalling.resumed", in: box.log) }

        @Test func aCutWebSocketIsResumedAndTheRoomNeverSeesTheBoxLeave() throws {
            let server = try LocalConferenceServer()
            defer { server.stop() }
            let box = try ConferenceTests.Box(config: try server.boxConfig())
            try box.openSwitch()
            #expect(server.wait(timeout: 30) { _ in
                ConferenceTests.sessions(server).contains { ConferenceTests.decodedFrames(ConferenceTests.media(server, sid: $0)) > 60 }
            }, "video flows first: \(box.log.suffix(2000))")
            let sid = try #require(ConferenceTests.sessions(server).first)
            let nick = try #require(server.events("occupant-joined").first { $0["label"] as? String == "Klasse 4b" }?["nick"] as? String)
            var delays: [Double] = []
            for round in 1...3 {
                let before = Self.resumes(box).count
                let killed = try Self.cut(port: server.httpsPort)
                let cutAt = Date()
                #expect(killed.contains(":\(server.httpsPort)"), "round \(round): ss aborted the box's WebSocket: \(killed)")
                while Self.resumes(box).count == before && Date().timeIntervalSince(cutAt) < 15 { usleep(20_000) }
                let took = Date().timeIntervalSince(cutAt)
                #expect(Self.resumes(box).count > before && took < 2,
                        "round \(round): resumed \(String(format: "%.2f", took)) s after the cut: \(box.log.suffix(2500))")
                delays.append((took * 100).rounded() / 100)
                usleep(3_000_000)  // the call goes on between cuts; the double's report follows each second
            }
            let framesBefore = ConferenceTests.decodedFrames(ConferenceTests.media(server, sid: sid))
            #expect(server.wait(timeout: 5) { _ in ConferenceTests.decodedFrames(ConferenceTests.media(server, sid: sid)) > framesBefore + 30 },
                    "the same session's video still flows after the cuts")
            let beforeStop = server.events.compactMap { $0["t"] as? Double }.max() ?? 0
            let result = box.stop()
            #expect(result.status == 0)
            let left = server.events("occupant-left").filter { $0["nick"] as? String == nick }
            #expect(left.allSatisfy { ($0["t"] as? Double ?? 0) > beforeStop }, "the room saw the box leave only when it was stopped: \(left)")
            #expect(ConferenceTests.sessions(server) == [sid], "one session all along: no rejoin")
            let report = ConferenceTests.media(server, sid: sid)
            let gap = report?["video_gap_max_ms"] as? Int ?? Int.max
            #expect(gap < 1000, "the others' view of the box froze for at most \(gap) ms")
            #expect(result.stderr.contains("signalling resumed") && !result.stderr.contains("rejoined"), "\(result.stderr.suffix(1500))")
            print("stream resumption: 3 cuts of the WebSocket, resumed after \(delays) s, same session, longest video gap at the other end \(gap) ms")
        }

        @Test func whenTheServerRefusesToResumeTheBoxJoinsAnew() throws {
            let server = try LocalConferenceServer(options: ["--refuse-resumption"])
            defer { server.stop() }
            let box = try ConferenceTests.Box(config: try server.boxConfig())
            #expect(server.wait(timeout: 30) { _ in
                ConferenceTests.sessions(server).contains { (ConferenceTests.media(server, sid: $0)?["audio_frames"] as? Int ?? 0) > 50 }
            }, "audio flows first: \(box.log.suffix(2000))")
            let first = try #require(ConferenceTests.sessions(server).first)
            try Self.cut(port: server.httpsPort)
            let cutAt = Date()
            let back = server.wait(timeout: 20) { _ in
                ConferenceTests.sessions(server).contains { $0 != first && (ConferenceTests.media(server, sid: $0)?["audio_frames"] as? Int ?? 0) > 0 }
            }
            let took = Date().timeIntervalSince(cutAt)
            let result = box.stop()
            #expect(back && took < 10, "a new session with media \(String(format: "%.1f", took)) s after the cut: \(result.stderr.suffix(2500))")
            #expect(result.stderr.contains("could not resume the session (item-not-found)"), "the refusal is named")
            print("stream resumption refused: joined anew with media after \(String(format: "%.1f", took)) s")
        }
    }
}
