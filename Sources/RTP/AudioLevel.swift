/// The client-to-mixer audio level of RFC 6464: the level of the packet's audio in
/// −dBov (0 = loudest, 127 = silence) and a voice-activity flag.
///
/// The Jitsi bridge picks the dominant speaker from it and drops packets marked 127 after
/// three in a row, so it must describe the real signal.
public struct AudioLevel: Sendable, Equatable {
    public var level: UInt8
    public var voiceActivity: Bool

    public init(level: UInt8, voiceActivity: Bool) {
        self.level = min(level, 127)
        self.voiceActivity = voiceActivity
    }

    /// Quieter than this (−dBov) counts as no voice activity.
    public static let voiceThreshold: UInt8 = 50

    /// RFC 6464 §3: the RMS of the samples relative to a full-scale square wave, in dB,
    /// rounded and clamped to 0...127.
    public init(samples: UnsafeBufferPointer<Int16>) {
        guard !samples.isEmpty else {
            self.init(level: 127, voiceActivity: false)
            return
        }
        var sum: Double = 0
        for sample in samples { sum += Double(sample) * Double(sample) }
        let rms = (sum / Double(samples.count)).squareRoot() / 32768
        let decibels = rms > 0 ? -20 * log10(rms) : 127
        let level = UInt8(min(127, max(0, decibels.rounded())))
        self.init(level: level, voiceActivity: level < Self.voiceThreshold)
    }
}

#if canImport(Glibc)
import Glibc
#endif
