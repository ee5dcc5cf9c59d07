#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The master volume curve: the config's `audio.volume` (0–100) to a linear gain.
///
/// Loudness is heard logarithmically, so the steps are equal in decibels: 100 is 0 dB
/// (unity, bit-exact), every step below lowers the gain by 0.4 dB (so 80, the default, is
/// −8 dB, 50 is −20 dB, 1 is −39.6 dB), and 0 is mute (gain exactly 0). A 40 dB range
/// covers "quiet room" to "full" on a classroom speaker without a dead zone at the bottom.
public enum MasterVolume {
    /// Decibels per volume step.
    public static let stepDB: Double = 0.4

    public static func decibels(forVolume volume: Int) -> Double {
        guard volume > 0 else { return -.infinity }
        return -stepDB * Double(100 - min(volume, 100))
    }

    public static func gain(forVolume volume: Int) -> Float {
        if volume <= 0 { return 0 }
        if volume >= 100 { return 1 }
        return Float(pow(10, decibels(forVolume: volume) / 20))
    }
}
