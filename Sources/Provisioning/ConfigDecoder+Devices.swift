extension ConfigDecoder {
    func decodeCamera() -> ProvisioningConfig.Camera? {
        let section = reader.section("camera")
        let device = reader.string("device", in: section, default: nil,
                                   expected: "a V4L2 device such as \"/dev/video0\" or \"/dev/v4l/by-id/...\", or \"test-pattern\"") {
            $0 == "test-pattern" ? nil : Self.devicePathProblem($0, under: "/dev/")
        }
        let even: (Int) -> String? = { $0 % 2 == 0 ? nil : "\($0) is odd; VP8 needs an even size" }
        let width = reader.integer("width", in: section, default: 1280, range: 160...1920, unit: " pixels, even", check: even)
        let height = reader.integer("height", in: section, default: 720, range: 120...1080, unit: " pixels, even", check: even)
        let fps = reader.integer("fps", in: section, default: 30, range: 1...60, unit: " frames per second")
        let bitrate = reader.integer("max_bitrate_kbps", in: section, default: 1500, range: 100...8000, unit: " kbit/s")
        let threads = reader.integer("encoder_threads", in: section, default: 0, range: 0...8,
                                     expected: "0 (automatic, by the picture's size and the CPU's cores) or 1 to 8 threads")
        let cpuUsed = reader.integer("encoder_cpu_used", in: section, default: -6, range: -16...16)
        let errorResilient = reader.boolean("error_resilient", in: section, default: false)
        let layers = reader.integer("temporal_layers", in: section, default: 1, range: 1...3)
        guard let device, let width, let height, let fps, let bitrate, let threads, let cpuUsed, let errorResilient, let layers else {
            return nil
        }
        return .init(source: device == "test-pattern" ? .testPattern : .device(path: device), width: width, height: height, fps: fps,
                     maxBitrateKbps: bitrate, encoderThreads: threads, encoderCpuUsed: cpuUsed,
                     errorResilient: errorResilient, temporalLayers: layers)
    }

    func decodeAudio() -> ProvisioningConfig.Audio? {
        let section = reader.section("audio")
        let capture = reader.string("capture", in: section, default: "default",
                                    expected: "an ALSA PCM name such as \"default\" or \"hw:1,0\", \"tone\" or \"null\"",
                                    check: Self.pcmNameProblem)
        let playback = reader.string("playback", in: section, default: "default",
                                     expected: "an ALSA PCM name such as \"default\" or \"hw:1,0\", or \"null\"") {
            $0 == "tone" ? "\"tone\" is a capture source only" : Self.pcmNameProblem($0)
        }
        let bitrate = reader.integer("bitrate_kbps", in: section, default: 32, range: 6...510, unit: " kbit/s")
        let dtx = reader.boolean("dtx", in: section, default: false)
        let toneHz = reader.integer("tone_hz", in: section, default: 440, range: 20...20000, unit: " Hz")
        let volume = reader.integer("volume", in: section, default: 80, range: 0...100, unit: " (0 silent, 100 full)")
        let echoCancellation = reader.boolean("echo_cancellation", in: section, default: true)
        let noiseSuppression = reader.boolean("noise_suppression", in: section, default: true)
        guard let capture, let playback, let bitrate, let dtx, let toneHz, let volume, let echoCancellation, let noiseSuppression else {
            return nil
        }
        return .init(capture: capture == "tone" ? .tone : capture == "null" ? .null : .pcm(capture),
                     playback: playback == "null" ? .null : .pcm(playback),
                     bitrateKbps: bitrate, dtx: dtx, toneHz: toneHz, volume: volume,
                     echoCancellation: echoCancellation, noiseSuppression: noiseSuppression)
    }

    static func pcmNameProblem(_ name: String) -> String? {
        guard !name.isEmpty, name.utf8.count <= 128 else { return "a PCM name has 1 to 128 characters" }
        let printable = name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "'") }
        return printable ? nil : "\"\(name)\" is not an ALSA PCM name (no spaces or quotes)"
    }

    func decodePrivacy(camera: ProvisioningConfig.Camera?) -> ProvisioningConfig.Privacy? {
        let section = reader.section("privacy")
        let switchExpected = "an input device such as \"/dev/input/by-path/platform-gpio-keys-event\" reporting SW_CAMERA_LENS_COVER, or \"simulated\""
        let switchPath = reader.string("switch", in: section, default: "", expected: switchExpected) {
            $0 == "simulated" ? nil : Self.devicePathProblem($0, under: "/dev/input/")
        }
        var cameraSwitch: ProvisioningConfig.Privacy.Switch?
        switch switchPath {
        case nil:
            cameraSwitch = nil
        case "":
            cameraSwitch = ProvisioningConfig.Privacy.Switch.none
            if camera != nil {
                reader.warning(section.line, section.key("switch"), "no privacy switch is configured, so the camera can never be turned on",
                               expected: switchExpected)
            }
        case "simulated":
            cameraSwitch = .simulated
            if let camera, camera.source != .testPattern, let line = section.table?["switch"]?.node.line {
                reader.error(line, section.key("switch"), "the simulated switch only works with camera.device = \"test-pattern\"",
                             expected: "a physical switch for a real camera")
                cameraSwitch = nil
            }
        case let path?:
            cameraSwitch = .inputDevice(path)
            warnIfMissing(path, key: "switch", in: section, consequence: "the camera stays off until it appears")
        }
        let muteButton = reader.string("mute_button", in: section, default: "",
                                       expected: "an input device reporting KEY_MICMUTE, e.g. \"/dev/input/by-path/platform-gpio-keys-event\"") {
            Self.devicePathProblem($0, under: "/dev/input/")
        }
        if let muteButton, !muteButton.isEmpty {
            warnIfMissing(muteButton, key: "mute_button", in: section, consequence: "the microphone cannot be muted by button")
        }
        let startMicMuted = reader.boolean("start_mic_muted", in: section, default: false)
        let leds = ["led_camera", "led_mic_muted", "led_status"].map { led(named: $0, in: section) }
        guard let cameraSwitch, let muteButton, let startMicMuted, let camera = leds[0], let mic = leds[1], let status = leds[2] else {
            return nil
        }
        return .init(cameraSwitch: cameraSwitch, muteButton: muteButton.isEmpty ? nil : muteButton, startMicMuted: startMicMuted,
                     cameraLED: camera.isEmpty ? nil : camera, micMutedLED: mic.isEmpty ? nil : mic, statusLED: status.isEmpty ? nil : status)
    }

    /// An LED class name (`/sys/class/leds/NAME`); "" when not configured.
    private func led(named key: String, in section: ConfigReader.Section) -> String? {
        let name = reader.string(key, in: section, default: "", expected: "an LED name from /sys/class/leds, e.g. \"classbox:red:camera\"") { name in
            let ok = !name.isEmpty && name.utf8.count <= 64 && !name.hasPrefix(".")
                && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }
            return ok ? nil : "\"\(name)\" is not an LED name"
        }
        if let name, !name.isEmpty, !FileAccess.exists("\(environment.ledClassDirectory)/\(name)"), let line = section.table?[key]?.node.line {
            reader.warning(line, section.key(key), "no LED \(name) in \(environment.ledClassDirectory) on this machine",
                           expected: "a name that `classbox probe` lists")
        }
        return name
    }

    private func warnIfMissing(_ path: String, key: String, in section: ConfigReader.Section, consequence: String) {
        guard !FileAccess.exists(path), let line = section.table?[key]?.node.line else { return }
        reader.warning(line, section.key(key), "\(path) does not exist on this machine; \(consequence)",
                       expected: "a device that `classbox probe` lists")
    }
}
