#if canImport(Glibc)
import Glibc
#endif
import Media

/// The simulated board's camera: ``TestPattern`` frames at the configured rate, stamped on
/// the monotonic clock like a V4L2 driver would.
public final class TestPatternCamera {
    public let pattern: TestPattern
    public let fps: Int
    private let paced: Bool
    private var start: UInt64?
    private var frameNumber = 0

    public init(width: Int, height: Int, fps: Int, paced: Bool = true) {
        pattern = TestPattern(width: width, height: height)
        self.fps = fps
        self.paced = paced
    }

    /// Waits until the next frame is due and renders it (valid until the next call).
    public func nextFrame() -> (layout: VideoFrameLayout, timestampNanoseconds: UInt64, number: Int) {
        let number = frameNumber
        frameNumber += 1
        let origin = start ?? Self.now()
        start = origin
        let due = origin + UInt64(number) * 1_000_000_000 / UInt64(fps)
        if paced {
            var deadline = timespec(tv_sec: Int(due / 1_000_000_000), tv_nsec: Int(due % 1_000_000_000))
            while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
        }
        return (pattern.render(frame: number), due, number)
    }

    static func now() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
