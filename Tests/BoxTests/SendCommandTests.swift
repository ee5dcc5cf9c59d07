import ClassboxTestSupport
import Foundation
import Testing

/// `classbox send` keeps the box's rules and degrades gracefully, checked from outside.
@Suite struct SendCommandTests {
    func counts(_ stderr: String) -> (frames: Int, audioPackets: Int)? {
        guard let match = stderr.firstMatch(of: /sent: frames (\d+) .* audio (\d+) packets/) else { return nil }
        return (Int(match.1)!, Int(match.2)!)
    }

    @Test func aMicrophoneThatCannotBeOpenedIsOneLogLineAndVideoGoesOn() throws {
        let config = try ExternalProcess.simConfig()
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "capture = \"tone\"", with: "capture = \"no-such-microphone\"")
            .replacingOccurrences(of: "width = 1280\nheight = 720", with: "width = 640\nheight = 360")  // light: other tests share the cores
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let (video, audio) = (BoundUDPPort(), BoundUDPPort())
        let result = try ClassboxProcess.run(["send", "--config", config, "--to", "127.0.0.1:\(video.port)",
                                              "--audio-to", "127.0.0.1:\(audio.port)", "--duration", "3.5"], timeout: 30)
        #expect(result.status == 0, "\(result.stderr)")
        let complaints = result.stderr.split(separator: "\n").filter { $0.contains("microphone unavailable") }
        #expect(complaints.count == 1, "one clear line, not one per retry: \(complaints)")
        #expect(complaints.first?.contains("no-such-microphone") == true)
        let sent = try #require(counts(result.stderr))
        // Video goes on (≥ half of the 105 frames of 3.5 s even on a loaded CI machine), audio never starts.
        #expect(sent.frames >= 50 && sent.audioPackets == 0, "\(sent)")
    }

    @Test func aRealCameraWithoutAPrivacySwitchSendsNoVideo() throws {
        let config = try ExternalProcess.simConfig()
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "device = \"test-pattern\"", with: "device = \"/dev/video0\"")
            .replacingOccurrences(of: "switch = \"simulated\"", with: "")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let (video, audio) = (BoundUDPPort(), BoundUDPPort())
        let result = try ClassboxProcess.run(["send", "--config", config, "--to", "127.0.0.1:\(video.port)",
                                              "--audio-to", "127.0.0.1:\(audio.port)", "--duration", "2"], timeout: 30)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("camera is private: no physical privacy switch is configured, so no video is sent"))
        let sent = try #require(counts(result.stderr))
        #expect(sent.frames == 0 && sent.audioPackets >= 80)
    }

    @Test func packetsOnlyGoToThisMachineThePrivateNetworkOrTheDistrict() throws {
        let result = try ClassboxProcess.run(["send", "--config", try ExternalProcess.simConfig(), "--to", "8.8.8.8:5004", "--duration", "1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("8.8.8.8:5004 is not this machine, a private network address or a district address"))
    }

    @Test func aBadSRTPKeyIsRefused() throws {
        let result = try ClassboxProcess.run(["send", "--config", try ExternalProcess.simConfig(), "--to", "127.0.0.1:5004",
                                              "--srtp-key", "abcd", "--duration", "1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--srtp-key must be 60 hex digits"))
    }
}
