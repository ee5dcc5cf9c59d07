#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A look-ahead peak limiter for the mixed signal, so the speaker never clips.
///
/// The signal is delayed by `lookAhead` samples (2 ms at 48 kHz). For every input sample the
/// gain it needs is `r = min(1, threshold / |x|)`. The limiter takes the minimum of `r` over
/// the look-ahead window (a sliding minimum) and then averages that over the same window: the
/// averaged gain starts falling `lookAhead` samples before a peak and reaches what the peak
/// needs exactly when the peak leaves the delay line. So the attack is a ramp over the
/// look-ahead (no instant gain step, no overshoot), and no sample leaves louder than the
/// threshold. Release is exponential towards unity (`releaseSeconds` is the time constant),
/// applied before the averaging so the recovery is smooth too. A signal that never exceeds
/// the threshold passes unchanged, bit for bit, only delayed.
///
/// Everything is allocated at init; `process` does not allocate.
/// Design after the research note `receive-audio.md` §4 (numbers: L = 2 ms, −1 dBFS, 100 ms).
public final class PeakLimiter {
    /// Samples of delay, the look-ahead.
    public let lookAhead: Int
    /// Linear threshold (−1 dBFS ≈ 0.891).
    public let threshold: Float
    /// The gain applied to the last sample that left the limiter (1 = not limiting).
    public private(set) var gain: Float = 1

    private let window: Int
    private let release: Double
    /// The delay line: `lookAhead` samples, a ring.
    private let delay: UnsafeMutablePointer<Float>
    private var delayPosition = 0
    /// Sliding minimum of the needed gain: a monotonic deque in a ring of `window` entries.
    private let minimumValues: UnsafeMutablePointer<Float>
    private let minimumIndices: UnsafeMutablePointer<Int>
    private var minimumHead = 0
    private var minimumCount = 0
    /// The released envelope over the last `window` samples and its running sum.
    private let envelope: UnsafeMutablePointer<Float>
    private var envelopePosition = 0
    private var envelopeSum: Double
    /// Double, because the release's per-sample steps near unity (≈ 2·10⁻⁴ of a deficit
    /// of 10⁻⁴) are below Float's resolution there and would stall the gain short of 1.
    private var released: Double = 1
    private var sampleIndex = 0

    public init(sampleRate: Int = 48000, lookAheadSamples: Int = 96, thresholdDBFS: Float = -1, releaseSeconds: Double = 0.1) {
        precondition(lookAheadSamples > 0 && sampleRate > 0 && releaseSeconds > 0 && thresholdDBFS <= 0)
        lookAhead = lookAheadSamples
        window = lookAheadSamples + 1
        threshold = Float(pow(10, Double(thresholdDBFS) / 20))
        release = 1 - exp(-1 / (releaseSeconds * Double(sampleRate)))
        delay = .allocate(capacity: lookAheadSamples)
        delay.initialize(repeating: 0, count: lookAheadSamples)
        minimumValues = .allocate(capacity: window)
        minimumValues.initialize(repeating: 1, count: window)
        minimumIndices = .allocate(capacity: window)
        minimumIndices.initialize(repeating: 0, count: window)
        envelope = .allocate(capacity: window)
        envelope.initialize(repeating: 1, count: window)
        envelopeSum = Double(window)
    }

    deinit {
        delay.deallocate()
        minimumValues.deallocate()
        minimumIndices.deallocate()
        envelope.deallocate()
    }

    /// Gain reduction now, in dB (0 when not limiting, positive otherwise).
    public var gainReductionDB: Float { gain >= 1 ? 0 : -20 * log10(max(gain, 1e-6)) }

    /// Limits `samples` in place: each sample is replaced by the limited sample `lookAhead`
    /// positions earlier in the stream. Returns the smallest gain applied in this call.
    @discardableResult
    public func process(_ samples: UnsafeMutableBufferPointer<Float>) -> Float {
        var smallest: Float = 1
        for index in samples.indices {
            let input = samples[index]
            let needed = neededGain(input)
            let hold = slidingMinimum(needed)
            let held = Double(hold)
            if held < released {
                released = held
            } else if released < held {
                released += (1 - released) * release
                // Snap the last part of the exponential, which would never arrive.
                if released > 1 - 1e-6 { released = 1 }
                if released > held { released = held }
            }
            envelopeSum += released - Double(envelope[envelopePosition])
            envelope[envelopePosition] = Float(released)
            envelopePosition = envelopePosition + 1 == window ? 0 : envelopePosition + 1
            // Resynchronise the running sum once per ring turn so rounding cannot build up.
            if envelopePosition == 0 { envelopeSum = exactEnvelopeSum() }
            let applied = min(1, Float(envelopeSum / Double(window)))
            let delayed = delay[delayPosition]
            delay[delayPosition] = input
            delayPosition = delayPosition + 1 == lookAhead ? 0 : delayPosition + 1
            samples[index] = applied == 1 ? delayed : delayed * applied
            gain = applied
            if applied < smallest { smallest = applied }
        }
        return smallest
    }

    /// Forgets the signal and the gain state (silence in the delay line, unity gain).
    public func reset() {
        delay.update(repeating: 0, count: lookAhead)
        envelope.update(repeating: 1, count: window)
        envelopeSum = Double(window)
        minimumCount = 0
        released = 1
        gain = 1
    }

    @inline(__always)
    private func neededGain(_ sample: Float) -> Float {
        let magnitude = abs(sample)
        guard magnitude > threshold else { return 1 }  // also false for NaN
        return magnitude.isFinite ? threshold / magnitude : 0
    }

    /// Pushes this sample's needed gain and returns the minimum over the last `window` samples.
    @inline(__always)
    private func slidingMinimum(_ value: Float) -> Float {
        let now = sampleIndex
        sampleIndex &+= 1
        if minimumCount > 0, minimumIndices[minimumHead] <= now - window {
            minimumHead = minimumHead + 1 == window ? 0 : minimumHead + 1
            minimumCount -= 1
        }
        while minimumCount > 0 {
            let back = (minimumHead + minimumCount - 1) % window
            guard minimumValues[back] >= value else { break }
            minimumCount -= 1
        }
        let slot = (minimumHead + minimumCount) % window
        minimumValues[slot] = value
        minimumIndices[slot] = now
        minimumCount += 1
        return minimumValues[minimumHead]
    }

    private func exactEnvelopeSum() -> Double {
        var sum = 0.0
        for index in 0..<window { sum += Double(envelope[index]) }
        return sum
    }
}
