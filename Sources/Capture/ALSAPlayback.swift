#if canImport(Glibc)
import Glibc
#endif
internal import CALSA

/// Where the box's loudspeaker samples go: 48 kHz, mono, signed 16-bit, 10 ms at a time.
public protocol AudioSink: AnyObject {
    /// Queues `block` for playing; blocks only while the device's short buffer is full.
    func write(_ block: UnsafeBufferPointer<Int16>) throws(CaptureError)
    /// Underruns recovered so far (the device ran dry and played silence).
    var underruns: Int { get }
    /// Blocks not played because the device's buffer was still full (it plays slower than
    /// the microphone captures: two cards, two clocks).
    var droppedBlocks: Int { get }
    /// Samples queued and not yet heard (the device's part of the echo path).
    var delayFrames: Int { get }
}

/// A loudspeaker through alsa-lib, the mirror of `ALSACapture`: 10 ms periods and a buffer
/// of at most 40 ms, with a cushion of silence queued ahead of the first block.
///
/// The device starts with the first real block written, not when it is opened: the audio
/// thread is paced by the microphone, and only when the two start together is the cushion
/// really the time a late block may take. Opened earlier, the loudspeaker would eat into it
/// while the microphone is still being opened, by a random part of a period.
///
/// The cushion adapts as PulseAudio's timer-based scheduling does with its watermark: it
/// starts at 30 ms (a call's first seconds run code for the first time and are the slowest),
/// comes down to 20 ms once `relaxAfterBlocks` blocks went without an underrun, by leaving
/// out one silent block (nobody is cut off), and goes up a period again after an underrun.
/// An underrun (the box was late) is recovered at once: the stream is prepared again and the
/// cushion re-queued, so it costs one short gap and is counted. A device that disappears
/// (USB unplug) ends the playback with `.disconnected`. Nothing written is kept after it has
/// been handed to alsa-lib.
public final class ALSAPlayback: AudioSink {
    public let name: String
    public let periodFrames: Int
    public let bufferFrames: Int
    public let channels: Int
    public private(set) var underruns = 0
    public private(set) var droppedBlocks = 0
    private let pcm: OpaquePointer
    /// Silence of one period, and the interleaved copy when the device only plays stereo.
    private let scratch: UnsafeMutablePointer<Int16>
    /// The silence queued ahead of the first block and again after an underrun, in periods.
    public private(set) var cushionPeriods: Int
    public let smallestCushionPeriods: Int
    private let largestCushionPeriods: Int
    private let relaxAfterBlocks: Int
    private var blocksSinceUnderrun = 0
    /// A block whose samples all stay within this is silence (−60 dBFS).
    static let silentSample: Int16 = 32

    public init(pcm name: String, definitions: String? = nil, sampleRate: Int = 48000, periodFrames: Int = 480,
                periods: Int = 4, relaxAfterBlocks: Int = 2000) throws(CaptureError) {
        let opened = try ALSAPCM.open(name, stream: SND_PCM_STREAM_PLAYBACK, definitions: definitions, sampleRate: sampleRate,
                                      periodFrames: periodFrames, periods: periods)
        self.name = name
        pcm = opened.handle
        self.periodFrames = opened.periodFrames
        bufferFrames = opened.bufferFrames
        channels = opened.channels
        // The buffer holds the cushion and the block being written.
        let bufferPeriods = opened.bufferFrames / opened.periodFrames
        largestCushionPeriods = max(1, min(3, bufferPeriods - 1))
        smallestCushionPeriods = min(2, largestCushionPeriods)
        cushionPeriods = largestCushionPeriods
        self.relaxAfterBlocks = relaxAfterBlocks
        scratch = .allocate(capacity: 2 * max(opened.periodFrames, periodFrames))
        scratch.initialize(repeating: 0, count: 2 * max(opened.periodFrames, periodFrames))
        do throws(CaptureError) {
            try configureStart()
            try prime()
        } catch {
            snd_pcm_close(pcm)
            scratch.deallocate()
            throw error
        }
    }

    deinit {
        snd_pcm_drop(pcm)
        snd_pcm_close(pcm)
        scratch.deallocate()
    }

    public var delayFrames: Int { ALSAPCM.delayFrames(pcm) }

    /// Never waits for the device: the audio thread is paced by the microphone, and a
    /// loudspeaker on another clock that plays slower would otherwise hold it up until the
    /// microphone overruns. A block that does not fit is dropped and counted instead (the
    /// queue stays at most `bufferFrames`, 40 ms); one that plays faster underruns now and
    /// then and is primed again.
    public func write(_ block: UnsafeBufferPointer<Int16>) throws(CaptureError) {
        blocksSinceUnderrun += 1
        if cushionPeriods > smallestCushionPeriods && blocksSinceUnderrun > relaxAfterBlocks && Self.isSilent(block) {
            cushionPeriods -= 1
            blocksSinceUnderrun = 0
            try configureStart()
            return
        }
        let available = snd_pcm_avail_update(pcm)
        if available >= 0 && Int(available) < block.count {
            droppedBlocks += 1
            return
        }
        var written = 0
        while written < block.count {
            let count = min(block.count - written, periodFrames)
            let source: UnsafeRawPointer
            if channels == 2 {
                for index in 0..<count {
                    scratch[2 * index] = block[written + index]
                    scratch[2 * index + 1] = block[written + index]
                }
                source = UnsafeRawPointer(scratch)
            } else {
                source = UnsafeRawPointer(block.baseAddress! + written)
            }
            let frames = snd_pcm_writei(pcm, source, snd_pcm_uframes_t(count))
            if frames >= 0 {
                written += Int(frames)
                continue
            }
            try recover(Int32(frames))
        }
    }

    static func isSilent(_ block: UnsafeBufferPointer<Int16>) -> Bool {
        for sample in block where sample > silentSample || sample < -silentSample { return false }
        return true
    }

    /// Playback starts when the first block follows the cushion, not when the buffer is full.
    private func configureStart() throws(CaptureError) {
        var software: OpaquePointer?
        snd_pcm_sw_params_malloc(&software)
        defer { snd_pcm_sw_params_free(software) }
        var result = snd_pcm_sw_params_current(pcm, software)
        let threshold = snd_pcm_uframes_t((cushionPeriods + 1) * periodFrames)
        if result >= 0 { result = snd_pcm_sw_params_set_start_threshold(pcm, software, threshold) }
        if result >= 0 { result = snd_pcm_sw_params_set_avail_min(pcm, software, snd_pcm_uframes_t(periodFrames)) }
        if result >= 0 { result = snd_pcm_sw_params(pcm, software) }
        guard result >= 0 else { throw ALSAPCM.error("\(name): sw_params", result) }
    }

    /// Prepares the stream and queues the silent cushion.
    private func prime() throws(CaptureError) {
        var result = snd_pcm_prepare(pcm)
        guard result >= 0 else { throw ALSAPCM.error("\(name): prepare", result) }
        let silence = scratch
        silence.update(repeating: 0, count: channels * periodFrames)
        for _ in 0..<cushionPeriods {
            result = Int32(truncatingIfNeeded: snd_pcm_writei(pcm, silence, snd_pcm_uframes_t(periodFrames)))
            guard result >= 0 else { throw ALSAPCM.error("\(name): queue silence", result) }
        }
    }

    private func recover(_ error: Int32) throws(CaptureError) {
        switch -error {
        case EPIPE:
            underruns += 1
            blocksSinceUnderrun = 0
            if cushionPeriods < largestCushionPeriods {
                cushionPeriods += 1
                try configureStart()
            }
            try prime()
        case ESTRPIPE:
            if ALSAPCM.resume(pcm) < 0 { try prime() }
        case ENODEV, EBADFD, EIO:
            throw .disconnected(name)
        case EINTR, EAGAIN:
            return
        default:
            throw ALSAPCM.error("\(name): snd_pcm_writei", error)
        }
    }
}

/// No loudspeaker (`audio.playback = "null"`): the mix is made and measured, then dropped.
public final class NullSink: AudioSink {
    public let underruns = 0
    public let droppedBlocks = 0
    public let delayFrames = 0
    public init() {}
    public func write(_ block: UnsafeBufferPointer<Int16>) throws(CaptureError) {}
}
