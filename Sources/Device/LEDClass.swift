#if canImport(Glibc)
import Glibc
#endif

/// An LED of the Linux LED class (`/sys/class/leds/NAME`), as `classbox probe` lists it.
public struct LEDInfo: Sendable, Equatable {
    public var name: String
    public var brightness: Int?
    public var maxBrightness: Int?
    /// The active trigger (the bracketed entry of `trigger`), e.g. "none" or "camera".
    public var trigger: String?
}

public enum LEDClass {
    public static let defaultDirectory = "/sys/class/leds"

    /// Every LED in `directory`, sorted by name; empty when there is none.
    public static func list(directory: String = defaultDirectory) -> [LEDInfo] {
        SysfsDirectory.entries(of: directory).map { name in
            let base = "\(directory)/\(name)"
            return LEDInfo(name: name,
                           brightness: SysfsDirectory.readLine("\(base)/brightness").flatMap { Int($0) },
                           maxBrightness: SysfsDirectory.readLine("\(base)/max_brightness").flatMap { Int($0) },
                           trigger: SysfsDirectory.readLine("\(base)/trigger").flatMap(activeTrigger))
        }
    }

    /// `none [camera] timer` → `camera`.
    static func activeTrigger(_ line: String) -> String? {
        line.split(separator: " ").first { $0.hasPrefix("[") && $0.hasSuffix("]") }.map { String($0.dropFirst().dropLast()) }
    }
}

/// Small helpers for sysfs and /dev directories.
enum SysfsDirectory {
    static func entries(of directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The first line of a small text file, without its newline.
    static func readLine(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }
}
