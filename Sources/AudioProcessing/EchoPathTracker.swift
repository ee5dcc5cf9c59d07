/// Finds a shift of the echo path that the reported delay does not show (the loudspeaker or
/// microphone moved, a buffer the box cannot measure changed): it cross-correlates the
/// microphone with the canceller's own echo estimate (microphone − linear canceller output),
/// both decimated to 2 kHz. While the filter models the path the two line up at lag 0; when
/// the echo now arrives τ later (or earlier) than modelled, the correlation peaks at τ, and
/// moving the reference by τ makes the filter right again, with no re-adaptation.
/// Correlating against the echo estimate rather than the raw reference keeps the room's
/// impulse response out of the correlation, so its peak is as sharp as speech allows.
/// Storage is made at init; `process` does not allocate (about 8 000 multiply-adds a block).
struct EchoPathTracker: ~Copyable {
    /// The tracker's rate and reach.
    static let rate = 2000
    /// Lags searched each way, in tracker samples (±100 ms).
    static let maximumLag = 200
    /// Smallest shift acted on (4 ms); smaller offsets are left to the filter.
    static let minimumShift = 8
    /// Per-block forgetting of the correlation (time constant ≈ 0.1 s at 10 ms blocks).
    static let forgetting: Float = 0.9
    /// Normalised correlation the shifted peak needs, and how much larger than lag 0's it must
    /// be. Measured (AudioProcessingTests): a real 40 ms shift gives 0.7–0.8 and 1.3–1.5 within
    /// 0.3 s; near-end speech in double talk gave spurious peaks of 0.45–0.5 at 1.6.
    static let minimumCorrelation: Float = 0.6
    static let peakOverAligned: Float = 1.25
    /// Blocks the same peak must hold before the reference moves, and the pause after a move
    /// (the canceller's far-end history holds the old alignment for one filter length), during
    /// which nothing is accumulated.
    static let confirmBlocks = 6
    static let holdOffBlocks = 25
    /// Echo estimate power per tracker sample (full scale 1, after the first difference) below
    /// which nothing is decided (−50 dB).
    static let minimumEchoPower: Float = 1e-5

    let decimation: Int
    /// New tracker samples per block.
    let perBlock: Int
    /// Microphone, delayed by `maximumLag`: `maximumLag + perBlock` samples, oldest first.
    private let microphone: UnsafeMutableBufferPointer<Float>
    /// Echo estimate: `2 * maximumLag + perBlock` samples, oldest first.
    private let estimate: UnsafeMutableBufferPointer<Float>
    /// Correlation at lag `k - maximumLag` (positive: the echo arrives later than modelled).
    private let correlation: UnsafeMutableBufferPointer<Float>
    private var microphonePower: Float = 0
    private var estimatePower: Float = 0
    private var candidate = 0
    private var confirmed = 0
    private var holdOff = 0
    /// The last decimated samples before emphasis (microphone, estimate).
    private var lastMicrophone: Float = 0
    private var lastEstimate: Float = 0

    /// `frame` samples per block at `processingRate`.
    init(processingRate: Int, frame: Int) {
        decimation = processingRate / Self.rate
        perBlock = frame / decimation
        microphone = .allocate(capacity: Self.maximumLag + perBlock)
        estimate = .allocate(capacity: 2 * Self.maximumLag + perBlock)
        correlation = .allocate(capacity: 2 * Self.maximumLag + 1)
        for buffer in [microphone, estimate, correlation] { buffer.initialize(repeating: 0) }
    }

    deinit {
        for buffer in [microphone, estimate, correlation] { buffer.deallocate() }
    }

    /// Forgets what was measured (after the reference moved) and waits before deciding again.
    mutating func restart() {
        correlation.update(repeating: 0)
        microphonePower = 0
        estimatePower = 0
        confirmed = 0
        holdOff = Self.holdOffBlocks
    }

    /// One block of the microphone and of the linear canceller's output, both `frame` long at
    /// the processing rate. Returns the shift, in processing-rate samples, by which the
    /// reference should be delayed further (negative: less), or nil.
    mutating func process(microphone input: UnsafeMutableBufferPointer<Int16>,
                          cancelled: UnsafeMutableBufferPointer<Int16>) -> Int? {
        let lag = Self.maximumLag
        let newest = perBlock
        // Age the histories by one block, then append the decimated block (box-car average).
        let microphoneCount = microphone.count
        let estimateCount = estimate.count
        for index in 0..<microphoneCount - newest { microphone[index] = microphone[index + newest] }
        for index in 0..<estimateCount - newest { estimate[index] = estimate[index + newest] }
        let scale = 1 / (32768 * Float(decimation))
        for sample in 0..<newest {
            var m: Float = 0, e: Float = 0
            for offset in sample * decimation..<(sample + 1) * decimation {
                let d = Float(input[offset])
                m += d
                e += d - Float(cancelled[offset])
            }
            // First difference: whitens speech's low-frequency tilt, so the peak is narrow.
            m *= scale
            e *= scale
            microphone[microphoneCount - newest + sample] = m - lastMicrophone
            estimate[estimateCount - newest + sample] = e - lastEstimate
            lastMicrophone = m
            lastEstimate = e
        }
        if holdOff > 0 {
            holdOff -= 1
            return nil
        }
        // correlation[k] += mic(n − L) · estimate(n − L − (k − L)), over the new samples n.
        let f = Self.forgetting
        for k in 0..<correlation.count { correlation[k] *= f }
        microphonePower *= f
        estimatePower *= f
        let lags = 2 * lag
        let r = correlation.baseAddress!
        let y = estimate.baseAddress!
        for sample in 0..<newest {
            let d = microphone[sample]
            microphonePower += d * d
            let aligned = y[sample + lag]
            estimatePower += aligned * aligned
            let top = y + sample + lags
            for k in 0...lags { r[k] += d * top[-k] }
        }
        var best = 0
        for k in 1..<correlation.count where correlation[k] > correlation[best] { best = k }
        let peak = correlation[best]
        let energy = microphonePower * estimatePower
        let echoPresent = estimatePower >= Self.minimumEchoPower * Float(newest) / (1 - f)
        guard echoPresent, abs(best - lag) >= Self.minimumShift, peak > 0,
              peak * peak >= Self.minimumCorrelation * Self.minimumCorrelation * energy,
              peak >= Self.peakOverAligned * max(0, correlation[lag]) else {
            confirmed = 0
            return nil
        }
        if confirmed > 0 && abs(best - candidate) <= 2 {
            confirmed += 1
        } else {
            candidate = best
            confirmed = 1
        }
        guard confirmed >= Self.confirmBlocks else { return nil }
        restart()
        return (best - lag) * decimation
    }
}
