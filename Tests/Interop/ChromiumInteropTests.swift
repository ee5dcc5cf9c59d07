import ClassboxTestSupport
import Foundation
import Testing

extension RealPeers {
    /// The box's media transport against headless Chromium (Debian's `chromium`, a real
    /// libwebrtc: the stack of every browser in a Jitsi call), in both roles: ICE, DTLS-SRTP,
    /// VP8 and Opus both ways, RTCP each side can use — judged by Chromium's own getStats.
    @Suite(.serialized, .enabled(if: ChromiumPeer.available, "needs chromium, chromium-driver and selenium (make deps installs them)"))
    struct ChromiumInteropTests {
        /// Chromium offers (as the bridge does in a Jitsi call), the box answers.
        @Test func chromiumOffersTheBoxAnswers() throws {
            try ChromiumPeer.expectCall(boxRole: "answer")
        }

        /// The box offers, Chromium answers.
        @Test func theBoxOffersChromiumAnswers() throws {
            try ChromiumPeer.expectCall(boxRole: "offer")
        }
    }
}

/// What a call between the box and Chromium must show, from both sides.
enum ChromiumPeer {
    /// Chromium's sending, once a second: time, estimate and encoder target (kbit/s), picture
    /// width, frame rate and the reason it is limited.
    static func timeline(_ stats: [String: Any]) -> [String] {
        (stats["timeline"] as? [[String: Any]] ?? []).map { point in
            func kbps(_ key: String) -> String { (point[key] as? Double).map { String(Int($0 / 1000)) } ?? "-" }
            return "\(Int(point["t"] as? Double ?? 0)) \(kbps("available")) \(kbps("target")) \(point["width"] ?? "-") "
                + "\(point["fps"] ?? "-") \(point["reason"] ?? "-")"
        }
    }

    static var available: Bool {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium"),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"),
              let python = ExternalProcess.which("python3") else { return false }
        let check = try? SpawnedProcess(python, ["-c", "import selenium"], environment: ProcessInfo.processInfo.environment)
        return check?.wait(timeout: 30).status == 0
    }

    /// Media runs 10 s from the exchange on; Chromium reads its statistics after 8 s, while
    /// the box still sends (afterwards its audio receiver would count concealment).
    static func expectCall(boxRole: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let run = try AiortcPeer.run(boxRole: boxRole, seconds: 10, peerScript: "chromium_peer.py", peerSeconds: 8)
        let stats = run.peer
        let states = stats["states"] as? [String] ?? []
        #expect(states.contains("connected"), "Chromium's connection states: \(states); \(stats["error"] ?? "")", sourceLocation: sourceLocation)
        #expect(run.box["state"] as? String == "connected", "box: \(run.box)", sourceLocation: sourceLocation)

        // Chromium decodes the box's 720p VP8, and loses nothing on loopback.
        let inbound = stats["inbound"] as? [String: [String: Any]] ?? [:]
        let video = inbound["video"] ?? [:], audio = inbound["audio"] ?? [:]
        // Judged within Chromium's own window (its statistics are read 8 s after its exchange,
        // the box counts 10 s from its own start, and a loaded machine delays the connection):
        // every frame that arrived was decoded, and no packet was lost.
        let boxFrames = run.box["frames"] as? Int ?? 0
        let decoded = video["framesDecoded"] as? Int ?? 0, arrived = video["framesReceived"] as? Int ?? 0
        let packets = video["packetsReceived"] as? Int ?? 0, lost = video["packetsLost"] as? Int ?? 0
        #expect(decoded >= 100 && Double(decoded) >= 0.9 * Double(arrived) && Double(lost) <= 0.01 * Double(packets),
                "Chromium decoded \(decoded) of \(arrived) frames that arrived (the box sent \(boxFrames)), \(lost) of \(packets) packets lost: \(video)",
                sourceLocation: sourceLocation)
        #expect(video["frameWidth"] as? Int == 1280 && video["frameHeight"] as? Int == 720, "\(video)", sourceLocation: sourceLocation)
        #expect(video["decoderImplementation"] as? String == "libvpx", "\(video)", sourceLocation: sourceLocation)
        // The box's Opus played out by Chromium (8 s of it at 48 kHz are 384,000 samples):
        // concealment only where a busy machine late-delivers a packet.
        let samples = audio["totalSamplesReceived"] as? Int ?? 0, concealed = audio["concealedSamples"] as? Int ?? 0
        #expect((audio["packetsReceived"] as? Int ?? 0) >= 250, "\(audio)", sourceLocation: sourceLocation)
        #expect(samples > 48_000 * 4 && Double(concealed) <= 0.1 * Double(samples),
                "Chromium played \(samples) samples of the box's audio, \(concealed) concealed", sourceLocation: sourceLocation)

        // Each side's RTCP understood by the other: Chromium measured a round trip from the
        // box's receiver reports, the box from Chromium's; Chromium took every sender report
        // of the box for its lip-sync mapping (libwebrtc logs each one it refuses).
        let invalid = stats["invalidSenderReports"] as? [String]
        #expect(invalid?.isEmpty == true, "Chromium refused the box's sender reports: \(invalid ?? ["no log read"])", sourceLocation: sourceLocation)
        let remote = stats["remoteInbound"] as? [String: [String: Any]] ?? [:]
        #expect(remote["video"]?["roundTripTime"] as? Double != nil, "Chromium's view of the box's reports: \(remote)", sourceLocation: sourceLocation)
        #expect((run.box["roundTripMicroseconds"] as? Int ?? 0) > 0, "box: \(run.box)", sourceLocation: sourceLocation)

        // The box decodes Chromium's VP8 (whatever size Chromium's estimator chose).
        let received = try #require(BoxLogEvents.fields(of: "video.received", in: run.boxLog).last,
                                    "the box's receive summary: \(run.boxLog.suffix(1500))", sourceLocation: sourceLocation)
        let outbound = stats["outbound"] as? [String: [String: Any]] ?? [:]
        let sent = outbound["video"]?["framesEncoded"] as? Int ?? 0, boxDecoded = Int(received["decoded"] ?? "") ?? 0
        #expect(received["sources"] == "1" && boxDecoded >= 60 && boxDecoded >= sent / 2,
                "the box decoded \(boxDecoded) of Chromium's \(sent) frames: \(received)", sourceLocation: sourceLocation)
        #expect(received["decode_errors"] == "0", "decode errors: \(received)", sourceLocation: sourceLocation)

        // The box's transport-cc feedback drives Chromium's GoogCC: every packet that arrived
        // reported, and Chromium's estimate of the path well above its 300 kbit/s start (without
        // feedback it falls from there, 100 kbit/s after 8 s; with it, the estimate reaches
        // 1.2–3.5 Mbit/s within a second and its encoder climbs a rung every few seconds, to 1280
        // wide after about 20 s).
        // The other way: the box stamps what it sends, Chromium reports it, and the box joins
        // Chromium's feedback with what left (the delay-based estimator reads it): everything
        // Chromium saw acknowledged, nothing lost on loopback, the average acknowledged rate
        // within a quarter of the rate the box sent at.
        let recorded = run.box["transportRecorded"] as? Int ?? 0, acknowledged = run.box["peerAcknowledged"] as? Int ?? 0
        let reportedLost = run.box["peerReportedLost"] as? Int ?? 0, acknowledgedKbps = run.box["acknowledgedAverageKbps"] as? Int ?? 0
        let sentKbps = ((run.box["videoBytes"] as? Int ?? 0) + (run.box["audioBytes"] as? Int ?? 0)) * 8 / 10_000
        #expect(recorded > 1000 && acknowledged >= recorded * 6 / 10 && reportedLost <= acknowledged / 100 + 2
                    && (run.box["peerUnmatched"] as? Int ?? 1) == 0,
                "Chromium's feedback on the box's \(recorded) packets: \(acknowledged) acknowledged, \(reportedLost) lost, box \(run.box)",
                sourceLocation: sourceLocation)
        #expect(Double(acknowledgedKbps) >= 0.75 * Double(sentKbps) && Double(acknowledgedKbps) <= 1.25 * Double(sentKbps),
                "acknowledged \(acknowledgedKbps) kbit/s on average, sent \(sentKbps) kbit/s", sourceLocation: sourceLocation)
        // The box's delay-based estimate from that feedback: on a clean link it keeps the video
        // at the encoder's rate (a false overuse would have cut it to 85 % of what was
        // acknowledged; a lasting one, further).
        let estimateKbps = run.box["delayBasedKbps"] as? Int ?? 0, videoTargetKbps = run.box["videoBitrateKbps"] as? Int ?? 0
        #expect(estimateKbps >= 1_000 && videoTargetKbps >= 1_000,
                "the box's delay-based estimate \(estimateKbps) kbit/s, video target \(videoTargetKbps) kbit/s, \(run.box["overuses"] ?? "-") overuses", sourceLocation: sourceLocation)
        // The pacer on a clean link: every packet queued was sent, no picture skipped for it.
        let pacerWait = run.box["pacerLongestWaitMicroseconds"] as? Int ?? -1, pacerWaitMs = pacerWait / 1000
        #expect(run.box["pacerRefused"] as? Int == 0 && run.box["framesSkippedForPacing"] as? Int == 0 && pacerWait > 0,
                "the pacer: \(run.box)", sourceLocation: sourceLocation)

        // Chromium's audio jitter buffer on a clean link: the box's audio is not held behind its
        // video (issue 13: under 80 ms; ~30 ms expected on loopback).
        let emitted = audio["jitterBufferEmittedCount"] as? Double ?? 0
        let audioBufferMs = emitted > 0 ? (audio["jitterBufferDelay"] as? Double ?? 0) / emitted * 1000 : .infinity
        #expect(audioBufferMs < 80, "Chromium's audio jitter buffer delay \(audioBufferMs) ms: \(audio)", sourceLocation: sourceLocation)

        let chromiumVideo = outbound["video"] ?? [:], pair = stats["pair"] as? [String: Any] ?? [:]
        let available = pair["availableOutgoingBitrate"] as? Double ?? 0
        let boxReceived = run.box["receivedPackets"] as? Int ?? 0, reported = run.box["transportFeedbackReported"] as? Int ?? 0
        #expect(reported >= boxReceived * 95 / 100 && boxReceived > 500, "the box reported \(reported) of \(boxReceived) packets", sourceLocation: sourceLocation)
        // Judged at 450 kbit/s: 1.5× Chromium's start, 4.5× where it falls without feedback. On a
        // quiet host it is 3.3–3.7 Mbit/s after 8 s; with a busy loop beside the test it was once
        // 530 kbit/s (the box stamps arrivals when its network thread reads them, so its own
        // scheduling delay looks like queueing to Chromium's delay-based estimator).
        #expect(available >= 450_000, "Chromium's available outgoing bitrate \(available): \(Self.timeline(stats))", sourceLocation: sourceLocation)
        let limited = chromiumVideo["qualityLimitationDurations"] as? [String: Any] ?? [:]
        print("chromium \(boxRole): Chromium decoded \(decoded) of \(arrived) box frames (\(video["frameWidth"] ?? "-")x\(video["frameHeight"] ?? "-")), "
              + "concealed \(concealed) of \(samples) samples, audio jitter buffer \(Int(audioBufferMs)) ms; sent \(sent) frames at \(chromiumVideo["frameWidth"] ?? "-")x\(chromiumVideo["frameHeight"] ?? "-"), "
              + "limited by \(chromiumVideo["qualityLimitationReason"] ?? "-") (\(limited)), available outgoing \(pair["availableOutgoingBitrate"] ?? "-") bit/s, "
              + "\(chromiumVideo["bytesSent"] ?? "-") bytes; the box decoded \(boxDecoded), sent \(run.box["transportFeedbackSent"] ?? "-") transport-cc feedbacks "
              + "reporting \(run.box["transportFeedbackReported"] ?? "-") of \(run.box["receivedPackets"] ?? "-") packets; "
              + "Chromium's \(run.box["peerFeedbacks"] ?? "-") feedbacks (\(run.box["peerFeedbacksLost"] ?? "-") lost) acknowledged \(acknowledged) of the box's \(recorded) packets, "
              + "\(reportedLost) lost, \(acknowledgedKbps) kbit/s (sent \(sentKbps)); the box's estimate \(estimateKbps) kbit/s after \(run.box["overuses"] ?? "-") overuses, video at \(videoTargetKbps) kbit/s, "
              + "paced at 2.5 × \(run.box["pacingTargetKbps"] ?? "-") kbit/s, longest wait in the pacer \(pacerWaitMs) ms; "
              + "each second (s, available, target kbit/s, width, fps, reason): \(Self.timeline(stats))")
    }
}
