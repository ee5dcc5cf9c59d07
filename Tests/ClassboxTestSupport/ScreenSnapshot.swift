import Foundation

/// The simulated board's screen (`display.device = "snapshot"`): its PNG decoded by GStreamer
/// (an independent PNG reader, not the box's libpng writer), as RGB rows.
public struct ScreenSnapshot {
    public let width: Int
    public let height: Int
    public let rgb: [UInt8]

    public static var available: Bool { ExternalProcess.which("gst-launch-1.0") != nil }

    /// Reads the PNG at `path` (nil when there is none yet).
    public static func read(_ path: String) throws -> ScreenSnapshot? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("snapshot-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch + ".png"); try? FileManager.default.removeItem(atPath: scratch + ".rgb") }
        try FileManager.default.copyItem(atPath: path, toPath: scratch + ".png")
        let decoder = try SpawnedProcess(ExternalProcess.which("gst-launch-1.0")!,
                                         ["-q", "filesrc", "location=\(scratch).png", "!", "pngdec", "!", "videoconvert", "!",
                                          "video/x-raw,format=RGB", "!", "filesink", "location=\(scratch).rgb"], environment: [:])
        guard decoder.wait(timeout: 20).status == 0 else { return nil }
        // The size from the PNG's IHDR chunk (bytes 16–23, big-endian).
        let png = try Data(contentsOf: URL(fileURLWithPath: scratch + ".png"))
        guard png.count > 24 else { return nil }
        let number = { (offset: Int) in png[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        let rgb = try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch + ".rgb")))
        let (width, height) = (number(16), number(20))
        // GStreamer pads RGB rows to 4 bytes; 1280- and 1920-wide rows need none.
        guard rgb.count == width * height * 3 else { return nil }
        return ScreenSnapshot(width: width, height: height, rgb: rgb)
    }

    public func pixel(x: Int, y: Int) -> (red: Int, green: Int, blue: Int) {
        let index = (y * width + x) * 3
        return (Int(rgb[index]), Int(rgb[index + 1]), Int(rgb[index + 2]))
    }

    /// The share of sampled pixels (every 8th in each direction) that differ by more than
    /// `tolerance` in any channel from `other`.
    public func differingShare(from other: ScreenSnapshot, tolerance: Int = 8) -> Double {
        guard other.width == width, other.height == height else { return 1 }
        var differing = 0, total = 0
        for y in stride(from: 0, to: height, by: 8) {
            for x in stride(from: 0, to: width, by: 8) {
                let a = pixel(x: x, y: y), b = other.pixel(x: x, y: y)
                if abs(a.red - b.red) > tolerance || abs(a.green - b.green) > tolerance || abs(a.blue - b.blue) > tolerance { differing += 1 }
                total += 1
            }
        }
        return Double(differing) / Double(max(1, total))
    }
}
