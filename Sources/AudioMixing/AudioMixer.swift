#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Levels of one mixed block, for the live status and tests.
public struct MixLevels: Sendable, Equatable {
    /// What a block of digital silence reports, instead of −∞.
    public static let floorDBFS: Float = -120

    /// Peak of the output block in dBFS (full scale = 32768).
    public var peakDBFS: Float
    /// RMS of the output block in dBFS (a full-scale sine reads −3 dBFS).
    public var rmsDBFS: Float
    /// The largest limiter gain reduction during the block, in dB (0 = not limiting).
    public var gainReductionDB: Float

    public init(peakDBFS: Float, rmsDBFS: Float, gainReductionDB: Float) {
        self.peakDBFS = peakDBFS
        self.rmsDBFS = rmsDBFS
        self.gainReductionDB = gainReductionDB
    }

    public static let silence = MixLevels(peakDBFS: floorDBFS, rmsDBFS: floorDBFS, gainReductionDB: 0)
}

/// Sums up to `maxSources` 10 ms mono blocks (the decoded remote participants) into the
/// block the speaker plays: per-source gain, master volume, look-ahead limiter, a hard clamp
/// at full scale and conversion to signed 16-bit.
///
/// One block at a time, on the audio thread:
/// ```
/// mixer.beginBlock()
/// for each active source: mixer.add(decoded, gain: sourceGain)
/// let levels = mixer.finish(into: speakerBlock)
/// ```
/// The box's own microphone is never an input (the caller's rule). All storage is allocated
/// at init; `beginBlock`, `add` and `finish` neither allocate nor lock. The output lags the
/// input by `latencySamples` (the limiter's look-ahead, 2 ms), which the echo canceller sees
/// as part of the playback delay since it is fed the final block.
///
/// Sample scale: Float ±1.0 ⇔ Int16 ±32768 (libopus's convention), so an Int16 signal
/// converted with `/ 32768` comes back bit for bit when nothing limits it.
public final class AudioMixer {
    public let maxSources: Int
    public let blockSamples: Int
    /// The master volume, 0–100 (the config's `audio.volume`).
    public private(set) var volume: Int
    /// Sources added to the block being built.
    public private(set) var sourcesInBlock = 0
    /// Sources refused because the block already had `maxSources` (a caller's bug or overload).
    public private(set) var droppedSources = 0
    /// Levels of the last finished block.
    public private(set) var lastLevels = MixLevels.silence
    public let limiter: PeakLimiter

    private let sum: UnsafeMutableBufferPointer<Float>
    /// The master gain applied to the previous block; a volume change ramps from it over one
    /// block so it does not click.
    private var appliedMasterGain: Float
    private var masterGain: Float

    public init(maxSources: Int = 16, blockSamples: Int = 480, sampleRate: Int = 48000, volume: Int = 100,
                limiter: PeakLimiter? = nil) {
        precondition(maxSources > 0 && blockSamples > 0)
        self.maxSources = maxSources
        self.blockSamples = blockSamples
        self.volume = min(max(volume, 0), 100)
        self.limiter = limiter ?? PeakLimiter(sampleRate: sampleRate, lookAheadSamples: sampleRate / 500)
        masterGain = MasterVolume.gain(forVolume: volume)
        appliedMasterGain = masterGain
        sum = .allocate(capacity: blockSamples)
        sum.initialize(repeating: 0)
    }

    deinit { sum.deallocate() }

    /// The delay from input to output, in samples.
    public var latencySamples: Int { limiter.lookAhead }

    /// The limiter's gain reduction now, in dB (0 = not limiting).
    public var gainReductionDB: Float { limiter.gainReductionDB }

    /// Sets the master volume (0–100, clamped); takes effect over the next block.
    public func setVolume(_ volume: Int) {
        self.volume = min(max(volume, 0), 100)
        masterGain = MasterVolume.gain(forVolume: self.volume)
    }

    /// Starts a new block: no sources yet.
    public func beginBlock() {
        sum.update(repeating: 0)
        sourcesInBlock = 0
    }

    /// Adds one source's block (`blockSamples` samples, ±1.0 full scale) times `gain`.
    /// Returns false, and ignores the block, when the block already has `maxSources`.
    @discardableResult
    public func add(_ block: UnsafeBufferPointer<Float>, gain: Float = 1) -> Bool {
        precondition(block.count == blockSamples, "a mixer block is \(blockSamples) samples")
        guard sourcesInBlock < maxSources else {
            droppedSources += 1
            return false
        }
        sourcesInBlock += 1
        guard gain != 0 else { return true }
        let sum = self.sum
        for index in 0..<blockSamples { sum[index] += block[index] * gain }
        return true
    }

    /// Applies the master volume, the limiter and the clamp, and writes the block as Int16
    /// into `output` (`blockSamples` samples). Returns the levels of what was written.
    @discardableResult
    public func finish(into output: UnsafeMutableBufferPointer<Int16>) -> MixLevels {
        precondition(output.count == blockSamples, "a mixer block is \(blockSamples) samples")
        applyMasterGain()
        let smallestGain = limiter.process(sum)
        var peak: Float = 0
        var energy: Double = 0
        for index in 0..<blockSamples {
            let sample = Self.int16(sum[index])
            output[index] = sample
            let magnitude = abs(Float(sample))
            if magnitude > peak { peak = magnitude }
            energy += Double(magnitude) * Double(magnitude)
        }
        let rms = Float((energy / Double(blockSamples)).squareRoot())
        lastLevels = MixLevels(peakDBFS: Self.dBFS(peak), rmsDBFS: Self.dBFS(rms),
                               gainReductionDB: smallestGain >= 1 ? 0 : -20 * log10(max(smallestGain, 1e-6)))
        return lastLevels
    }

    private func applyMasterGain() {
        let target = masterGain, start = appliedMasterGain
        appliedMasterGain = target
        if start == target {
            guard target != 1 else { return }
            for index in 0..<blockSamples { sum[index] *= target }
            return
        }
        let step = (target - start) / Float(blockSamples)
        for index in 0..<blockSamples { sum[index] *= start + step * Float(index + 1) }
    }

    /// Hard clamp to full scale and round to Int16; NaN (a broken input) becomes silence.
    @inline(__always)
    static func int16(_ sample: Float) -> Int16 {
        let scaled = sample * 32768
        if scaled >= 32767 { return 32767 }
        if scaled <= -32768 { return -32768 }
        guard scaled == scaled else { return 0 }
        return Int16(scaled.rounded())
    }

    static func dBFS(_ magnitude: Float) -> Float {
        guard magnitude > 0 else { return MixLevels.floorDBFS }
        return max(MixLevels.floorDBFS, 20 * log10(magnitude / 32768))
    }
}
