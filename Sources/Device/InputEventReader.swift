#if canImport(Glibc)
import Glibc
#endif
internal import CLinux

/// Reads a privacy switch and mute button from a Linux input device: the kernel's
/// `SW_CAMERA_LENS_COVER` switch (what a board wires with gpio-keys; covered = private) and
/// `KEY_MICMUTE`. Non-blocking; the owner polls ``fd``. A device that disappears
/// (ENODEV) throws, and the owner opens it again later.
public final class InputEventReader {
    public enum Event: Equatable, Sendable {
        case cameraCover(covered: Bool)
        case micMutePressed
    }

    public let path: String
    public let fd: Int32
    /// `struct input_event` on 64-bit Linux: a timeval (16 bytes), type, code, value.
    static let eventSize = 24

    public init(path: String) throws(DeviceError) {
        self.path = path
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open \(path)", errno: errno) }
    }

    deinit { close(fd) }

    /// The switch's state now (EVIOCGSW); nil when the device has no camera switch.
    public func cameraCovered() -> Bool? {
        var types = [UInt8](repeating: 0, count: 8)
        guard ioctl(fd, clinux_eviocgbit(UInt32(EV_SW), 8), &types) >= 0, InputDevices.isSet(types, Int(SW_CAMERA_LENS_COVER)) else { return nil }
        var state = [UInt8](repeating: 0, count: 8)
        guard ioctl(fd, clinux_eviocgsw(8), &state) >= 0 else { return nil }
        return InputDevices.isSet(state, Int(SW_CAMERA_LENS_COVER))
    }

    /// The events waiting now.
    public func read() throws(DeviceError) -> [Event] {
        var events: [Event] = []
        var buffer = [UInt8](repeating: 0, count: Self.eventSize * 32)
        while true {
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count < 0 {
                if errno == EAGAIN { return events }
                if errno == EINTR { continue }
                throw .system("read \(path)", errno: errno)
            }
            if count == 0 { throw .system("read \(path)", errno: ENODEV) }
            for offset in stride(from: 0, to: count - Self.eventSize + 1, by: Self.eventSize) {
                let type = UInt16(buffer[offset + 16]) | UInt16(buffer[offset + 17]) << 8
                let code = UInt16(buffer[offset + 18]) | UInt16(buffer[offset + 19]) << 8
                let value = Int32(bitPattern: UInt32(buffer[offset + 20]) | UInt32(buffer[offset + 21]) << 8
                                  | UInt32(buffer[offset + 22]) << 16 | UInt32(buffer[offset + 23]) << 24)
                if type == UInt16(EV_SW) && code == UInt16(SW_CAMERA_LENS_COVER) {
                    events.append(.cameraCover(covered: value != 0))
                } else if type == UInt16(EV_KEY) && code == UInt16(KEY_MICMUTE) && value == 1 {
                    events.append(.micMutePressed)
                }
            }
        }
    }
}
