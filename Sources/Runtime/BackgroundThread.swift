#if canImport(Glibc)
import Glibc
#endif

/// A dedicated OS thread for blocking media work (camera poll and encode, ALSA reads):
/// Swift's cooperative pool has only as many threads as cores and must not be blocked.
/// Everything the thread works with is created inside `body`, so nothing non-Sendable
/// crosses threads; the outside talks to it through atomics.
public final class BackgroundThread: @unchecked Sendable {
    private var thread = pthread_t()
    private var joined = false

    /// Starts `body` on a new thread named `name` (shown by `top -H` and in crash reports).
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws {
        final class Box { let body: @Sendable () -> Void; let name: String; init(_ b: @escaping @Sendable () -> Void, _ n: String) { body = b; name = n } }
        let context = Unmanaged.passRetained(Box(body, name)).toOpaque()
        let result = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            CurrentThread.setName(box.name)
            box.body()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw ThreadError(code: result)
        }
    }

    /// Waits for the thread to end.
    public func join() {
        guard !joined else { return }
        joined = true
        pthread_join(thread, nil)
    }

    public struct ThreadError: Error, CustomStringConvertible {
        var code: Int32
        public var description: String { "pthread_create: \(String(cString: strerror(code)))" }
    }
}

/// The monotonic clock in nanoseconds, the clock V4L2 stamps frames with.
public enum Monotonic {
    public static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
