import Composition
import Glibc
import Synchronization
internal import CPNG

/// Where the classroom screen's frames go: a real screen through KMS, or the simulated
/// board's snapshot file. Owned by one thread.
public protocol ScreenOutput: AnyObject {
    var width: Int { get }
    var height: Int { get }
    /// For the log: "/dev/dri/card0 HDMI-A-1 1920x1080@60".
    var summary: String { get }
    /// Poll this for POLLIN and then call `handleEvents()` (nil: nothing to wait for).
    var eventDescriptor: Int32? { get }
    /// While true, `canvas` must not be drawn into.
    var isFlipPending: Bool { get }
    /// The buffer for the next frame, and which of the output's buffers it is (what was
    /// drawn into it before is still there: a screen redraws only what changed since).
    var canvas: ScreenCanvas { get }
    var bufferIndex: Int { get }
    /// Shows `canvas`; false when nothing was done (a flip still pending).
    @discardableResult func present() throws(DisplayError) -> Bool
    func handleEvents()
}

extension KMSDisplay: ScreenOutput {
    public var width: Int { mode.width }
    public var height: Int { mode.height }
    public var summary: String { "\(path) (\(driverName)) \(connectorName) \(mode)" }
    public var eventDescriptor: Int32? { descriptor }
    public var bufferIndex: Int { backBufferIndex }
}

/// The simulated board's screen (`display.device = "snapshot"`): the composed frame as a
/// PNG in the runtime directory (RAM), replaced atomically at each `present`, so a newcomer
/// running `make run` can open it and watch it change. Only for the test-pattern camera
/// (provisioning refuses it otherwise): it is a file of what the screen shows.
public final class SnapshotDisplay: ScreenOutput {
    public let width: Int
    public let height: Int
    public let path: String
    public private(set) var written = 0
    private let memory: UnsafeMutablePointer<UInt8>
    public let canvas: ScreenCanvas

    public init(path: String, width: Int, height: Int) {
        self.path = path
        self.width = width
        self.height = height
        memory = .allocate(capacity: width * height * 4)
        // Opaque black: the PNG is written as BGRA, so the fourth byte must be 0xFF.
        for index in 0..<(width * height) { (memory + index * 4).withMemoryRebound(to: UInt32.self, capacity: 1) { $0.pointee = 0xFF00_0000 } }
        canvas = ScreenCanvas(base: memory, width: width, height: height, stride: width * 4)
    }

    deinit { memory.deallocate() }

    public var summary: String { "snapshot \(width)x\(height) in \(path)" }
    public var eventDescriptor: Int32? { nil }
    public var isFlipPending: Bool { false }
    public var bufferIndex: Int { 0 }
    public func handleEvents() {}

    /// Writes the PNG next to its place and renames it over the last one, so a reader never
    /// sees half a picture.
    @discardableResult
    public func present() throws(DisplayError) -> Bool {
        let partial = path + ".partial"
        guard classbox_png_write_bgra(partial, memory, UInt32(width), UInt32(height), Int32(width * 4)) == 0 else {
            throw .bufferFailed("writing \(partial)", errno: errno)
        }
        guard rename(partial, path) == 0 else { throw .bufferFailed("renaming \(partial)", errno: errno) }
        written += 1
        return true
    }

    /// Removes the snapshot (the box stops: nothing shown stays behind).
    public func remove() {
        unlink(path)
        unlink(path + ".partial")
    }
}

/// A screen that exists only in memory (`make bench`'s call: the box's whole lesson, its
/// compositor drawing as into KMS's two scan-out buffers, with nothing plugged in). Each
/// `present` hands the other buffer out next, as a page flip does, and counts the frame;
/// nothing is kept or written anywhere.
public final class OffscreenDisplay: ScreenOutput {
    public let width: Int
    public let height: Int
    public private(set) var bufferIndex = 0
    /// Frames presented so far; read by other threads.
    public let presented = Atomic<Int>(0)
    private let memory: [UnsafeMutablePointer<UInt8>]

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
        memory = (0..<2).map { _ in
            let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: width * height * 4)
            buffer.initialize(repeating: 0, count: width * height * 4)
            return buffer
        }
    }

    deinit { memory.forEach { $0.deallocate() } }

    public var summary: String { "off-screen \(width)x\(height)" }
    public var eventDescriptor: Int32? { nil }
    public var isFlipPending: Bool { false }
    public var canvas: ScreenCanvas { ScreenCanvas(base: memory[bufferIndex], width: width, height: height, stride: width * 4) }
    public func handleEvents() {}

    @discardableResult
    public func present() throws(DisplayError) -> Bool {
        bufferIndex ^= 1
        presented.wrappingAdd(1, ordering: .relaxed)
        return true
    }
}
