#if canImport(Glibc)
import Glibc
#endif
internal import CLinux

/// A Linux input device (`/dev/input/eventN`) and what matters to the box about it:
/// whether it is a camera privacy switch or has a microphone-mute key.
public struct InputDeviceInfo: Sendable, Equatable {
    public var path: String
    public var name: String
    /// Reports `SW_CAMERA_LENS_COVER`, the kernel's code for a camera privacy switch.
    public var hasCameraSwitch: Bool
    /// The switch's current state (true = lens covered, private), when it has one.
    public var cameraCovered: Bool?
    /// Has `KEY_MICMUTE`.
    public var hasMicMuteKey: Bool
}

public enum InputDevices {
    public static let defaultDirectory = "/dev/input"

    /// Every `event*` device in `directory` that can be opened, sorted by path. Opening an
    /// input device only reads its description; nothing is grabbed.
    public static func list(directory: String = defaultDirectory) -> (devices: [InputDeviceInfo], failures: [String: DeviceError]) {
        var devices: [InputDeviceInfo] = []
        var failures: [String: DeviceError] = [:]
        for name in SysfsDirectory.entries(of: directory) where name.hasPrefix("event") {
            let path = "\(directory)/\(name)"
            do {
                devices.append(try describe(path))
            } catch {
                failures[path] = error
            }
        }
        return (devices, failures)
    }

    public static func describe(_ path: String) throws(DeviceError) -> InputDeviceInfo {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open \(path)", errno: errno) }
        defer { close(fd) }
        var nameBuffer = [UInt8](repeating: 0, count: 256)
        guard ioctl(fd, clinux_eviocgname(UInt32(nameBuffer.count)), &nameBuffer) >= 0 else {
            throw .system("EVIOCGNAME \(path)", errno: errno)
        }
        let name = String(decoding: nameBuffer.prefix { $0 != 0 }, as: UTF8.self)
        let switches = bits(fd, request: clinux_eviocgbit(UInt32(EV_SW), 8), count: 8)
        let hasSwitch = switches.map { isSet($0, Int(SW_CAMERA_LENS_COVER)) } ?? false
        var covered: Bool?
        if hasSwitch, let state = bits(fd, request: clinux_eviocgsw(8), count: 8) {
            covered = isSet(state, Int(SW_CAMERA_LENS_COVER))
        }
        let keys = bits(fd, request: clinux_eviocgbit(UInt32(EV_KEY), 96), count: 96)
        let hasMicMute = keys.map { isSet($0, Int(KEY_MICMUTE)) } ?? false
        return InputDeviceInfo(path: path, name: name, hasCameraSwitch: hasSwitch, cameraCovered: covered, hasMicMuteKey: hasMicMute)
    }

    private static func bits(_ fd: Int32, request: UInt, count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        return ioctl(fd, request, &buffer) >= 0 ? buffer : nil
    }

    static func isSet(_ bits: [UInt8], _ bit: Int) -> Bool {
        bit / 8 < bits.count && bits[bit / 8] & (1 << (bit % 8)) != 0
    }
}
