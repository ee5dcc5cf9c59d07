#if canImport(Glibc)
import Glibc
#endif

/// What an LED shows; blinking uses the kernel's `timer` trigger, so it keeps its rhythm
/// without the firmware waking up.
public enum LEDPattern: Equatable, Sendable, CustomStringConvertible {
    case off
    case on
    case blink(onMilliseconds: Int, offMilliseconds: Int)

    public var description: String {
        switch self {
        case .off: return "off"
        case .on: return "on"
        case .blink(let on, let off): return "blinking \(on)/\(off) ms"
        }
    }
}

/// One LED of the Linux LED class (`/sys/class/leds/NAME`), driven by the box.
public struct LED: Sendable {
    public let name: String
    public let directory: String

    public init(name: String, directory: String = LEDClass.defaultDirectory) {
        self.name = name
        self.directory = directory
    }

    var base: String { "\(directory)/\(name)" }

    /// Shows `pattern`; the LED's own maximum brightness counts as on.
    public func show(_ pattern: LEDPattern) throws(DeviceError) {
        switch pattern {
        case .off:
            try write("trigger", "none")
            try write("brightness", "0")
        case .on:
            try write("trigger", "none")
            try write("brightness", SysfsDirectory.readLine("\(base)/max_brightness") ?? "1")
        case .blink(let on, let off):
            try write("trigger", "timer")
            try write("delay_on", "\(on)")
            try write("delay_off", "\(off)")
        }
    }

    func write(_ attribute: String, _ value: String) throws(DeviceError) {
        let path = "\(base)/\(attribute)"
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_TRUNC)
        guard fd >= 0 else { throw .system("open \(path)", errno: errno) }
        defer { close(fd) }
        let bytes = Array((value + "\n").utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw .system("write \(path)", errno: errno) }
    }
}
