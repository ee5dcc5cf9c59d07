import Foundation
import Testing
@testable import Provisioning

/// One broken key: lines added to a section of the minimal valid file, the line (found by
/// its marker text) and key the single error must name, and what its message must say.
struct ErrorCase: Sendable, CustomTestStringConvertible {
    var section: String
    var lines: [String]
    var marker: String
    var key: String
    var message: String
    var replace = false
    var secrets: [String: (contents: String, mode: Int)] = [:]

    var testDescription: String { "\(key): \(message)" }

    static func add(_ section: String, _ line: String, key: String, _ message: String) -> ErrorCase {
        ErrorCase(section: section, lines: [line], marker: line, key: key, message: message)
    }

    /// Replaces a whole section; `marker` picks the line the error belongs to.
    static func set(_ section: String, _ lines: [String], marker: String, key: String, _ message: String,
                    secrets: [String: (contents: String, mode: Int)] = [:]) -> ErrorCase {
        ErrorCase(section: section, lines: lines, marker: marker, key: key, message: message, replace: true, secrets: secrets)
    }
}

let roomLines = ["name = \"klasse-4b\"", "label = \"Klasse 4b\""]
let turnBase = ["username = \"box\"", "password_file = \"room-password\""]

let serverCases: [ErrorCase] = [
    .set("server", ["host = \"https://meet.schule.example\""], marker: "host", key: "server.host", "is not a host name"),
    .set("server", ["host = \"meet.other.example\""], marker: "host", key: "server.host", "outside the district allow-list"),
    .set("server", ["host = 5"], marker: "host", key: "server.host", "wrong type: found a integer"),
    .add("server", "xmpp_domain = \"not a domain\"", key: "server.xmpp_domain", "is not a domain name"),
    .add("server", "muc_domain = \"\"", key: "server.muc_domain", "is not a domain name"),
    .add("server", "focus = \"focus..x\"", key: "server.focus", "is not a domain name"),
    .add("server", "websocket_url = \"https://meet.schule.example/ws\"", key: "server.websocket_url", "is not a WebSocket URL"),
    .add("server", "websocket_url = \"wss://meet.schule.example:99999/ws\"", key: "server.websocket_url", "is not a WebSocket URL"),
    .add("server", "websocket_url = \"ws://meet.schule.example/xmpp-websocket\"", key: "server.websocket_url", "unencrypted ws://"),
    .add("server", "websocket_url = \"wss://meet.other.example/xmpp-websocket\"", key: "server.websocket_url", "outside the district allow-list"),
    .add("server", "ca_bundle = \"missing.pem\"", key: "server.ca_bundle", "cannot read"),
    .add("server", "ca_bundle = \"room-password\"", key: "server.ca_bundle", "holds no PEM certificate"),
    .add("server", "login = \"ldap\"", key: "server.login", "unknown login \"ldap\""),
    .add("server", "account = \"box-4b\"", key: "server.account", "only used with login = \"account\""),
    .add("server", "account_password_file = \"room-password\"", key: "server.account_password_file", "only used with login"),
    .set("server", ["host = \"meet.schule.example\"", "login = \"account\"", "account = \"box 4b\"",
                    "account_password_file = \"room-password\""], marker: "account =", key: "server.account", "is not an account name"),
]

let roomCases: [ErrorCase] = [
    .set("room", ["name = \"Klasse 4b\"", "password_file = \"room-password\"", "label = \"x\""], marker: "name",
         key: "room.name", "characters a Jitsi room name cannot have"),
    .set("room", ["name = \"\"", "password_file = \"room-password\"", "label = \"x\""], marker: "name", key: "room.name", "1 to 64"),
    .set("room", ["name = \"\(String(repeating: "a", count: 65))\"", "password_file = \"room-password\"", "label = \"x\""],
         marker: "name", key: "room.name", "1 to 64"),
    .set("room", roomLines + ["password_file = \"open-secret\""], marker: "password_file", key: "room.password_file",
         "is accessible by group or others (mode 0644)", secrets: ["open-secret": ("pw", 0o644)]),
    .set("room", roomLines + ["password_file = \"group-secret\""], marker: "password_file", key: "room.password_file",
         "(mode 0640)", secrets: ["group-secret": ("pw", 0o640)]),
    .set("room", roomLines + ["password_file = \"missing\""], marker: "password_file", key: "room.password_file", "does not exist"),
    .set("room", roomLines + ["password_file = \"empty\""], marker: "password_file", key: "room.password_file", "is empty",
         secrets: ["empty": ("\n", 0o600)]),
    .set("room", roomLines + ["password_file = \"two-lines\""], marker: "password_file", key: "room.password_file",
         "more than one line", secrets: ["two-lines": ("a\nb\n", 0o600)]),
    .set("room", roomLines + ["password_file = \"\""], marker: "password_file", key: "room.password_file", "the path is empty"),
    .set("room", roomLines + ["password_file = \".\""], marker: "password_file", key: "room.password_file", "not a regular file"),
    .set("room", ["name = \"r\"", "password_file = \"room-password\"", "label = \"\""], marker: "label", key: "room.label", "1 to 48"),
    .set("room", ["name = \"r\"", "password_file = \"room-password\"", "label = \"\(String(repeating: "x", count: 49))\""],
         marker: "label", key: "room.label", "1 to 48"),
    .set("room", ["name = \"r\"", "password_file = \"room-password\"", "label = \"anna.schmidt@schule.example\""],
         marker: "label", key: "room.label", "e-mail address"),
    .set("room", ["name = \"r\"", "password_file = \"room-password\"", "label = \" Klasse 4b\""], marker: "label",
         key: "room.label", "starts or ends with a space"),
    .set("room", ["name = \"r\"", "password_file = \"room-password\"", "label = \"4b\\u0007\""], marker: "label",
         key: "room.label", "control characters"),
    .add("room", "organiser = \"yes\"", key: "room.organiser", "wrong type: found a string \"yes\""),
    .add("room", "start_video_muted = 1", key: "room.start_video_muted", "wrong type"),
    .add("room", "start_audio_muted = 1", key: "room.start_audio_muted", "wrong type"),
]

let cameraCases: [ErrorCase] = [
    .set("camera", ["device = \"video0\""], marker: "device", key: "camera.device", "is not a device path under /dev/"),
    .set("camera", ["device = \"/dev/../etc/passwd\""], marker: "device", key: "camera.device", "\"..\" is not allowed"),
    .add("camera", "width = 1281", key: "camera.width", "1281 is odd"),
    .add("camera", "width = 100", key: "camera.width", "100 is out of range"),
    .add("camera", "height = 2000", key: "camera.height", "out of range"),
    .add("camera", "height = 721", key: "camera.height", "is odd"),
    .add("camera", "fps = 0", key: "camera.fps", "out of range"),
    .add("camera", "fps = 30.0", key: "camera.fps", "wrong type: found a float"),
    .add("camera", "max_bitrate_kbps = 50", key: "camera.max_bitrate_kbps", "out of range"),
    .add("camera", "encoder_threads = 9", key: "camera.encoder_threads", "out of range"),
    .add("camera", "encoder_cpu_used = -17", key: "camera.encoder_cpu_used", "out of range"),
    .add("camera", "error_resilient = 1", key: "camera.error_resilient", "wrong type"),
    .add("camera", "temporal_layers = 4", key: "camera.temporal_layers", "out of range"),
]

let audioCases: [ErrorCase] = [
    .add("audio", "capture = \"my mic\"", key: "audio.capture", "is not an ALSA PCM name"),
    .add("audio", "capture = \"\"", key: "audio.capture", "1 to 128"),
    .add("audio", "playback = \"tone\"", key: "audio.playback", "capture source only"),
    .add("audio", "playback = \"hw:0,'0'\"", key: "audio.playback", "is not an ALSA PCM name"),
    .add("audio", "bitrate_kbps = 5", key: "audio.bitrate_kbps", "out of range"),
    .add("audio", "dtx = \"on\"", key: "audio.dtx", "wrong type"),
    .add("audio", "tone_hz = 10", key: "audio.tone_hz", "out of range"),
    .add("audio", "volume = 101", key: "audio.volume", "out of range"),
    .add("display", "max_participants = 0", key: "display.max_participants", "out of range"),
    .add("display", "max_participants = 17", key: "display.max_participants", "out of range"),
    .add("display", "language = \"fr\"", key: "display.language", "unknown language \"fr\""),
    .add("display", "device = \"/dev/video0\"", key: "display.device", "is not a device path under /dev/dri/"),
    .add("display", "device = \"hdmi\"", key: "display.device", "is not a device path under /dev/dri/"),
    .add("display", "device = \"/dev/dri/../mem\"", key: "display.device", "\"..\" is not allowed"),
    .add("display", "language = 1", key: "display.language", "wrong type"),
    .add("display", "mode = \"1920x1080p\"", key: "display.mode", "is not WIDTHxHEIGHT"),
    .add("display", "mode = \"1920×1080\"", key: "display.mode", "is not WIDTHxHEIGHT"),
    .add("display", "mode = \"100x100\"", key: "display.mode", "is not WIDTHxHEIGHT"),
    .add("display", "mode = \"1920x1080@0\"", key: "display.mode", "is not WIDTHxHEIGHT"),
    .add("display", "mode = \"1920x1080@60@60\"", key: "display.mode", "is not WIDTHxHEIGHT"),
    .add("audio", "volume = -1", key: "audio.volume", "out of range"),
    .add("audio", "echo_cancellation = \"off\"", key: "audio.echo_cancellation", "wrong type"),
    .add("audio", "noise_suppression = 0", key: "audio.noise_suppression", "wrong type"),
]

let privacyCases: [ErrorCase] = [
    .set("privacy", ["switch = \"event0\""], marker: "switch", key: "privacy.switch", "not a device path under /dev/input/"),
    .add("privacy", "mute_button = \"/dev/video0\"", key: "privacy.mute_button", "not a device path under /dev/input/"),
    .add("privacy", "start_mic_muted = 0", key: "privacy.start_mic_muted", "wrong type"),
    .add("privacy", "led_camera = \"a/b\"", key: "privacy.led_camera", "is not an LED name"),
    .add("privacy", "led_mic_muted = 3", key: "privacy.led_mic_muted", "wrong type"),
    .add("privacy", "led_status = \"\"", key: "privacy.led_status", "is not an LED name"),
]

let networkCases: [ErrorCase] = [
    .set("network", ["district_domains = [\"schule.example\", \"de\"]"], marker: "district", key: "network.district_domains[2]",
         "is a whole top-level domain"),
    .set("network", ["district_domains = [\"schule.example\", 3]"], marker: "district", key: "network.district_domains[2]",
         "wrong type: found a integer"),
    .set("network", ["district_domains = [\"schule.example\", \"bad domain\"]"], marker: "district",
         key: "network.district_domains[2]", "is not a domain name or address"),
    .set("network", ["district_domains = \"schule.example\""], marker: "district", key: "network.district_domains", "wrong type"),
    .set("network", ["district_domains = [", "  \"schule.example\",", "  \"x..y\",", "]"], marker: "x..y",
         key: "network.district_domains[2]", "is not a domain name"),
    .add("network", "media_networks = [\"10.0.0.0/33\"]", key: "network.media_networks[1]", "is not an address range"),
    .add("network", "stun = [\"stun.schule.example:3478\"]", key: "network.stun[1]", "is not a stun: URI"),
    .add("network", "stun = [\"stun:stun.schule.example\", \"stun:stun.l.google.com:19302\"]", key: "network.stun[2]",
         "host stun.l.google.com is outside the district allow-list"),
    .add("network", "ntp = [\"ntp.schule.example\", \"pool.ntp.org\"]", key: "network.ntp[2]",
         "host pool.ntp.org is outside the district allow-list"),
    .add("network", "ntp = [\"ntp:ntp.schule.example\"]", key: "network.ntp[1]", "is not a host name or address"),
    .add("network", "ipv6 = \"yes\"", key: "network.ipv6", "wrong type"),
    .add("network", "interfaces = [\"this-name-is-too-long0\"]", key: "network.interfaces[1]", "is not an interface name"),
    .add("network", "loopback = 1", key: "network.loopback", "wrong type"),
    .add("network", "turn = \"turn:x\"", key: "network.turn", "wrong type: found a string"),
    .set("[[network.turn]]", ["url = \"http://turn.schule.example\""] + turnBase, marker: "url", key: "network.turn[1].url",
         "is not a TURN URI"),
    .set("[[network.turn]]", ["url = \"turn:turn.elsewhere.example\""] + turnBase, marker: "url", key: "network.turn[1].url",
         "outside the district allow-list"),
    .set("[[network.turn]]", ["url = \"turns:turn.schule.example?transport=udp\""] + turnBase, marker: "url",
         key: "network.turn[1].url", "is not a TURN URI"),
    .set("[[network.turn]]", ["url = \"turn:turn.schule.example\"", "username = \"\"", "password_file = \"room-password\""],
         marker: "username", key: "network.turn[1].username", "empty"),
    .set("[[network.turn]]", ["url = \"turn:turn.schule.example\"", "username = \"box\""], marker: "[[network.turn]]",
         key: "network.turn[1].password_file", "missing required key"),
]

let otherCases: [ErrorCase] = [
    .add("update", "authorized_keys = [\"no-pty \(TestKeys.ed25519)\"]", key: "update.authorized_keys[1]", "options are not allowed"),
    .add("update", "authorized_keys = [\"ssh-ed25519 not-base64!\"]", key: "update.authorized_keys[1]", "not base64"),
    // A second line smuggled into the comment would be a key without 'restrict'.
    .add("update", "authorized_keys = [\"\(TestKeys.ed25519) it\\nssh-ed25519 AAAA evil\"]", key: "update.authorized_keys[1]", "line break"),
    .add("update", "authorized_keys = [\"ssh-dss AAAAB3NzaC1kc3M=\"]", key: "update.authorized_keys[1]", "is not an SSH public key type"),
    .add("update", "authorized_keys = [\"\(TestKeys.ecdsa.replacingOccurrences(of: "ecdsa-sha2-nistp256", with: "ssh-ed25519"))\"]",
         key: "update.authorized_keys[1]", "does not hold a ssh-ed25519 key"),
    .add("update", "allow_from = [\"10.0.0.0\"]", key: "update.allow_from[1]", "is not an address range"),
    .add("log", "level = \"verbose\"", key: "log.level", "unknown level \"verbose\""),
    .set("", ["config_version = 2"], marker: "config_version", key: "config_version", "reads version 1, not 2"),
    .set("", ["config_version = \"1\""], marker: "config_version", key: "config_version", "wrong type"),
    .set("", ["config_version = 1", "colour = \"blue\""], marker: "colour", key: "colour", "unknown key"),
    .set("camra", ["fps = 30"], marker: "[camra]", key: "camra", "unknown table [camra]; did you mean [camera]?"),
    .add("camera", "fsp = 30", key: "camera.fsp", "unknown key; did you mean 'fps'?"),
    .add("audio", "fps = 30", key: "audio.fps", "did you mean 'fps' in [camera]?"),
    .add("room", "pasword_file = \"x\"", key: "room.pasword_file", "did you mean 'password_file'?"),
    .set("", ["config_version = 1", "log = \"debug\""], marker: "log =", key: "log", "wrong type: found a string"),
]

@Suite struct ConfigErrorTests {
    @Test(arguments: serverCases + roomCases + cameraCases + audioCases + privacyCases + networkCases + otherCases)
    func eachBrokenKeyGivesOneErrorOnItsLine(_ broken: ErrorCase) {
        var fixture = ConfigFixture()
        for (name, secret) in broken.secrets { fixture.writeSecret(name, secret.contents, mode: secret.mode) }
        if broken.replace {
            fixture.sections.removeAll { $0.name == broken.section }
            if broken.section.isEmpty {
                fixture.sections.insert(("", broken.lines), at: 0)
            } else {
                fixture.sections.append((broken.section, broken.lines))
            }
        } else {
            for line in broken.lines { fixture.add(broken.section, line) }
        }
        fixture.expectSingleError(line: fixture.line(of: broken.marker), key: broken.key, message: broken.message)
    }

    @Test func missingRequiredKeysAreReportedAtTheirTable() {
        var fixture = ConfigFixture()
        fixture.drop("room", keyPrefix: "label")
        fixture.expectSingleError(line: fixture.line(of: "[room]"), key: "room.label", message: "missing required key")
    }

    @Test func aMissingTableReportsEachRequiredKeyOnLineOne() {
        var fixture = ConfigFixture()
        fixture.remove("room")
        let errors = fixture.problems()
        #expect(errors.map(\.key) == ["room.name", "room.password_file", "room.label"])
        #expect(errors.allSatisfy { $0.line == 1 && $0.message == "missing required key" && $0.severity == .error })
    }

    @Test func anEmptyFileNamesEveryRequiredKey() {
        var fixture = ConfigFixture()
        fixture.sections = []
        #expect(Set(fixture.problems().map(\.key)) == ["config_version", "server.host", "room.name", "room.password_file",
                                                        "room.label", "camera.device", "network.district_domains"])
    }

    @Test func accountLoginNeedsTheAccountAndItsPassword() {
        var fixture = ConfigFixture()
        fixture.add("server", "login = \"account\"")
        let errors = fixture.problems()
        #expect(errors.map(\.key) == ["server.account", "server.account_password_file"])
        #expect(errors.allSatisfy { $0.line == fixture.line(of: "[server]") })
    }

    @Test func theSimulatedSwitchCannotTurnOnARealCamera() {
        var fixture = ConfigFixture()
        fixture.set("camera", "device = \"/dev/video0\"")
        fixture.expectSingleError(line: fixture.line(of: "switch ="), key: "privacy.switch",
                                  message: "only works with camera.device = \"test-pattern\"")
    }

    @Test func theSnapshotDisplayNeedsTheTestPattern() {
        var fixture = ConfigFixture()
        fixture.set("camera", "device = \"/dev/video0\"")
        fixture.set("display", "device = \"snapshot\"")
        let problems = fixture.problems().filter { $0.key == "display.device" }
        #expect(problems.count == 1 && problems.first?.line == fixture.line(of: "device = \"snapshot\""), "\(fixture.problems())")
        #expect(problems.first?.message.contains("only works with camera.device = \"test-pattern\"") == true)
    }

    @Test func anEmptyAllowListIsRefused() {
        var fixture = ConfigFixture()
        fixture.set("network", "district_domains = []")
        fixture.expectSingleError(line: fixture.line(of: "district_domains"), key: "network.district_domains",
                                  message: "the allow-list is empty")
    }

    @Test func aSyntaxErrorIsReportedWithoutMisleadingMissingKeys() {
        var fixture = ConfigFixture()
        fixture.set("room", "name = \"klasse-4b\"", "password_file = \"room-password\"", "label = Klasse 4b")
        fixture.expectSingleError(line: fixture.line(of: "label"), key: "room.label", message: "text must be quoted")
    }

    @Test func syntaxAndSemanticErrorsAreAllReportedInLineOrder() {
        var fixture = ConfigFixture()
        fixture.add("camera", "fps = 99")
        fixture.add("network", "ipv6 = maybe")
        fixture.add("log", "level = \"loud\"")
        let errors = fixture.problems()
        #expect(errors.map(\.line) == [fixture.line(of: "fps = 99"), fixture.line(of: "ipv6"), fixture.line(of: "level")])
        #expect(errors.map(\.key) == ["camera.fps", "network.ipv6", "log.level"])
    }

    @Test func warningsDoNotMakeAFileInvalid() {
        var fixture = ConfigFixture()
        fixture.add("room", "start_video_muted = false")
        fixture.add("privacy", "led_camera = \"box:red:camera\"")
        fixture.set("camera", "device = \"/dev/video0\"")
        fixture.set("privacy", "switch = \"/dev/input/by-path/no-such-switch\"", "led_camera = \"box:red:camera\"")
        let warnings = fixture.warnings()
        #expect(warnings.map(\.key) == ["room.start_video_muted", "privacy.switch", "privacy.led_camera"])
        #expect(warnings.map(\.line) == [fixture.line(of: "start_video_muted"), fixture.line(of: "no-such-switch"),
                                         fixture.line(of: "led_camera")])
        #expect(warnings.allSatisfy { $0.severity == .warning && $0.description.contains(": warning: ") })
        fixture.makeLED("box:red:camera")
        #expect(fixture.warnings().map(\.key) == ["room.start_video_muted", "privacy.switch"])
    }
}
