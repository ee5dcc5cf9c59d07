internal import CWebRTCAudioProcessing

/// webrtc-audio-processing 0.3 at 48 kHz: AEC1 with its delay estimator, NS, HPF, digital AGC.
/// The library splits 48 kHz into bands; echo is cancelled in 0–8 kHz and the upper bands
/// follow its suppression gain (research §6.1).
public final class WebRTCMicrophoneProcessor: MicrophoneProcessing {
    /// The knobs the measurement tuned; the defaults are what it chose.
    public struct Tuning: Sendable, Equatable {
        /// 128 ms linear filter instead of 48 ms.
        public var extendedFilter = true
        /// The AEC finds the delay itself instead of trusting the reported one. Off: with the
        /// extended filter, a 40 ms echo-path change is re-tracked in 0.5 s on the reported
        /// delay, while the agnostic estimator took 4.5 s at 150 ms (AudioProcessingTests sweep).
        /// Turn it on when the reported delay cannot be trusted (separate capture/playback cards).
        public var delayAgnostic = false
        /// Echo suppression (NLP): 0 low, 1 moderate, 2 high.
        public var suppressionLevel = 1
        /// Noise suppression: 0 low, 1 moderate, 2 high, 3 very high.
        public var noiseSuppressionLevel = 1
        public var highPassFilter = true
        /// AGC target, dB below full scale, and its maximum gain.
        public var gainTargetDBFS = 3
        public var gainCompressionDB = 9

        public init() {}
    }

    public let settings: MicrophoneProcessingSettings
    public let tuning: Tuning
    private let processor: OpaquePointer
    private var blocks = 0
    private var errors = 0

    public init(_ settings: MicrophoneProcessingSettings, tuning: Tuning = Tuning()) throws(AudioProcessingError) {
        var options = cwap_options(
            sample_rate_hz: Int32(MicrophoneProcessingSettings.sampleRate),
            echo_cancellation: settings.echoCancellation ? 1 : 0,
            extended_filter: tuning.extendedFilter ? 1 : 0,
            delay_agnostic: tuning.delayAgnostic ? 1 : 0,
            suppression_level: Int32(tuning.suppressionLevel),
            noise_suppression: settings.noiseSuppression ? 1 : 0,
            noise_suppression_level: Int32(tuning.noiseSuppressionLevel),
            high_pass_filter: tuning.highPassFilter ? 1 : 0,
            gain_control: settings.gainControl ? 1 : 0,
            gain_target_dbfs: Int32(tuning.gainTargetDBFS),
            gain_compression_db: Int32(tuning.gainCompressionDB))
        guard let processor = cwap_create(&options) else {
            throw .webrtc("cwap_create refused \(settings), \(tuning)")
        }
        guard Int(cwap_block_samples(processor)) == MicrophoneProcessingSettings.blockSamples else {
            cwap_destroy(processor)
            throw .webrtc("unexpected block size \(cwap_block_samples(processor))")
        }
        self.processor = processor
        self.settings = settings
        self.tuning = tuning
    }

    deinit { cwap_destroy(processor) }

    public func processReverse(_ block: UnsafeBufferPointer<Int16>) {
        precondition(block.count == MicrophoneProcessingSettings.blockSamples, "one 10 ms block")
        if cwap_process_reverse(processor, block.baseAddress!) != 0 { errors += 1 }
    }

    public func processCapture(_ block: UnsafeMutableBufferPointer<Int16>, delayMilliseconds: Int) {
        precondition(block.count == MicrophoneProcessingSettings.blockSamples, "one 10 ms block")
        let delay = Int32(clamping: max(0, min(delayMilliseconds, 500)))
        if cwap_process_capture(processor, block.baseAddress!, delay) != 0 { errors += 1 }
        blocks += 1
    }

    public var statistics: MicrophoneProcessingStatistics {
        var metrics = cwap_metrics()
        cwap_get_metrics(processor, &metrics)
        var statistics = MicrophoneProcessingStatistics()
        statistics.blocksProcessed = blocks
        statistics.errors = errors
        if metrics.erle_db > -100 { statistics.echoReturnLossEnhancementDB = Double(metrics.erle_db) }
        if metrics.delay_median_ms > -100 { statistics.delayEstimateMilliseconds = Int(metrics.delay_median_ms) }
        if metrics.fraction_poor_delays >= 0 { statistics.fractionPoorDelays = Double(metrics.fraction_poor_delays) }
        return statistics
    }
}
