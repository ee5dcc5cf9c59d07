import Capture
import Device

/// `classbox probe`: what IT runs over SSH when something does not work. Lists the
/// cameras, ALSA PCMs, input devices and LEDs this machine offers, with the names that go
/// into the provisioning file. Cameras are only asked for their formats, never streamed.
public enum ProbeReport {
    public struct Locations: Sendable {
        public var devices = "/dev"
        public var inputDevices = InputDevices.defaultDirectory
        public var leds = LEDClass.defaultDirectory
        public init() {}
    }

    public static func render(_ locations: Locations = .init()) -> String {
        var out: [String] = []
        out.append("Cameras (V4L2 capture devices in \(locations.devices)):")
        let (cameras, cameraFailures) = CameraProbe.list(directory: locations.devices)
        for camera in cameras {
            out.append("  \(camera.path)  \(camera.card)  [driver \(camera.driver), \(camera.bus)]")
            for format in camera.formats {
                out.append("    \(format.fourcc)  \(format.description)  \(sizes(format.sizes))")
            }
        }
        out += failures(cameraFailures.mapValues(\.description))
        if cameras.isEmpty && cameraFailures.isEmpty { out.append("  none found") }

        out.append("ALSA PCMs (for audio.capture / audio.playback):")
        do {
            let pcms = try PCMProbe.list()
            for pcm in pcms { out.append("  \(pcm.direction.rawValue.padding(8))  \(pcm.name.padding(30))  \(pcm.description)") }
            if pcms.isEmpty { out.append("  none found") }
        } catch {
            out.append("  cannot list: \(error)")
        }

        out.append("Input devices (for privacy.switch / privacy.mute_button):")
        let (inputs, inputFailures) = InputDevices.list(directory: locations.inputDevices)
        for input in inputs {
            var roles: [String] = []
            if input.hasCameraSwitch {
                let state = input.cameraCovered.map { $0 ? "closed (private)" : "open (camera allowed)" } ?? "state unknown"
                roles.append("camera privacy switch: \(state)")
            }
            if input.hasMicMuteKey { roles.append("mic-mute key") }
            out.append("  \(input.path)  \"\(input.name)\"\(roles.isEmpty ? "" : "  " + roles.joined(separator: "; "))")
        }
        out += failures(inputFailures.mapValues(\.description))
        if inputs.isEmpty && inputFailures.isEmpty { out.append("  none found") }

        out.append("LEDs (in \(locations.leds), for privacy.led_*):")
        let leds = LEDClass.list(directory: locations.leds)
        for led in leds {
            let level = led.brightness.map { "brightness \($0)/\(led.maxBrightness.map(String.init) ?? "?")" } ?? "brightness ?"
            out.append("  \(led.name)  \(level)  trigger \(led.trigger ?? "?")")
        }
        if leds.isEmpty { out.append("  none found") }
        return out.joined(separator: "\n") + "\n"
    }

    private static func sizes(_ sizes: [(width: Int, height: Int)]) -> String {
        sizes.map { "\($0.width)x\($0.height)" }.joined(separator: " ")
    }

    private static func failures(_ failures: [String: String]) -> [String] {
        failures.sorted { $0.key < $1.key }.map { "  \($0.key)  cannot open: \($0.value)" }
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
