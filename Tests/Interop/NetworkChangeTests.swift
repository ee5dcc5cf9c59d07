import ClassboxTestSupport
import Foundation
import Testing

extension RealPeers {
    /// The box's address changes mid-call (a DHCP lease renewed with a new address): in a
    /// namespace of the test's own the box's media goes out of an interface `school0` (one end of a veth pair)
    /// (signalling and the conference server stay on loopback), and the test moves school0
    /// from one address to another. The path's address is gone at once; the box must notice
    /// it from the kernel (rtnetlink) and restart its media instead of waiting up to 30 s for
    /// ICE consent to run out.
    @Suite(.serialized, .enabled(if: LossyLoopback.available, "needs root, iproute2, prosody and aiortc (make deps installs them)"))
    struct NetworkChangeTests {
        @Test func aNewAddressMidCallBringsMediaBackWithinSeconds() throws {
            let namespace = LossyLoopback()
            defer { namespace.down() }
            try namespace.up(lossPercent: 0)
            let subnet = "10.77.\(Int.random(in: 1...250))"
            // A veth pair inside the namespace (this kernel has no dummy interfaces); its other end idles.
            for command in [["ip", "-n", namespace.name, "link", "add", "school0", "type", "veth", "peer", "name", "school1"],
                            ["ip", "-n", namespace.name, "addr", "add", "\(subnet).2/24", "dev", "school0"],
                            ["ip", "-n", namespace.name, "link", "set", "school0", "up"],
                            ["ip", "-n", namespace.name, "link", "set", "school1", "up"]] {
                try LossyLink.run(command)
            }
            let server = try LocalConferenceServer(wrap: namespace.wrap)
            defer { server.stop() }
            let config = try server.boxConfig()
            var text = try String(contentsOfFile: config, encoding: .utf8)
            text = text.replacingOccurrences(of: "loopback = true", with: "interfaces = [\"school0\"]\nipv6 = false")
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            let runtime = FileManager.default.temporaryDirectory.appendingPathComponent("box-\(UUID().uuidString)").path
            let box = ClassboxProcess(["run", "--config", config], environment: ["CLASSBOX_RUNTIME_DIR": runtime], wrap: namespace.wrap)
            try box.start()
            let audioFrames = { (sid: String) -> Int in ConferenceTests.media(server, sid: sid)?["audio_frames"] as? Int ?? 0 }
            #expect(server.wait(timeout: 30) { _ in ConferenceTests.sessions(server).first.map { audioFrames($0) > 50 } ?? false },
                    "audio flows before the change")
            let first = ConferenceTests.sessions(server).first ?? ""
            let changed = Date()
            try LossyLink.run(["ip", "-n", namespace.name, "addr", "del", "\(subnet).2/24", "dev", "school0"])
            try LossyLink.run(["ip", "-n", namespace.name, "addr", "add", "\(subnet).3/24", "dev", "school0"])
            let back = server.wait(timeout: 25) { _ in
                ConferenceTests.sessions(server).contains { $0 != first && audioFrames($0) > 0 }
            }
            let seconds = Date().timeIntervalSince(changed)
            box.signal(SIGTERM)
            let result = box.finish(timeout: 20)
            #expect(back, "media again after the address changed: \(result.stderr.suffix(3000))")
            #expect(seconds < 5, "media back \(String(format: "%.1f", seconds)) s after the change (ICE consent alone: 30 s)")
            #expect(result.stderr.contains("the network changed: address \(subnet).2 is gone"))
            print("network change: media back \(String(format: "%.1f", seconds)) s after the box's address moved from \(subnet).2 to \(subnet).3")
        }
    }
}
