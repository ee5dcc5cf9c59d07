import ClassboxTestSupport
import Foundation
import Testing
@testable import Device

/// The LED class driver against a scratch copy of sysfs's layout for one LED.
struct LEDTests {
    static func fakeLED(_ name: String, in directory: String, maxBrightness: Int = 255) throws {
        let base = "\(directory)/\(name)"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        for (file, value) in [("brightness", "0"), ("max_brightness", "\(maxBrightness)"), ("trigger", "[none] timer heartbeat"),
                              ("delay_on", "0"), ("delay_off", "0")] {
            try "\(value)\n".write(toFile: "\(base)/\(file)", atomically: false, encoding: .utf8)
        }
    }

    static func read(_ path: String) -> String {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func patternsAreWrittenAsTheKernelExpects() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("leds-\(UUID().uuidString)").path
        try Self.fakeLED("classbox:status", in: directory, maxBrightness: 1)
        let led = LED(name: "classbox:status", directory: directory)
        try led.show(.on)
        #expect(Self.read("\(directory)/classbox:status/trigger") == "none" && Self.read("\(directory)/classbox:status/brightness") == "1",
                "on = the LED's own maximum brightness")
        try led.show(.blink(onMilliseconds: 100, offMilliseconds: 100))
        #expect(Self.read("\(directory)/classbox:status/trigger") == "timer")
        #expect(Self.read("\(directory)/classbox:status/delay_on") == "100" && Self.read("\(directory)/classbox:status/delay_off") == "100")
        try led.show(.off)
        #expect(Self.read("\(directory)/classbox:status/brightness") == "0")
        #expect(throws: DeviceError.self) { try LED(name: "missing", directory: directory).show(.on) }
    }
}
