import ClassboxTestSupport
import Foundation
import Testing

extension RealPeers.ConferenceTests {
    /// The bridge channel between the real box and the videobridge double (aiortc's SCTP on the
    /// session's DTLS, JVB's allocation rules): the box opens it, asks for video as the
    /// screen's stage needs it, and obeys what the others want of its camera.
    @Test func theBridgeChannelStagesTheSpeakerAndPausesTheUnwatchedCamera() throws {
        // Three others; participant 0 speaks from the start, participant 1 from 5 s, participant
        // 2 shares its screen from 8 s to 14 s. The others watch the box at 720 lines (more than
        // its 360-line camera), at 180 from 8 s, then nobody from 12 s, then 720 again from 16 s.
        let server = try LocalConferenceServer(options: ["--participants", "3", "--speakers", "0@0,1@5", "--share", "2@8-14",
                                                         "--sender-max-height", "720,180@8,0@12,720@16"])
        let box = try Box(config: try server.boxConfig())
        #expect(server.wait(timeout: 30) { _ in !Self.sessions(server).isEmpty }, "the box accepted a session: \(box.log.suffix(3000))")
        let sid = try #require(Self.sessions(server).first)
        let accept = try #require(server.events("session-accept").first { $0["sid"] as? String == sid })
        #expect(accept["valid"] as? Bool == true, "Jicofo's checks pass with the data content: \(accept)")
        func ofBox(_ name: String) -> [[String: Any]] { server.events(name).filter { $0["sid"] as? String == sid } }
        #expect(server.wait(timeout: 15) { _ in !ofBox("bridge_channel.open").isEmpty },
                "the channel opened: \(server.events.filter { ($0["event"] as? String ?? "").hasPrefix("bridge_channel") }) \(box.log.suffix(2000))")
        let open = try #require(ofBox("bridge_channel.open").first)
        #expect(open["label"] as? String == "JVB data channel" && (open["stream_id"] as? Int).map { $0 % 2 == 0 } == true,
                "opened as lib-jitsi-meet opens it (DTLS client, even stream): \(open)")
        let openedAt = try #require(open["t"] as? Double)
        try box.openSwitch()
        #expect(server.wait(timeout: 25) { _ in server.events.last.flatMap { $0["t"] as? Double }.map { $0 > openedAt + 22 } == true })

        // What the box asked for: constraints right behind the OPEN, then the speaker on stage.
        func constraints() -> [(t: Double, message: [String: Any])] {
            ofBox("bridge_channel.received").filter { $0["colibriClass"] as? String == "ReceiverVideoConstraints" }
                .compactMap { event in (event["message"] as? [String: Any]).map { (event["t"] as? Double ?? 0, $0) } }
        }
        let asked = constraints()
        #expect(ofBox("bridge_channel.received").allSatisfy { $0["valid"] as? Bool != false }, "the bridge understood every message")
        let first = try #require(asked.first, "the box sent its constraints")
        #expect(first.t - openedAt < 1, "constraints within 1 s of the channel opening: \(first.t - openedAt) s")
        #expect(first.message["lastN"] as? Int == 6 && (first.message["defaultConstraints"] as? [String: Any])?["maxHeight"] as? Int == 180)
        let forwarding = ofBox("video.forwarding")
        let firstForwarded = try #require(forwarding.first { !(($0["forwarded"] as? [String]) ?? []).isEmpty }, "video was forwarded to the box")
        #expect((firstForwarded["t"] as? Double ?? 0) >= first.t, "no video forwarded before the box's constraints (JVB's rule)")
        let speakers = ofBox("bridge_channel.sent").filter { $0["colibriClass"] as? String == "DominantSpeakerEndpointChangeEvent" }
        #expect(speakers.count >= 2, "two speaker changes were sent")
        var stageDelays: [Double] = []
        for change in speakers {
            let endpoint = try #require((change["message"] as? [String: Any])?["dominantSpeakerEndpoint"] as? String)
            let t = change["t"] as? Double ?? 0
            let followed = asked.first { $0.t >= t && ($0.message["onStageSources"] as? [String]) == ["\(endpoint)-v0"] }
            // The criterion is 200 ms; measured at the double, whose Python event loop shares two
            // loaded cores with the box in CI (11-15 ms on a quiet machine, 147 ms beside a
            // compiler), so the test allows 500 ms and prints what it saw.
            #expect(followed.map { $0.t - t < 0.5 } == true,
                    "\(endpoint) on stage within 500 ms of speaking (at \(t)): \(asked.map { ($0.t, $0.message["onStageSources"] ?? "-") })")
            stageDelays.append(((followed?.t ?? .infinity) - t) * 1000)
            let height = ((followed?.message["constraints"] as? [String: Any])?["\(endpoint)-v0"] as? [String: Any])?["maxHeight"] as? Int
            #expect(height == 720, "the speaker at 720 lines")
        }

        // What the others want of the box's camera, read at the receiver (the double decodes it).
        let media = server.events("media").filter { $0["sid"] as? String == sid }
        func videoFrames(at t: Double) -> Int { media.last { ($0["t"] as? Double ?? 0) <= t }?["video_frames"] as? Int ?? 0 }
        /// The height of the newest picture decoded at the first report from `t` on.
        func lines(from t: Double) -> Int? { (media.first { ($0["t"] as? Double ?? 0) >= t }?["video_size"] as? [Int])?.last }
        func askedOfBox(_ height: Int) throws -> Double {
            let sent = try #require(ofBox("bridge_channel.sent").first {
                $0["colibriClass"] as? String == "SenderSourceConstraints" && ($0["message"] as? [String: Any])?["maxHeight"] as? Int == height
            }, "SenderSourceConstraints \(height) sent")
            return try #require(sent["t"] as? Double)
        }
        let smallAt = try askedOfBox(180), pausedAt = try askedOfBox(0), watchedAt = try #require(ofBox("bridge_channel.sent").last {
            $0["colibriClass"] as? String == "SenderSourceConstraints" && ($0["message"] as? [String: Any])?["maxHeight"] as? Int == 720
        }?["t"] as? Double)
        #expect(lines(from: smallAt - 0.5) == 360, "the camera's 360 lines while watched at up to 720")
        #expect(lines(from: smallAt + 1) == 180, "≤ 180 lines within 1 s of being asked: \(lines(from: smallAt + 1) ?? -1)")
        #expect(lines(from: watchedAt + 1) == 360, "the camera's full 360 lines again within 1 s: \(lines(from: watchedAt + 1) ?? -1)")
        // Nobody watches the box from 12 s: no video within 1 s, the camera still live in presence.
        #expect(videoFrames(at: pausedAt) > 30, "video flowed before: \(videoFrames(at: pausedAt)) frames")
        let fromOneSecond = media.first { ($0["t"] as? Double ?? 0) >= pausedAt + 1 }?["video_frames"] as? Int ?? -1
        let stillArriving = videoFrames(at: watchedAt) - fromOneSecond
        #expect(stillArriving == 0, "no video from 1 s after nobody watches until watched again: \(stillArriving) frames")
        let resumedFrames = videoFrames(at: watchedAt + 5) - videoFrames(at: watchedAt + 1)
        #expect(resumedFrames > 20, "video again once watched: \(resumedFrames) frames in 4 s")
        let result = box.stop()
        #expect(result.status == 0)
        #expect(result.stderr.contains("nobody watches our video") && result.stderr.contains("bridge channel: opened 1x")
                && result.stderr.contains("video: sending 320x180") && result.stderr.contains("bridge channel open")
                && result.stderr.contains("nobody watches the camera, so it sends nothing"),
                "the log says so: \(result.stderr.suffix(2000))")
        #expect(server.wait(timeout: 10) { _ in !ofBox("session-ended").isEmpty })
        let received = try Self.checkReceivedVideo(ended: try #require(ofBox("session-ended").first), boxLog: result.stderr,
                                                   speakerChanges: speakers, asked: asked)
        let decoded = (ofBox("session-ended").first?["numbers"] as? [Any] ?? []).compactMap { $0 as? Int }
        #expect(decoded == decoded.sorted() && decoded.count > 60, "the box's video decodes across the pause: \(decoded.count) frames")
        print("bridge channel: constraints \(String(format: "%.2f", first.t - openedAt)) s after open, \(asked.count) sent, speaker on stage after \(stageDelays.map { Int($0) }) ms; 180 lines \(lines(from: smallAt + 1) ?? -1) at +1 s; paused video \(stillArriving) frames after 1 s, \(resumedFrames) frames in 4 s once watched again; \(received)")
    }

    /// What the box decoded of each source the double sent, against what it sent (the double's
    /// `remote_video` record at the session's end, the box's `video.source` and `video.size`
    /// lines): ≥ 95 % of each source's painted frames in order at the forwarded size, each new
    /// speaker at 720 lines within 1 s of the change, the screen share on stage at 1080.
    static func checkReceivedVideo(ended: [String: Any], boxLog: String, speakerChanges: [[String: Any]],
                                   asked: [(t: Double, message: [String: Any])]) throws -> String {
        let sent = ((ended["remote_video"] as? [[String: Any]]) ?? []).flatMap { ($0["sources"] as? [[String: Any]]) ?? [] }
        let decoded = BoxLogEvents.fields(of: "video.source", in: boxLog)
        let sizes = BoxLogEvents.fields(of: "video.size", in: boxLog)
        var summary: [String] = []
        #expect(sent.count == 4, "three cameras and a share were sent: \(sent.map { $0["source"] ?? "-" })")
        for source in sent {
            // The box's log names no participant: its lines carry the SSRC, the double's too.
            let name = try #require(source["source"] as? String), frames = source["frames"] as? Int ?? 0
            let ssrc = "\(try #require(source["ssrc"] as? Int))"
            let owner = String(name.prefix { $0 != "-" })
            #expect(!owner.isEmpty && !boxLog.contains(owner), "the box's log never names the participant \(owner)")
            let box = try #require(decoded.first { $0["ssrc"] == ssrc }, "the box decoded \(name): \(decoded)")
            let boxFrames = Int(box["frames"] ?? "") ?? 0
            summary.append("\(name) \(boxFrames)/\(frames)")
            #expect(frames > 20 && Double(boxFrames) >= 0.95 * Double(frames), "≥ 95 % of \(name)'s \(frames) frames: \(box)")
            // The painted number is read back from the decoded picture; at 180 lines, right after
            // a layer switch, a picture's digits can be too blurred to read (a CI run misread one).
            let read = Int(box["painted_read"] ?? "") ?? 0
            #expect(box["out_of_order"] == "0" && read >= boxFrames - 2, "in order, each but at most two with its number read: \(box)")
            // Every size the double sent at for a while was decoded at that size.
            let sentSizes = Set(((source["sizes"] as? [[Any]]) ?? []).compactMap { ($0.last as? Int).flatMap { $0 > 0 ? $0 : nil } })
            let boxSizes = Set(sizes.filter { $0["ssrc"] == ssrc }.compactMap { Int($0["height"] ?? "") })
            #expect(sentSizes.isSubset(of: boxSizes), "\(name) decoded at every forwarded size: sent \(sentSizes), decoded \(boxSizes)")
            if source["video_type"] as? String == "desktop" {
                #expect(boxSizes == [1080], "the share at 1080 lines: \(boxSizes)")
                let onStage = asked.first { ($0.message["onStageSources"] as? [String]) == [name] }
                #expect(onStage != nil, "the share took the stage: \(asked.map { $0.message["onStageSources"] ?? "-" })")
            }
        }
        // Each speaker change: the new speaker's first 720-line picture decoded by the box was
        // sent within 1 s of the change (the double paints 30 numbered pictures a second).
        var delays: [Int] = []
        for change in speakerChanges {
            let endpoint = try #require((change["message"] as? [String: Any])?["dominantSpeakerEndpoint"] as? String)
            let t = change["t"] as? Double ?? 0
            let source = try #require(sent.first { $0["source"] as? String == "\(endpoint)-v0" })
            let interval = try #require((source["intervals"] as? [[String: Any]])?.first)
            let start = interval["started_t"] as? Double ?? 0, firstNumber = interval["first_number"] as? Int ?? 0
            let numberAtChange = firstNumber + Int((t - start) * 30)
            let ssrc = "\(source["ssrc"] as? Int ?? -1)"
            let large = sizes.first { $0["ssrc"] == ssrc && $0["height"] == "720" && (Int($0["painted"] ?? "") ?? -1) >= numberAtChange }
            let painted = try #require(large.flatMap { Int($0["painted"] ?? "") }, "\(endpoint) decoded at 720 lines after speaking: \(sizes)")
            let delay = Double(painted - numberAtChange) / 30
            delays.append(Int(delay * 1000))
            #expect(delay < 1, "\(endpoint)'s frames at 720 lines within 1 s of the change: picture \(painted), \(numberAtChange) at the change")
        }
        return "decoded \(summary.joined(separator: ", ")); the new speaker at 720 lines after \(delays) ms"
    }
}
