internal import CSpeexDSP

/// speexdsp: the MDF echo canceller on a reference pre-delayed by the reported delay (and by
/// what `EchoPathTracker` finds the report misses), then the preprocessor with the echo state
/// attached (residual echo, noise, AGC). Research §6.2.
public final class SpeexMicrophoneProcessor: MicrophoneProcessing {
    /// The knobs the measurement tuned; the defaults are what it chose.
    public struct Tuning: Sendable, Equatable {
        /// 48000 (filter on the full band) or 16000 (resampled in and out; 3× fewer taps,
        /// the output keeps only 0–8 kHz).
        public var processingRate = 16000
        /// Adaptive filter length: the room tail plus the margin below.
        public var filterMilliseconds = 200
        /// The reference is delayed by the reported delay minus this, so the true path stays
        /// causal when the report is a little too long.
        public var marginMilliseconds = 20
        /// A reported delay further than this from the one in use moves the delay line by the
        /// difference; smaller wobble is left to the filter.
        public var jumpMilliseconds = 20
        /// Also reset the canceller when the reported delay jumps. Off: the box's own buffering
        /// changed, the room did not, so the filter is still right once the reference moves
        /// (a reported +40 ms re-tracked in 1.0 s; with the reset 5.5 s at 30 ms, never at 150).
        public var resetOnReportedJump = false
        /// Follow shifts of the echo path the reported delay does not show (`EchoPathTracker`):
        /// an unreported +40 ms re-tracked in 1.5–2.0 s instead of 3.5–5.0 s.
        public var trackEchoPath = true
        /// Residual echo attenuation (dB, negative) without / with near-end speech.
        public var echoSuppressDB = -40
        public var echoSuppressActiveDB = -15
        public var noiseSuppressDB = -15
        public var resamplerQuality = 5

        public init() {}
    }

    public let settings: MicrophoneProcessingSettings
    public let tuning: Tuning
    private let echo: OpaquePointer?
    private let preprocess: OpaquePointer?
    private let downMicrophone: OpaquePointer?
    private let downReference: OpaquePointer?
    private let up: OpaquePointer?
    private var delayLine: ReferenceDelayLine
    private let frame: Int
    /// Work buffers, `blockSamples` each: delayed reference, reference / mic / output at the processing rate.
    private let delayed: UnsafeMutableBufferPointer<Int16>
    private let reference: UnsafeMutableBufferPointer<Int16>
    private let microphone: UnsafeMutableBufferPointer<Int16>
    private let output: UnsafeMutableBufferPointer<Int16>
    private var tracker: EchoPathTracker?
    /// The reported delay the line follows (ms), and the tracker's correction (48 kHz samples).
    private var reportedInUse: Int?
    private var trackedOffset = 0
    /// The reference's pre-delay in 48 kHz samples.
    private var preDelay = 0
    private var statisticsSoFar = MicrophoneProcessingStatistics()

    public init(_ settings: MicrophoneProcessingSettings, tuning: Tuning = Tuning()) throws(AudioProcessingError) {
        let rate = MicrophoneProcessingSettings.sampleRate
        let block = MicrophoneProcessingSettings.blockSamples
        guard tuning.processingRate == rate || tuning.processingRate == 16000 else {
            throw .speex("processing rate \(tuning.processingRate) is neither 48000 nor 16000")
        }
        let frame = block * tuning.processingRate / rate
        self.frame = frame
        self.settings = settings
        self.tuning = tuning
        if tuning.processingRate != rate {
            var error: Int32 = 0
            let quality = Int32(tuning.resamplerQuality)
            downMicrophone = speex_resampler_init(1, UInt32(rate), UInt32(tuning.processingRate), quality, &error)
            downReference = speex_resampler_init(1, UInt32(rate), UInt32(tuning.processingRate), quality, &error)
            up = speex_resampler_init(1, UInt32(tuning.processingRate), UInt32(rate), quality, &error)
        } else {
            downMicrophone = nil; downReference = nil; up = nil
        }
        if settings.echoCancellation {
            echo = speex_echo_state_init(Int32(frame), Int32(tuning.filterMilliseconds * tuning.processingRate / 1000))
            if let echo { _ = cspeex_echo_set_sampling_rate(echo, Int32(tuning.processingRate)) }
        } else {
            echo = nil
        }
        if settings.echoCancellation || settings.noiseSuppression || settings.gainControl {
            preprocess = speex_preprocess_state_init(Int32(frame), Int32(tuning.processingRate))
        } else {
            preprocess = nil
        }
        delayLine = ReferenceDelayLine(maximumDelay: rate / 2, block: block)
        tracker = settings.echoCancellation && tuning.trackEchoPath
            ? EchoPathTracker(processingRate: tuning.processingRate, frame: frame) : nil
        delayed = .allocate(capacity: block)
        reference = .allocate(capacity: block)
        microphone = .allocate(capacity: block)
        output = .allocate(capacity: block)
        for buffer in [delayed, reference, microphone, output] { buffer.initialize(repeating: 0) }
        let resamplersMade = tuning.processingRate == rate || (downMicrophone != nil && downReference != nil && up != nil)
        guard resamplersMade, (echo != nil) == settings.echoCancellation,
              preprocess != nil || !(settings.echoCancellation || settings.noiseSuppression || settings.gainControl) else {
            throw .speex("state init failed for \(settings), \(tuning)")
        }
        if let preprocess { configure(preprocess) }
    }

    private func configure(_ preprocess: OpaquePointer) {
        _ = cspeex_preprocess_set_int(preprocess, cspeex_preprocess_set_denoise, settings.noiseSuppression ? 1 : 0)
        _ = cspeex_preprocess_set_int(preprocess, cspeex_preprocess_set_noise_suppress, Int32(tuning.noiseSuppressDB))
        _ = cspeex_preprocess_set_int(preprocess, cspeex_preprocess_set_agc, settings.gainControl ? 1 : 0)
        if let echo {
            _ = cspeex_preprocess_set_echo_state(preprocess, echo)
            _ = cspeex_preprocess_set_int(preprocess, cspeex_preprocess_set_echo_suppress, Int32(tuning.echoSuppressDB))
            _ = cspeex_preprocess_set_int(preprocess, cspeex_preprocess_set_echo_suppress_active,
                                          Int32(tuning.echoSuppressActiveDB))
        }
    }

    deinit {
        if let preprocess { speex_preprocess_state_destroy(preprocess) }
        if let echo { speex_echo_state_destroy(echo) }
        for resampler in [downMicrophone, downReference, up] {
            if let resampler { speex_resampler_destroy(resampler) }
        }
        for buffer in [delayed, reference, microphone, output] { buffer.deallocate() }
    }

    public func processReverse(_ block: UnsafeBufferPointer<Int16>) {
        precondition(block.count == MicrophoneProcessingSettings.blockSamples, "one 10 ms block")
        delayLine.append(block)
    }

    public func processCapture(_ block: UnsafeMutableBufferPointer<Int16>, delayMilliseconds: Int) {
        precondition(block.count == MicrophoneProcessingSettings.blockSamples, "one 10 ms block")
        statisticsSoFar.blocksProcessed += 1
        guard let preprocess else { return }
        let samplesPerMs = MicrophoneProcessingSettings.sampleRate / 1000
        if let current = reportedInUse, abs(delayMilliseconds - current) <= tuning.jumpMilliseconds {
            // Wobble: keep the line where it is; the filter spans the margin.
        } else {
            if reportedInUse != nil {
                // The box's buffering changed: move the reference by as much, keep the filter.
                if tuning.resetOnReportedJump, let echo {
                    speex_echo_state_reset(echo)
                    statisticsSoFar.resets += 1
                }
                statisticsSoFar.realignments += 1
                tracker?.restart()
            }
            reportedInUse = delayMilliseconds
        }
        let base = (reportedInUse! - tuning.marginMilliseconds) * samplesPerMs
        preDelay = max(0, min(base + trackedOffset, delayLine.maximumDelay))
        let mic = rateIn(block, resampler: downMicrophone, into: microphone)
        if let echo {
            delayLine.read(delay: preDelay, into: delayed)
            let far = rateIn(delayed, resampler: downReference, into: reference)
            speex_echo_cancellation(echo, mic.baseAddress, far.baseAddress, output.baseAddress)
            let cancelled = UnsafeMutableBufferPointer(rebasing: output[0..<frame])
            if let shift = tracker?.process(microphone: mic, cancelled: cancelled) {
                // The echo path moved without the reported delay: move the reference after it.
                let moved = max(0, min(preDelay + shift * (MicrophoneProcessingSettings.sampleRate / tuning.processingRate),
                                       delayLine.maximumDelay))
                if moved != preDelay {
                    trackedOffset += moved - preDelay
                    statisticsSoFar.realignments += 1
                }
            }
            _ = speex_preprocess_run(preprocess, output.baseAddress)
            rateOut(cancelled, into: block)
        } else {
            _ = speex_preprocess_run(preprocess, mic.baseAddress)
            rateOut(mic, into: block)
        }
    }

    /// At 48 kHz the block itself; at 16 kHz the first `frame` samples of `buffer`.
    private func rateIn(_ block: UnsafeMutableBufferPointer<Int16>, resampler: OpaquePointer?,
                        into buffer: UnsafeMutableBufferPointer<Int16>) -> UnsafeMutableBufferPointer<Int16> {
        guard let resampler else { return block }
        var inLength = UInt32(block.count)
        var outLength = UInt32(frame)
        if speex_resampler_process_int(resampler, 0, block.baseAddress, &inLength, buffer.baseAddress, &outLength) != 0
            || outLength != UInt32(frame) {
            statisticsSoFar.errors += 1
            buffer.update(repeating: 0)
        }
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<frame])
    }

    private func rateOut(_ processed: UnsafeMutableBufferPointer<Int16>, into block: UnsafeMutableBufferPointer<Int16>) {
        guard let up else {
            if processed.baseAddress != block.baseAddress { _ = block.update(fromContentsOf: processed) }
            return
        }
        var inLength = UInt32(frame)
        var outLength = UInt32(block.count)
        if speex_resampler_process_int(up, 0, processed.baseAddress, &inLength, block.baseAddress, &outLength) != 0
            || outLength != UInt32(block.count) {
            statisticsSoFar.errors += 1
        }
    }

    public var statistics: MicrophoneProcessingStatistics {
        var statistics = statisticsSoFar
        statistics.delayEstimateMilliseconds = preDelay / (MicrophoneProcessingSettings.sampleRate / 1000)
        return statistics
    }
}
