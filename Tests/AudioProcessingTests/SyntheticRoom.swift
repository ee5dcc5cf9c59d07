import Foundation

/// A classroom at 48 kHz as research §7 describes it: the far end played by the loudspeaker
/// comes back after a bulk delay through exponentially decaying noise (RT60 0.25 s), at
/// −26 dBFS; white noise 40 dB below the echo; near-end speech (another voice, SER 0 dB) in a
/// double-talk segment; the echo path's delay grows by 40 ms at `changeAt`. The box reports
/// the delay it measures (playback + capture queues): `reportedDelayMs` says whether that
/// change shows in it (its own buffering grew) or not (the acoustic path changed: the hard,
/// honest case the re-tracking criterion is about).
struct SyntheticRoom: Sendable {
    static let rate = 48000
    static let block = 480
    static let duration = 20 * rate
    static let doubleTalk = 8 * rate..<12 * rate
    static let changeAt = 14 * rate
    static let delayChange = 40 * rate / 1000
    static let rt60 = 0.25
    static let echoDBFS = -26.0
    static let noiseBelowEchoDB = 40.0

    /// The loudspeaker signal (the reference), int16.
    let far: [Int16]
    /// echo + noise + near end, int16: what the microphone reads.
    let microphone: [Int16]
    /// The near end alone as it arrives at the microphone.
    let nearClean: [Double]
    /// echo + noise, without the near end (the `d` of ERLE).
    let echoAndNoise: [Double]
    let echoOnly: [Double]
    let bulkDelayMs: Int

    /// The delay the box reports with the microphone block that starts at `sample`.
    func reportedDelayMs(atSample sample: Int, changeReported: Bool) -> Int {
        bulkDelayMs + (changeReported && sample >= SyntheticRoom.changeAt ? SyntheticRoom.delayChange * 1000 / SyntheticRoom.rate : 0)
    }

    /// Speech and the room's tail are made once and shared by every scenario.
    struct Material: Sendable {
        let far: [Double]
        let near: [Double]
        /// far ∗ tail, without the bulk delay, scaled to the echo level.
        let echoWithoutDelay: [Double]
        let noise: [Double]

        static func make() throws -> Material {
            var far = try Speech.synthesize(Speech.farText, voice: "en-us", wordsPerMinute: 160)
            while far.count < SyntheticRoom.duration { far += far }
            far = Array(far[0..<SyntheticRoom.duration])
            let peak = far.map(abs).max() ?? 1
            far = far.map { $0 * pow(10, -6.0 / 20) / peak }
            let farQuantized = far.map { (($0 * 32768).rounded()) / 32768 }

            var random = SplitMix(seed: 0xC1A55B0C)
            let tailLength = Int(1.5 * SyntheticRoom.rt60 * Double(SyntheticRoom.rate))
            let tail = (0..<tailLength).map { n in
                random.gaussian() * exp(-6.91 * Double(n) / (SyntheticRoom.rt60 * Double(SyntheticRoom.rate)))
            }
            var echo = FFT.convolve(farQuantized, tail, count: SyntheticRoom.duration)
            let echoScale = pow(10, SyntheticRoom.echoDBFS / 20) / Self.activeRMS(echo)
            echo = echo.map { $0 * echoScale }

            var near = try Speech.synthesize(Speech.nearText, voice: "en-gb+f3", wordsPerMinute: 150)
            near = Array(near.prefix(SyntheticRoom.doubleTalk.count))
            let nearScale = pow(10, SyntheticRoom.echoDBFS / 20) / Self.activeRMS(near)
            near = near.map { $0 * nearScale }

            let noiseLevel = pow(10, (SyntheticRoom.echoDBFS - SyntheticRoom.noiseBelowEchoDB) / 20)
            let noise = (0..<SyntheticRoom.duration).map { _ in random.gaussian() * noiseLevel }
            return Material(far: farQuantized, near: near, echoWithoutDelay: echo, noise: noise)
        }

        /// RMS over the 10 ms frames within 30 dB of the loudest one.
        static func activeRMS(_ x: [Double]) -> Double {
            let powers = stride(from: 0, to: x.count - SyntheticRoom.block + 1, by: SyntheticRoom.block).map { start in
                x[start..<start + SyntheticRoom.block].reduce(0) { $0 + $1 * $1 } / Double(SyntheticRoom.block)
            }
            let threshold = (powers.max() ?? 0) * 1e-3
            let active = powers.filter { $0 >= threshold }
            return sqrt(active.reduce(0, +) / Double(max(1, active.count)))
        }
    }

    init(_ material: Material, bulkDelayMs: Int) {
        let delay = bulkDelayMs * SyntheticRoom.rate / 1000
        let count = SyntheticRoom.duration
        var echo = [Double](repeating: 0, count: count)
        for n in 0..<count {
            let source = n - delay - (n >= SyntheticRoom.changeAt ? SyntheticRoom.delayChange : 0)
            if source >= 0 { echo[n] = material.echoWithoutDelay[source] }
        }
        var nearClean = [Double](repeating: 0, count: count)
        for (index, sample) in material.near.enumerated() { nearClean[SyntheticRoom.doubleTalk.lowerBound + index] = sample }
        echoOnly = echo
        echoAndNoise = zip(echo, material.noise).map(+)
        microphone = zip(echoAndNoise, nearClean).map { Int16((($0 + $1) * 32768).clamped) }
        far = material.far.map { Int16(clamping: Int(($0 * 32768).rounded())) }
        self.nearClean = nearClean
        self.bulkDelayMs = bulkDelayMs
    }
}

private extension Double {
    var clamped: Double { Swift.max(-32768, Swift.min(32767, self.rounded())) }
}

/// A small deterministic generator (SplitMix64) with Box–Muller Gaussians.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }

    mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }

    mutating func gaussian() -> Double {
        sqrt(-2 * log(uniform())) * cos(2 * Double.pi * uniform())
    }
}
