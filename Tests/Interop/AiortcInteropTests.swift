import ClassboxTestSupport
import Foundation
import Testing

extension RealPeers {
    /// The box's media transport against aiortc, a WebRTC implementation nobody here wrote:
    /// ICE, DTLS-SRTP, RTP and RTCP must interoperate, in both roles.
    @Suite(.serialized, .enabled(if: AiortcPeer.available, "needs aiortc (pip install aiortc; make deps installs it)"))
    struct AiortcInteropTests {
        /// aiortc offers (ICE controlling, DTLS actpass), the box answers: the Jitsi bridge's arrangement.
        @Test func theBoxAnswersAsControlledDTLSClient() throws {
            let run = try AiortcPeer.run(boxRole: "answer", seconds: 7, pliAt: 4)
            try run.expectMediaFlowed()
            #expect(run.box["state"] as? String == "connected")
            #expect((run.peer["pliToKeyframeMs"] as? Int).map { $0 <= 200 } == true, "a PLI yields a keyframe within 200 ms: \(run.peer)")
            #expect(run.box["keyframeRequests"] as? Int == 1)
        }

        /// The box offers (ICE controlling), aiortc answers active, so the box is the DTLS server.
        @Test func theBoxOffersAsControllingDTLSServer() throws {
            let run = try AiortcPeer.run(boxRole: "offer", seconds: 6)
            try run.expectMediaFlowed()
        }

        /// A certificate that does not match the signalled fingerprint: nothing may be sent.
        @Test func aWrongFingerprintStopsAllMedia() throws {
            let run = try AiortcPeer.run(boxRole: "answer", seconds: 5, boxArguments: ["--tamper-fingerprint"])
            #expect((run.box["state"] as? String)?.contains("does not match the signalled fingerprint") == true, "\(run.box)")
            #expect(run.box["videoPackets"] as? Int == 0 && run.box["audioPackets"] as? Int == 0)
            #expect(run.peer["frames"] as? Int == 0)
            #expect(run.boxLog.contains("media transport failed: DTLS: the peer's certificate does not match the signalled fingerprint"))
        }
    }
}

/// One run of the box (classbox-interop) against aiortc (Tests/Interop/aiortc_peer.py), or
/// against another peer script with the same arguments (`peerScript`: chromium_peer.py).
struct AiortcPeer {
    var box: [String: Any]
    var peer: [String: Any]
    var boxLog: String
    /// The offer as exchanged (the box's, when it offered).
    var offer: String

    static var available: Bool {
        guard let python = ExternalProcess.which("python3") else { return false }
        let check = try? SpawnedProcess(python, ["-c", "import aiortc"], environment: ProcessInfo.processInfo.environment)
        return check?.wait(timeout: 30).status == 0
    }

    static var interopBinary: String {
        URL(fileURLWithPath: ClassboxProcess.executable).deletingLastPathComponent().appendingPathComponent("classbox-interop").path
    }

    static func run(boxRole: String, seconds: Double, pliAt: Double? = nil, boxArguments: [String] = [],
                    environment: [String: String] = [:], wrap: [String] = [], peerWrap: [String] = [],
                    config: String? = nil, peerScript: String = "aiortc_peer.py", peerSeconds: Double? = nil,
                    peerMustSucceed: Bool = true) throws -> AiortcPeer {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("aiortc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let offer = scratch + "/offer.sdp", answer = scratch + "/answer.sdp"
        let config = try config ?? ExternalProcess.simConfig()
        var peerArguments = [ClassboxProcess.packageRoot.appendingPathComponent("Tests/Interop/" + peerScript).path,
                             boxRole == "answer" ? "offer" : "answer", offer, answer, "\(peerSeconds ?? seconds + 1.5)"]
        if let pliAt { peerArguments += ["--pli-at", "\(pliAt)"] }
        let python = ExternalProcess.which("python3")!
        let peer = try SpawnedProcess((peerWrap.first ?? python), Array(peerWrap.dropFirst()) + (peerWrap.isEmpty ? [] : [python]) + peerArguments,
                                      environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
        let boxCommand = [interopBinary, "--config", config, "--role", boxRole, "--offer", offer, "--answer", answer,
                          "--duration", "\(seconds)"] + boxArguments
        let box = try SpawnedProcess(wrap.first.map { ExternalProcess.which($0) ?? $0 } ?? boxCommand[0],
                                     Array(wrap.dropFirst()) + (wrap.isEmpty ? Array(boxCommand.dropFirst()) : boxCommand),
                                     environment: ProcessInfo.processInfo.environment)
        let boxExit = box.wait(timeout: seconds + 40)
        let peerExit = peer.wait(timeout: seconds + 40)
        #expect(boxExit.status == 0, "classbox-interop: \(box.stderr.suffix(2000))")
        if peerMustSucceed { #expect(peerExit.status == 0, "\(peerScript): \(peer.stderr.suffix(2000))") }
        let decode = { (text: String) -> [String: Any] in
            let line = text.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? "{}"
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
        }
        return AiortcPeer(box: decode(box.stdout), peer: decode(peer.stdout), boxLog: box.stderr,
                          offer: (try? String(contentsOfFile: offer, encoding: .utf8)) ?? "")
    }

    /// The runs of frame numbers missing between the first and the last decoded one ("12–40,
    /// 77"): one long run is a stall (a frame never repaired, a keyframe waited for), many
    /// short ones are scattered loss.
    static func gaps(in numbers: [Int]) -> String {
        var runs: [String] = []
        for (previous, next) in zip(numbers, numbers.dropFirst()) where next > previous + 1 {
            runs.append(next == previous + 2 ? "\(previous + 1)" : "\(previous + 1)–\(next - 1)")
        }
        return runs.isEmpty ? "none inside" : runs.joined(separator: ", ")
    }

    static func repeats(in numbers: [Int]) -> [String] {
        zip(numbers, numbers.dropFirst()).enumerated().filter { $0.element.1 <= $0.element.0 }.map { "#\($0.offset + 1): \($0.element.0) then \($0.element.1)" }
    }

    /// Frames the box sent; of them 0..<repairable, all but the last half second's, which no
    /// receiver could have repaired before the run ended (see classbox-interop); how many of
    /// those aiortc decoded; and the frame numbers it read, in decoding order.
    var frameCounts: (sent: Int, repairable: Int, decoded: Int, numbers: [Int]) {
        let sent = box["frames"] as? Int ?? 0, repairable = box["framesRepairable"] as? Int ?? sent
        let numbers = (peer["numbers"] as? [Any] ?? []).compactMap { $0 as? Int }
        return (sent, repairable, numbers.filter { $0 < repairable }.count, numbers)
    }

    /// ≥ 95 % of the repairable frames decoded (what expectMediaFlowed checks), and a summary.
    var repairedEnough: (Bool, String) {
        let (_, repairable, decoded, numbers) = frameCounts
        return (repairable > 0 && Double(decoded) >= 0.95 * Double(repairable),
                "\(decoded) of \(repairable) frames, missing \(Self.gaps(in: numbers)), aiortc's PLIs at \(peer["plisAt"] ?? "-") s, "
                + "\(peer["udpReceiveBufferErrors"] ?? "-") datagrams dropped by its socket buffer")
    }

    /// ≥ 95 % of the frames the box encoded were decoded by aiortc, in order, and the tone arrived.
    func expectMediaFlowed(checkTone: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let sent = try #require(box["frames"] as? Int, "box: \(box)", sourceLocation: sourceLocation)
        let (_, repairable, decoded, numbers) = frameCounts
        #expect(sent >= 100, "box: \(box)", sourceLocation: sourceLocation)
        #expect(repairable >= sent - 20, "box: \(box)", sourceLocation: sourceLocation)
        #expect(Double(decoded) >= 0.95 * Double(repairable),
                "decoded \(decoded) of the first \(repairable) frames (\(numbers.count) of all \(sent)), missing \(Self.gaps(in: numbers)); peer: \(peer.filter { $0.key != "numbers" })",
                sourceLocation: sourceLocation)
        // aiortc echoes our sender reports in its receiver reports only when it could parse
        // our RTCP (SR + SDES compounds); the box then knows the round trip.
        #expect((box["roundTripMicroseconds"] as? Int ?? 0) > 0, "round trip measured from aiortc's reports: \(box)", sourceLocation: sourceLocation)
        #expect(numbers == numbers.sorted() && Set(numbers).count == numbers.count, "in order, no repeats: \(Self.repeats(in: numbers))",
                sourceLocation: sourceLocation)
        let tone = peer["toneHz"] as? Double ?? 0
        if checkTone {
            #expect(abs(tone - 440) < 1, "tone \(tone) Hz", sourceLocation: sourceLocation)
        } else {
            // Under loss: ≥ 90 % of the audio packets arrive (5 % are dropped on the way). aiortc's
            // audio jitter buffer (16 packets, no NACK for audio) then drops whole runs behind each
            // gap, so of the decoded frames only "audio keeps flowing" (≥ half) is the box's doing.
            let packets = peer["audioPackets"] as? Int ?? 0, audio = peer["audioFrames"] as? Int ?? 0
            let sentAudio = box["audioPackets"] as? Int ?? 0
            #expect(Double(packets) >= 0.9 * Double(sentAudio), "audio packets \(packets) of \(sentAudio)", sourceLocation: sourceLocation)
            #expect(Double(audio) >= 0.5 * Double(sentAudio), "audio frames \(audio) of \(sentAudio)", sourceLocation: sourceLocation)
        }
        print("aiortc: decoded \(decoded)/\(repairable) frames, \(numbers.count)/\(sent) with the last half second (missing inside: \(Self.gaps(in: numbers)); first \(numbers.first ?? -1), last \(numbers.last ?? -1)), tone \(tone) Hz, box \(box.filter { ["retransmissions", "retransmissionsNotHeld", "retransmissionsTooSoon", "nacksReceived", "keyframes", "sendErrors", "roundTripMicroseconds", "state"].contains($0.key) })")
    }
}
