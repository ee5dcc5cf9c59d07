import ClassboxTestSupport
import Foundation
import Testing

/// A network namespace of the test's own, with only loopback: the local conference server
/// and the box both run in it, and nftables drops a share of every UDP datagram (the media;
/// signalling is TCP). The host kernel has no netem.
struct LossyLoopback {
    let name = "cbx-conf-\(String(UUID().uuidString.prefix(6)).lowercased())"
    var wrap: [String] { [ExternalProcess.which("ip")!, "netns", "exec", name] }

    static var available: Bool { LossyLink.available && LocalConferenceServer.available }

    func up(lossPercent: Int) throws {
        try LossyLink.run(["ip", "netns", "add", name])
        try LossyLink.run(["ip", "-n", name, "link", "set", "lo", "up"])
        guard lossPercent > 0 else { return }
        for command in [
            ["ip", "netns", "exec", name, "nft", "add", "table", "inet", "loss"],
            // On loopback every datagram passes the output hook once: box → bridge and back.
            ["ip", "netns", "exec", name, "nft", "add chain inet loss out { type filter hook output priority 0; }"],
            ["ip", "netns", "exec", name, "nft", "add rule inet loss out meta l4proto udp numgen random mod 100 < \(lossPercent) drop"],
        ] {
            try LossyLink.run(command)
        }
    }

    func down() { _ = try? LossyLink.run(["ip", "netns", "delete", name]) }
}

extension RealPeers {
    /// Hearing the others through a bad network: the box's real `classbox run` and the local
    /// conference server in a namespace of the test's own, the box playing into an ALSA file.
    @Suite(.serialized, .enabled(if: LossyLoopback.available, "needs root, iproute2, nftables, prosody and aiortc (make deps installs them)"))
    struct AudioReceiveNetworkTests {
        struct Call {
            let played: PlayedAudio
            let log: String
            let server: LocalConferenceServer
            let sid: String

            /// The longest run of digital silence once the sound has begun (before it, the
            /// jitter buffer fills: silence by design, not loss).
            var longestSilenceAfterStart: Double {
                let start = played.samples.firstIndex { $0 != 0 } ?? played.samples.count
                return PlayedAudio(samples: Array(played.samples[start...])).longestSilence
            }

            /// The box's last `received audio:` line, and a number from it.
            var receiveLines: [Substring] { log.split(separator: "\n").filter { $0.contains("received audio:") } }
            func value(_ name: String, in line: Substring?) -> Int? {
                guard let line, let range = line.range(of: "\(name) ") else { return nil }
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            }
        }

        /// One call of `seconds` with the audio-only box (the camera stays private).
        static func call(seconds: Double, lossPercent: Int, options: [String], serverNice: Int = 0) throws -> Call {
            let namespace = LossyLoopback()
            defer { namespace.down() }
            try namespace.up(lossPercent: lossPercent)
            let nice = serverNice == 0 ? [] : [ExternalProcess.which("nice")!, "-n", "\(serverNice)"]
            let server = try LocalConferenceServer(options: options, wrap: namespace.wrap + nice)
            defer { server.stop() }
            let played = FileManager.default.temporaryDirectory.appendingPathComponent("played-\(UUID().uuidString).raw").path
            defer { if ProcessInfo.processInfo.environment["KEEP_PLAYED"] == nil { try? FileManager.default.removeItem(atPath: played) } else { print("played file: \(played)") } }
            let runtime = FileManager.default.temporaryDirectory.appendingPathComponent("box-\(UUID().uuidString)").path
            let box = ClassboxProcess(["run", "--config", try server.boxConfig(playback: PlayedAudio.filePCM(played))],
                                      environment: ["CLASSBOX_RUNTIME_DIR": runtime], wrap: namespace.wrap)
            try box.start()
            let started = server.wait(timeout: 30) { _ in !RealPeers.ConferenceTests.sessions(server).isEmpty }
            if started { usleep(UInt32(seconds * 1_000_000)) }
            box.signal(SIGTERM)
            let result = box.finish(timeout: 20)
            #expect(started, "the box accepted a session: \(result.stderr.suffix(3000))")
            let sid = RealPeers.ConferenceTests.sessions(server).first ?? ""
            _ = server.wait(timeout: 10) { events in events.contains { $0["event"] as? String == "session-ended" && $0["sid"] as? String == sid } }
            return Call(played: try PlayedAudio(rawFile: played), log: result.stderr, server: server, sid: sid)
        }

        /// 5 % of the datagrams lost both ways, the other sending Opus with in-band FEC: no run
        /// of digital silence over 60 ms, the tone never missing for a 0.1 s window, and lost
        /// packets rebuilt from the next one's FEC. Its VP8 too: ≥ 95 % of the frames decoded,
        /// no pause over 500 ms.
        @Test func fivePercentLossIsConcealedAndRepairedWithFEC() throws {
            // 18 s: through 5 % loss the media once started 3.6 s after the session-accept under
            // CI load (lost connectivity checks or DTLS flights; not yet analysed which), and 12 s
            // must still be played.
            let call = try Self.call(seconds: 18, lossPercent: 5, options: ["--opus-fec", "10", "--tone-am", "4"])
            let first = call.played.firstTone(660)
            let end = call.played.seconds - 0.5
            let gaps = first.map { call.played.windowsWithoutTone(660, from: $0, to: end) } ?? []
            let final = call.receiveLines.last
            let fec = call.value("FEC recovered", in: final) ?? 0, concealed = call.value("concealed", in: final) ?? 0
            let lost = call.value("lost", in: final) ?? 0
            let remote = (RealPeers.ConferenceTests.media(call.server, sid: call.sid)?["remote_audio"] as? [[String: Any]])?.first
            // The sender's count of packets with FEC data (the last per-second report has it; the
            // final one may not, its sender already stopped).
            let withFEC = call.server.events("media").filter { $0["sid"] as? String == call.sid }
                .compactMap { (($0["remote_audio"] as? [[String: Any]])?.first?["fec_packets"] as? Int) }.max() ?? 0
            print("audio-network 5 % loss: played \(String(format: "%.1f", call.played.seconds)) s, longest digital silence "
                  + "\(Int(call.longestSilenceAfterStart * 1000)) ms (\(Int(call.played.longestSilence * 1000)) ms with the start), windows without the tone \(gaps), FEC recovered \(fec), concealed \(concealed) blocks, "
                  + "lost \(lost); the other's packets with FEC \(withFEC) of \(remote?["packets_sent"] ?? "-") sent, \(remote?["received_by_box"] ?? "-") received by the box (its RTCP)")
            #expect(first.map { $0 <= 1 } == true, "the tone from the start: \(String(describing: first))")
            #expect(end - (first ?? end) >= 12, "played \(call.played.seconds) s")
            #expect(call.longestSilenceAfterStart <= 0.060, "longest digital silence \(call.longestSilenceAfterStart) s")
            // Around each gap, what was played: the tone's and the whole level of each window (dBFS).
            let around = gaps.map { gap in
                stride(from: gap - 0.3, through: gap + 0.3, by: 0.1).map { start in
                    let window = call.played.window(start, 0.1)
                    return String(format: "%.1f: %.0f/%.0f", start, PlayedAudio.toneLevel(window, frequency: 660, parts: 4), PlayedAudio.level(window))
                }.joined(separator: ", ")
            }
            #expect(gaps.isEmpty, "the tone continues: windows without it at \(gaps) (tone/whole level around: \(around)); \(call.receiveLines.joined(separator: " | "))")
            #expect(withFEC > 0 && fec > 0, "lost packets rebuilt from FEC (\(withFEC) sent with it): \(final ?? "no receive line")")
            #expect(lost > 0, "the box counted the losses: \(final ?? "no receive line")")
            let sent = remote?["packets_sent"] as? Int ?? 0, arrived = remote?["received_by_box"] as? Int ?? sent
            #expect(arrived < sent, "the namespace lost some of the other's packets: \(arrived) of \(sent) reported by the box")

            // The same call carries the other's video to the box, through the same 5 % loss:
            // NACK and RTX repair it, PLI restarts what cannot be repaired.
            let video = try #require(BoxLogEvents.fields(of: "video.source", in: call.log).first, "the box decoded the other's video")
            let received = BoxLogEvents.fields(of: "video.received", in: call.log).first ?? [:]
            let frames = Int(video["frames"] ?? "") ?? 0
            let painted = (Int(video["painted_last"] ?? "") ?? 0) - (Int(video["painted_first"] ?? "") ?? 0) + 1
            let pause = Int(video["longest_pause_ms"] ?? "") ?? .max
            func at(_ event: String) -> Double? {
                call.server.events(event).first { $0["sid"] as? String == call.sid }?["t"] as? Double
            }
            let accepted = at("session-accept") ?? 0, opened = at("bridge_channel.open").map { $0 - accepted }
            let forwarded = call.server.events("video.forwarding").first { $0["sid"] as? String == call.sid && !(($0["forwarded"] as? [Any]) ?? []).isEmpty }
            let forwardedAfter = (forwarded?["t"] as? Double).map { $0 - accepted }
            print("video-network 5 % loss: channel open \(opened.map { String(format: "%.1f", $0) } ?? "never") s and video forwarded \(forwardedAfter.map { String(format: "%.1f", $0) } ?? "never") s after the session-accept; "
                  + "decoded \(frames) of \(painted) painted frames, longest pause \(pause) ms after the first second, "
                  + "\(video["freezes"] ?? "-") freezes, \(received["keyframe_requests"] ?? "-") key frame requests; "
                  + "\(call.log.split(separator: "\n").last { $0.contains("video received:") } ?? "no video summary")")
            // Forwarding starts when the bridge channel is open, which the loss may delay by a
            // retransmission or two (1-3 s each): at least 5 s of the 18 s call must be video.
            #expect(frames > 150 && Double(frames) >= 0.95 * Double(painted),
                    "≥ 95 % of the forwarded frames decoded: \(video); channel open after \(opened ?? -1) s, forwarded after \(forwardedAfter ?? -1) s")
            #expect(pause <= 500, "no pause between decoded frames over 500 ms after the first second: \(video)")
            // NACKs go out as soon as a gap is seen and again a round trip later: a lost packet
            // is nearly always back before the frame buffer gives up on it (at most one freeze).
            #expect((Int(video["freezes"] ?? "") ?? .max) <= 1, "at most one freeze: \(video)")
            #expect(video["out_of_order"] == "0", "in order: \(video)")
            #expect((Int(received["retransmitted"] ?? "") ?? 0) > 0, "lost packets came back in RTX: \(received)")
        }

        /// Every packet to the box delayed by a random 0–80 ms: after 2 s of adaptation no
        /// block runs dry, and the playout delay stays within the measured p95 jitter + 40 ms.
        ///
        /// "Measured" is what left the relay: a userspace relay on a busy 2-core host sends some
        /// packets later than it meant to, and its sender paces late too (with the unit tests
        /// running beside this tier, up to 144 ms instead of 80 in a trial with two busy loops;
        /// the box then rightly aimed at 140 ms). The relay runs at nice −10 so the simulated
        /// network is the one asked for (≤ 97 ms as sent with three busy loops); a packet later
        /// than the nominal 80 ms + 10 is still jitter the test did not ask for; the box may conceal
        /// it (one 20 ms packet, two blocks) and nothing else. The delay is judged by the median
        /// of the box's 5-second samples after adaptation, not by the last one alone, which may
        /// fall in the second after a lower target before the box has moved down to it.
        @Test func jitterOfEightyMillisecondsIsAbsorbedAfterTwoSeconds() throws {
            let call = try Self.call(seconds: 15, lossPercent: 0, options: ["--downlink-jitter", "80"], serverNice: -10)
            let first = call.played.firstTone(660)
            let end = call.played.seconds - 0.5
            let gaps = first.map { call.played.windowsWithoutTone(660, from: $0 + 2, to: end) } ?? []
            let lines = call.receiveLines
            // The first line logged at least 2 s into the call (lines come every 5 s from ~1 s).
            let adapted = lines.dropFirst().first, final = lines.last
            let concealedAfter = (call.value("concealed", in: final) ?? 0) - (call.value("concealed", in: adapted) ?? 0)
            let settled = Array(lines.dropFirst())
            func median(_ name: String) -> Int {
                let values = settled.compactMap { call.value(name, in: $0) }.sorted()
                return values.isEmpty ? .max : values[values.count / 2]
            }
            let target = median("target"), playout = median("playout delay")
            let course = lines.map { "\(call.value("target", in: $0) ?? -1)/\(call.value("playout delay", in: $0) ?? -1)/\(call.value("concealed", in: $0) ?? -1)" }
            let jitter = RealPeers.ConferenceTests.media(call.server, sid: call.sid)?["downlink_jitter"] as? [String: Any]
            let applied = jitter?["p95_ms"] as? Double ?? 0
            let p95 = jitter?["wire_p95_ms"] as? Double ?? applied
            let beyond = jitter?["wire_beyond"] as? Int ?? 0
            print("audio-network 0–80 ms jitter: relay p95 \(applied) ms applied, \(p95) ms as sent (max \(jitter?["wire_max_ms"] ?? "-") ms, "
                  + "\(beyond) packets later than 90 ms after 2 s; \(jitter?["packets"] ?? "-") packets), box median target \(target) ms, "
                  + "median playout delay \(playout) ms (target/delay/concealed every 5 s: \(course)), concealed after adaptation \(concealedAfter) blocks, windows without the tone after 2 s \(gaps), "
                  + "longest digital silence \(Int(call.longestSilenceAfterStart * 1000)) ms; \(final ?? "no receive line")")
            #expect(applied > 60, "the relay delayed packets: \(String(describing: jitter))")
            #expect(jitter?["wire_p95_ms"] != nil, "the relay measured what it sent: \(String(describing: jitter))")
            #expect(adapted != nil && final != nil && adapted != final, "the box logged its receive side: \(lines)")
            #expect(concealedAfter <= 2 * beyond, "no underrun after adaptation but for packets the host sent beyond 90 ms (\(beyond)): \(adapted ?? "") → \(final ?? "")")
            #expect(gaps.isEmpty, "the tone continues after 2 s: windows without it at \(gaps)")
            #expect(Double(playout) <= p95 + 40 && Double(target) <= p95 + 40, "median playout delay \(playout) ms (target \(target)) against p95 \(p95) + 40 ms: \(course)")
        }
    }
}
