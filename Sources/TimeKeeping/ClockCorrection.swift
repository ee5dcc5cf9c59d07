/// What one answer from the district's server says about the box's clock, and what to do.
/// The clock is only ever moved forward: the floor (the image's build time, the last saved
/// time) is a lower bound the box trusts, and a server's `Date` can be wrong too.
public enum ClockCorrection: Sendable, Equatable {
    /// The clock is behind the server: step it forward by this many nanoseconds.
    case stepForward(nanoseconds: Int64)
    /// Within the tolerance: nothing to do.
    case agrees(offsetNanoseconds: Int64)
    /// The clock is ahead of the server by this many nanoseconds. It is not moved back (NTP
    /// may do that); TLS and tokens still work while it is ahead by minutes, not by years.
    case ahead(nanoseconds: Int64)

    /// `Date` has a resolution of one second (a server sends the floor of its time): within
    /// two seconds is as good as the source can tell.
    public static let tolerance: Int64 = 2_000_000_000

    /// Decides from the server's `Date` (seconds), the request's round trip and the time since
    /// the answer came (both on the monotonic clock, nanoseconds), and the real-time clock now
    /// (nanoseconds since 1970), read just before it would be set. The server wrote its date
    /// somewhere in the round trip; the estimate takes its middle and half a second for the
    /// truncated fraction. Only the monotonic clock measures intervals: systemd-timesyncd may
    /// step the real-time clock (to its saved floor) while a request is under way.
    public static func decide(serverDate: Int64, roundTrip: Int64, sinceAnswer: Int64, realtimeNow: Int64) -> ClockCorrection {
        let serverNow = serverDate * 1_000_000_000 + 500_000_000 + max(0, roundTrip) / 2 + max(0, sinceAnswer)
        let offset = serverNow - realtimeNow
        if offset > tolerance { return .stepForward(nanoseconds: offset) }
        if offset < -tolerance { return .ahead(nanoseconds: -offset) }
        return .agrees(offsetNanoseconds: offset)
    }
}
