import ClassboxTestSupport
import Composition
import Display
import Foundation
import Layout
import StatusScreen
import Testing

/// The screen path against a real KMS driver: QEMU's bochs-display (1280x720) in the QEMU
/// tier's guest, and QEMU's own screendump of what it scans out.
@Suite(.serialized, .enabled(if: inQEMUGuest, "needs a KMS device: runs inside the QEMU tier (make qemu-test)"))
struct KMSDisplayTests {
    /// QEMU's screendump of the virtual screen now, through the rig (Tests/QEMU/rig.sh): RGB rows.
    static func screendump(_ name: String) throws -> (width: Int, height: Int, rgb: [UInt8]) {
        let share = ProcessInfo.processInfo.environment["CLASSBOX_QEMU_SHARE"] ?? "/tmp/share"
        let file = "\(share)/\(name).ppm"
        // Written whole and renamed into place: the rig never reads half a name.
        try name.write(toFile: "\(share)/screendump.request", atomically: true, encoding: .utf8)
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: file + ".done") {
            guard Date() < deadline else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: file]) }
            usleep(100_000)
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        // "P6\n<width> <height>\n255\n" then the pixels.
        var fields: [String] = [], index = data.startIndex, current = ""
        while fields.count < 4, index < data.endIndex {
            let byte = data[index]
            index += 1
            if byte == 0x20 || byte == 0x0A { if !current.isEmpty { fields.append(current); current = "" } } else { current.append(Character(UnicodeScalar(byte))) }
        }
        let width = Int(fields[1]) ?? 0, height = Int(fields[2]) ?? 0
        return (width, height, Array(data[index...]))
    }

    /// Pixels where the screendump and the canvas's copy differ.
    static func differences(_ dump: (width: Int, height: Int, rgb: [UInt8]), _ frame: [UInt8], stride: Int) -> Int {
        var count = 0
        for y in 0..<dump.height {
            for x in 0..<dump.width {
                let shown = (y * dump.width + x) * 3, drawn = y * stride + x * 4
                if dump.rgb[shown] != frame[drawn + 2] || dump.rgb[shown + 1] != frame[drawn + 1] || dump.rgb[shown + 2] != frame[drawn] { count += 1 }
            }
        }
        return count
    }

    static func copy(_ canvas: ScreenCanvas) -> [UInt8] {
        Array(UnsafeBufferPointer(start: canvas.base, count: canvas.stride * canvas.height))
    }

    /// Mode set, then 30 page flips with their events, a status screen and a moving marker:
    /// QEMU's screendump shows exactly the last frame drawn.
    @Test func aStatusScreenReachesTheScreenAndFlipsComplete() throws {
        let display = try KMSDisplay()
        print("kms: \(display.path) \(display.connectorName) \(display.mode)\(display.modeNote.map { " (\($0))" } ?? "")")
        #expect(display.mode.width == 1280 && display.mode.height == 720, "bochs-display's preferred mode: \(display.mode)")
        let compositor = ScreenCompositor(screenWidth: display.mode.width, screenHeight: display.mode.height)
        let painter = try StatusScreenPainter(screenWidth: display.mode.width, screenHeight: display.mode.height)
        let text = StatusWording.text(for: .waiting(room: "Klasse 7b"), indicators: ScreenIndicators(cameraLive: false), language: .de)
        var last: [UInt8] = []
        let frames = 30
        let started = Date()
        for frame in 0...frames {
            let canvas = display.canvas
            painter.paint(text, with: compositor, on: canvas)
            // A white square whose position says the frame number.
            compositor.fill(ScreenRect(x: 20 + frame * 30, y: 40, width: 24, height: 24), with: ScreenColour(red: 255, green: 255, blue: 255), on: canvas)
            last = Self.copy(canvas)
            #expect(try display.present())
            if frame > 0 { #expect(display.waitForFlip(milliseconds: 2000), "flip \(frame) completed") }
        }
        let seconds = Date().timeIntervalSince(started)
        print("kms: \(display.flipsCompleted) flips completed in \(String(format: "%.1f", seconds)) s (status screen painted each time, under TCG)")
        #expect(display.flipsCompleted == frames)
        let dump = try Self.screendump("kms-status")
        #expect(dump.width == 1280 && dump.height == 720)
        let differing = Self.differences(dump, last, stride: display.canvas.stride)
        print("kms: screendump vs the last frame drawn: \(differing) of \(dump.width * dump.height) pixels differ")
        #expect(differing == 0)
    }

    /// The connector forced off and back on through sysfs, as a TV switched off and on: the
    /// display reads the state the kernel reports. Whether a forced change also sends a
    /// hotplug uevent depends on the kernel version (a real HDMI hotplug always does), so the
    /// uevent is reported, not required; its parsing is unit-tested (`HotplugUeventTests`).
    @Test func aScreenSwitchedOffAndOnIsSeen() throws {
        let display = try KMSDisplay()
        let monitor = try #require(HotplugMonitor(), "a netlink uevent socket")
        let status = "/sys/class/drm/\(URL(fileURLWithPath: display.path).lastPathComponent)-\(display.connectorName)/status"
        #expect(display.isConnected())
        func force(_ value: String) throws -> Bool {
            try value.write(toFile: status, atomically: false, encoding: .utf8)
            var entry = pollfd(fd: monitor.descriptor, events: Int16(POLLIN), revents: 0)
            return poll(&entry, 1, 1000) > 0 && monitor.drmHotplugOccurred()
        }
        let offEvent = try force("off")
        #expect(!display.isConnected(), "the connector reads disconnected after forcing \(status) off")
        let onEvent = try force("detect")
        #expect(display.isConnected(), "connected again after \(status) back to detection")
        print("kms: \(status) off and back: hotplug uevents \(offEvent), \(onEvent)")
    }
}
