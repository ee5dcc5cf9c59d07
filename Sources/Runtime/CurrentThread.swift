#if canImport(Glibc)
import Glibc
#endif
internal import CLinux

/// The calling OS thread.
public enum CurrentThread {
    /// Names the thread (first 15 bytes), as `top -H` and crash reports show it.
    public static func setName(_ name: String) {
        _ = clinux_set_thread_name(String(name.prefix(15)))
    }

    /// Moves the thread to SCHED_FIFO at `priority`, lowered to what RLIMIT_RTPRIO allows
    /// (the unit's `LimitRTPRIO`; root without a limit may use `priority` as asked).
    /// Returns the priority obtained, or a reason when the thread stays a normal one — the
    /// audio still runs, only with less protection against a busy CPU.
    public static func requestRealTime(priority: Int32) -> Result<Int32, RealTimeRefusal> {
        var limit = rlimit()
        var allowed = priority
        if getuid() != 0, getrlimit(__rlimit_resource_t(__RLIMIT_RTPRIO.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {
            allowed = min(priority, Int32(clamping: limit.rlim_cur))
        }
        guard allowed > 0 else { return .failure(RealTimeRefusal(reason: "RLIMIT_RTPRIO is 0 (no LimitRTPRIO)")) }
        var parameters = sched_param(sched_priority: allowed)
        let result = pthread_setschedparam(pthread_self(), SCHED_FIFO, &parameters)
        guard result == 0 else { return .failure(RealTimeRefusal(reason: "SCHED_FIFO \(allowed): \(String(cString: strerror(result)))")) }
        return .success(allowed)
    }

    public struct RealTimeRefusal: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }
}
