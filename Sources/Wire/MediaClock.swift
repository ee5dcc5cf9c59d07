/// Conversions between a monotonic time in nanoseconds and the clocks RTP uses.
public enum MediaClock {
    /// An RTP timestamp at `rate` Hz for a monotonic time, offset by a random start
    /// (RFC 3550 §5.1: timestamps begin at a random value).
    public static func rtpTimestamp(nanoseconds: UInt64, rate: UInt32, offset: UInt32) -> UInt32 {
        // Whole seconds and the rest apart, so no time a clock can report overflows (a camera
        // stamping wall-clock time gives ~1.7e18 ns; times the rate no UInt64 holds that).
        let seconds = nanoseconds / 1_000_000_000, rest = nanoseconds % 1_000_000_000
        let ticks = seconds &* UInt64(rate) &+ rest / 1_000 * UInt64(rate) / 1_000_000
        return UInt32(truncatingIfNeeded: ticks) &+ offset
    }

    /// The 24-bit abs-send-time value: seconds in 6.18 fixed point, modulo 64 s
    /// (http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time).
    public static func absSendTime(nanoseconds: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: (nanoseconds << 18) / 1_000_000_000) & 0x00FF_FFFF
    }

    /// NTP time (RFC 5905): seconds since 1900 in the high 32 bits, fraction in the low 32.
    public static func ntp(unixNanoseconds: UInt64) -> UInt64 {
        let seconds = unixNanoseconds / 1_000_000_000 + 2_208_988_800
        let fraction = (unixNanoseconds % 1_000_000_000) << 32 / 1_000_000_000
        return seconds << 32 | fraction
    }
}
