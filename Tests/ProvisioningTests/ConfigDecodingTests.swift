import Foundation
import Testing
@testable import Provisioning

/// Public keys generated for these tests (ssh-keygen); no private key exists anywhere.
enum TestKeys {
    static let ed25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDbCLr9uU4EdX+VSCVNpZNLtE1U2Dpq2hV7PdITk9hc4 it@district"
    static let ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBG2yKMQ3rBAwYi4ZNdEjWbCMf43zWu34H+1BcX3FItnu7MjdjPpEjmXXQvEvPNv1Cr/ARY1OWxbU+j6vnQExBXY= ops"
}

/// Valid files: every key read into the typed configuration, and every default.
@Suite struct ConfigDecodingTests {
    @Test func everyKeyIsRead() throws {
        var fixture = ConfigFixture()
        fixture.writeSecret("xmpp-password", "box-secret\n")
        fixture.writeSecret("turn-password", "turn-secret\r\n", mode: 0o400)
        fixture.makeLED("box:red:camera")
        fixture.makeLED("box:amber:mic")
        fixture.makeLED("box:green:status")
        let caBundle = fixture.directory + "/district-ca.pem"
        try "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".write(toFile: caBundle, atomically: true, encoding: .utf8)
        fixture.set("server",
                    "host = \"Meet.Schule.Example\"",
                    "xmpp_domain = \"meet.jitsi\"",
                    "muc_domain = \"muc.meet.jitsi\"",
                    "focus = \"focus.meet.jitsi\"",
                    "websocket_url = \"wss://meet.schule.example:8443/xmpp-websocket?room=klasse-4b\"",
                    "ca_bundle = \"district-ca.pem\"",
                    "login = \"account\"",
                    "account = \"Box-4b\"",
                    "account_password_file = \"xmpp-password\"")
        fixture.set("room",
                    "name = \"klasse-4b\"", "password_file = \"room-password\"", "label = \"Klasse 4b\"",
                    "organiser = true", "start_video_muted = false", "start_audio_muted = true")
        fixture.set("camera",
                    "device = \"test-pattern\"", "width = 640", "height = 360", "fps = 25", "max_bitrate_kbps = 800",
                    "encoder_threads = 1", "encoder_cpu_used = -12", "error_resilient = true", "temporal_layers = 2")
        fixture.set("audio",
                    "capture = \"tone\"", "playback = \"plughw:1,0\"", "bitrate_kbps = 24", "dtx = true", "tone_hz = 1000",
                    "volume = 65", "echo_cancellation = false", "noise_suppression = false")
        fixture.set("display", "max_participants = 9", "language = \"en\"", "mode = \"1920x1080@50\"", "device = \"/dev/dri/card1\"")
        fixture.set("privacy",
                    "switch = \"simulated\"", "mute_button = \"/dev/input/event3\"", "start_mic_muted = true",
                    "led_camera = \"box:red:camera\"", "led_mic_muted = \"box:amber:mic\"", "led_status = \"box:green:status\"")
        fixture.set("network",
                    "district_domains = [\"schule.example\", \"2001:DB8::1\"]",
                    "media_networks = [\"192.0.2.0/24\", \"2001:db8::/32\"]",
                    "stun = [\"stun:turn.schule.example\", \"stun:[2001:db8::1]:3479\"]",
                    "ntp = [\"NTP.schule.example\", \"2001:db8::1\"]",
                    "ipv6 = false", "interfaces = [\"eth0\"]", "loopback = true")
        fixture.set("[[network.turn]]",
                    "url = \"turns:turn.schule.example\"", "username = \"box-4b\"", "password_file = \"turn-password\"")
        fixture.set("update", "authorized_keys = [\"\(TestKeys.ed25519)\", \"\(TestKeys.ecdsa)\"]", "allow_from = [\"10.20.0.0/16\"]")
        fixture.set("log", "level = \"debug\"")

        // The mute button does not exist on this machine: the only warning.
        guard case .valid(let config, let warnings) = fixture.load() else {
            Issue.record("invalid: \(fixture.problems())"); return
        }
        #expect(warnings.map(\.key) == ["privacy.mute_button"])
        let server = config.server
        #expect(server.host == "meet.schule.example")
        #expect(server.xmppDomain == "meet.jitsi")
        #expect(server.mucDomain == "muc.meet.jitsi")
        #expect(server.focus == "focus.meet.jitsi")
        #expect(server.websocketURL.description == "wss://meet.schule.example:8443/xmpp-websocket?room=klasse-4b")
        #expect(server.caBundle == caBundle)
        #expect(server.login == .account)
        #expect(server.account == "box-4b")
        #expect(server.accountPassword?.reveal() == "box-secret")
        #expect(config.room.password.reveal() == "geheim-4b")
        #expect(config.room == .init(name: "klasse-4b", password: config.room.password, label: "Klasse 4b",
                                     organiser: true, startVideoMuted: false, startAudioMuted: true))
        #expect(config.camera == .init(source: .testPattern, width: 640, height: 360, fps: 25, maxBitrateKbps: 800,
                                       encoderThreads: 1, encoderCpuUsed: -12, errorResilient: true, temporalLayers: 2))
        #expect(config.audio == .init(capture: .tone, playback: .pcm("plughw:1,0"), bitrateKbps: 24, dtx: true, toneHz: 1000,
                                      volume: 65, echoCancellation: false, noiseSuppression: false))
        #expect(config.display == .init(maxParticipants: 9, language: .en, mode: .init(width: 1920, height: 1080, refreshHertz: 50),
                                         device: .card(path: "/dev/dri/card1")))
        #expect(config.privacy == .init(cameraSwitch: .simulated, muteButton: "/dev/input/event3", startMicMuted: true,
                                        cameraLED: "box:red:camera", micMutedLED: "box:amber:mic", statusLED: "box:green:status"))
        let network = config.network
        #expect(network.districtDomains == ["schule.example", "2001:db8::1"])
        #expect(network.mediaNetworks.map(\.description) == ["192.0.2.0/24", "2001:db8::/32"])
        #expect(network.stun == [HostPort(host: "turn.schule.example", port: 3478), HostPort(host: "2001:db8::1", port: 3479)])
        #expect(network.turn.map(\.url.description) == ["turns:turn.schule.example:5349?transport=tcp"])
        #expect(network.turn.first?.username == "box-4b")
        #expect(network.turn.first?.password.reveal() == "turn-secret")
        #expect(network.ntp == ["ntp.schule.example", "2001:db8::1"])
        #expect(network.ipv6 == false && network.interfaces == ["eth0"] && network.loopback)
        #expect(config.update.authorizedKeys == [TestKeys.ed25519, TestKeys.ecdsa])
        #expect(config.update.allowFrom.map(\.description) == ["10.20.0.0/16"])
        #expect(config.log.level == .debug)
        #expect(config.districtHosts == ["meet.schule.example", "turn.schule.example", "2001:db8::1"])
    }

    @Test func defaultsAreTheDocumentedOnes() throws {
        let config = try #require(ConfigFixture().valid())
        #expect(config.server.xmppDomain == "meet.schule.example")
        #expect(config.server.mucDomain == "conference.meet.schule.example")
        #expect(config.server.focus == "focus.meet.schule.example")
        #expect(config.server.websocketURL.description == "wss://meet.schule.example/xmpp-websocket")
        #expect(config.server.caBundle == nil && config.server.login == .anonymous && config.server.account == nil)
        #expect(config.room.organiser == false && config.room.startVideoMuted && !config.room.startAudioMuted)
        #expect(config.camera == .init(source: .testPattern, width: 1280, height: 720, fps: 30, maxBitrateKbps: 1500,
                                       encoderThreads: 0, encoderCpuUsed: -6, errorResilient: false, temporalLayers: 1))
        #expect(config.audio == .init(capture: .pcm("default"), playback: .pcm("default"), bitrateKbps: 32, dtx: false, toneHz: 440,
                                      volume: 80, echoCancellation: true, noiseSuppression: true))
        #expect(config.display.maxParticipants == 6)
        #expect(config.display.language == .de && config.display.mode == nil && config.display.device == .automatic,
                "German, the screen's preferred mode, the first connected screen")
        #expect(config.privacy == .init(cameraSwitch: .simulated, muteButton: nil, startMicMuted: false,
                                        cameraLED: nil, micMutedLED: nil, statusLED: nil))
        #expect(config.network.mediaNetworks.isEmpty && config.network.stun.isEmpty && config.network.turn.isEmpty && config.network.ntp.isEmpty)
        #expect(config.network.ipv6 && config.network.interfaces.isEmpty && !config.network.loopback)
        #expect(config.update.authorizedKeys.isEmpty && config.update.allowFrom.isEmpty)
        #expect(config.log.level == .info)
    }

    @Test func aRealCameraAndSwitchAreRead() throws {
        var fixture = ConfigFixture()
        fixture.set("camera", "device = \"/dev/v4l/by-id/usb-Cam-video-index0\"")
        fixture.set("privacy", "switch = \"/dev/null\"")  // exists, so no warning; it is not /dev/input
        #expect(fixture.problems().map(\.key) == ["privacy.switch"])
        fixture.set("privacy")
        let warnings = fixture.warnings()
        #expect(warnings.count == 1)
        #expect(warnings.first?.line == fixture.line(of: "[privacy]"))
        #expect(warnings.first?.message.contains("can never be turned on") == true)
    }

    @Test func theSimulatedBoardsFileIsValid() throws {
        let board = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Board/sim/classbox.toml").path
        let scratch = ConfigFixture()
        let copy = scratch.directory + "/classbox.toml"
        try FileManager.default.removeItem(atPath: scratch.directory + "/room-password")
        try FileManager.default.copyItem(atPath: board, toPath: copy)
        scratch.writeSecret("room-password", "sim")
        guard case .valid(let config, let warnings) = ConfigLoader.load(path: copy) else {
            Issue.record("Board/sim/classbox.toml is invalid"); return
        }
        #expect(warnings.isEmpty)
        #expect(config.camera.source == .testPattern && config.privacy.cameraSwitch == .simulated)
        #expect(config.audio.capture == .tone)
    }

    @Test func secretsNeverPrintThemselves() throws {
        let config = try #require(ConfigFixture().valid())
        #expect(!"\(config.room.password)".contains("geheim"))
        #expect(!String(describing: config).contains("geheim"))
        #expect(!String(reflecting: config).contains("geheim"))
    }

    @Test func diagnosticsPrintAsFileLineKeyProblemExpected() {
        var fixture = ConfigFixture()
        fixture.add("camera", "fps = 120")
        let line = fixture.line(of: "fps = 120")
        #expect(fixture.problems().map(\.description)
            == ["\(fixture.path):\(line): camera.fps: 120 is out of range (an integer from 1 to 60 frames per second)"])
    }

    @Test func anUnreadableFileIsNotAConfigError() throws {
        let fixture = ConfigFixture()
        guard case .unreadable(let reason) = ConfigLoader.load(path: fixture.directory + "/missing.toml") else {
            Issue.record("a missing file must be unreadable"); return
        }
        #expect(reason == "No such file or directory")
        guard case .unreadable(let directoryReason) = ConfigLoader.load(path: fixture.directory) else {
            Issue.record("a directory must be unreadable"); return
        }
        #expect(directoryReason == "Is a directory")
    }

    /// The README's configuration reference documents exactly the keys the decoder reads.
    @Test func theReadmeDocumentsEveryKey() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        var documented: Set<String> = []
        var section: String?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("#### Top level") { section = "" }
            if line.hasPrefix("#### `[") || line.hasPrefix("`[[") {
                let start = line.firstIndex(of: "[")!
                let name = line[start...].prefix { $0 != "`" }.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                section = name
            }
            if line.hasPrefix("## ") && !line.hasPrefix("## The provisioning file") { section = nil }
            guard let section, line.hasPrefix("| `") else { continue }
            let key = line.dropFirst(3).prefix { $0 != "`" }
            documented.insert(section.isEmpty ? String(key) : "\(section).\(key)")
        }
        #expect(documented == Set(ConfigSchema.allKeys))
        #expect(ConfigSchema.allKeys.count > 40)
    }
}
