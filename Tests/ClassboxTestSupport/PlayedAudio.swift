import Foundation

/// What a box played, read back from an ALSA `file` PCM (raw S16_LE, mono, 48 kHz): the
/// conference tests point `audio.playback` at `file:FILE=…,FORMAT=raw` and measure the
/// result like a listener would, one short window at a time.
public struct PlayedAudio: Sendable {
    public static let sampleRate = 48_000
    public let samples: [Int16]

    public init(samples: [Int16]) { self.samples = samples }

    public init(rawFile path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        samples = data.withUnsafeBytes { raw in
            Array(raw.bindMemory(to: Int16.self)).map { Int16(littleEndian: $0) }
        }
    }

    /// The ALSA PCM name that writes into `path`.
    public static func filePCM(_ path: String) -> String { "file:FILE=\(path),FORMAT=raw" }

    public var seconds: Double { Double(samples.count) / Double(Self.sampleRate) }

    /// Samples at full scale: what a clipping mixer would leave.
    public var clippedSamples: Int { samples.reduce(0) { $0 + ($1 == .max || $1 == .min ? 1 : 0) } }

    /// The window `[start, start + length)` in seconds (clipped to what was played).
    public func window(_ start: Double, _ length: Double) -> ArraySlice<Int16> {
        let from = max(0, min(samples.count, Int(start * Double(Self.sampleRate))))
        let to = max(from, min(samples.count, Int((start + length) * Double(Self.sampleRate))))
        return samples[from..<to]
    }

    /// RMS of a window in dBFS (−200 for digital silence).
    public static func level(_ window: ArraySlice<Int16>) -> Double {
        guard !window.isEmpty else { return -200 }
        let power = window.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(window.count)
        return power > 0 ? 10 * log10(power / (32768.0 * 32768.0)) : -200
    }

    /// The level of `frequency` in a window (Goertzel), in dBFS of a sine's RMS.
    public static func toneLevel(_ window: ArraySlice<Int16>, frequency: Double) -> Double {
        guard !window.isEmpty else { return -200 }
        let coefficient = 2 * cos(2 * Double.pi * frequency / Double(sampleRate))
        var (previous, beforePrevious) = (0.0, 0.0)
        for sample in window {
            let current = Double(sample) / 32768 + coefficient * previous - beforePrevious
            beforePrevious = previous
            previous = current
        }
        let power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious
        let amplitude = 2 * power.squareRoot() / Double(window.count)
        return amplitude > 0 ? 20 * log10(amplitude / 2.0.squareRoot()) : -200
    }

    /// Start times (s) of the `step`-long windows in which `frequency` is within `margin` dB of
    /// the window's whole level and above `floor` dBFS: the tone is there and dominant enough
    /// to be heard (with several tones, each is some dB below the sum).
    ///
    /// The tone's level is the mean power of 25 ms parts of the window, as an ear hears it:
    /// one Goertzel over the whole 100 ms adds the parts' phasors, so a phase step inside the
    /// window (concealment or FEC re-entering a tone, a pitch-period drop) cancels it as if
    /// it were gone — 30 dB down for a 180° step in the middle, with the tone still sounding.
    public func windowsWithTone(_ frequency: Double, step: Double = 0.1, margin: Double = 12, floor: Double = -50) -> [Double] {
        stride(from: 0.0, to: seconds - step / 2, by: step).filter { start in
            let window = self.window(start, step)
            let tone = Self.toneLevel(window, frequency: frequency, parts: max(1, Int((step / 0.025).rounded())))
            return tone > floor && tone > Self.level(window) - margin
        }
    }

    /// The level of `frequency` as the mean power of `parts` equal parts of `window` (dBFS of
    /// a sine's RMS): insensitive to the tone's phase from part to part.
    public static func toneLevel(_ window: ArraySlice<Int16>, frequency: Double, parts: Int) -> Double {
        guard parts > 1, window.count >= parts else { return toneLevel(window, frequency: frequency) }
        let length = window.count / parts
        var power = 0.0
        for part in 0..<parts {
            let start = window.startIndex + part * length
            power += pow(10, toneLevel(window[start..<start + length], frequency: frequency) / 10)
        }
        return 10 * log10(max(power / Double(parts), 1e-20))
    }

    /// The first time the tone is heard, if ever.
    public func firstTone(_ frequency: Double, step: Double = 0.1) -> Double? { windowsWithTone(frequency, step: step).first }

    /// The longest run of digital silence (every sample 0), in seconds.
    public var longestSilence: Double {
        var (longest, current) = (0, 0)
        for sample in samples {
            current = sample == 0 ? current + 1 : 0
            longest = max(longest, current)
        }
        return Double(longest) / Double(Self.sampleRate)
    }

    /// Start times (s) of the `step` windows within `[from, to)` without the tone.
    public func windowsWithoutTone(_ frequency: Double, from: Double, to: Double, step: Double = 0.1) -> [Double] {
        let heard = Set(windowsWithTone(frequency, step: step).map { Int(($0 / step).rounded()) })
        return (Int((from / step).rounded())..<Int((min(to, seconds) / step).rounded())).filter { !heard.contains($0) }.map { Double($0) * step }
    }

    /// The longest stretch, within `[from, to)`, of `step` windows without the tone.
    public func longestGap(in frequency: Double, from: Double, to: Double, step: Double = 0.1) -> Double {
        var (longest, current, previous) = (0, 0, Int.min)
        for index in windowsWithoutTone(frequency, from: from, to: to, step: step).map({ Int(($0 / step).rounded()) }) {
            current = index == previous + 1 ? current + 1 : 1
            previous = index
            longest = max(longest, current)
        }
        return Double(longest) * step
    }
}
