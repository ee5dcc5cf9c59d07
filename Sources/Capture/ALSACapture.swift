#if canImport(Glibc)
import Glibc
#endif
internal import CALSA

/// A microphone through alsa-lib: 48 kHz, mono S16_LE, read in 10 ms periods.
///
/// The buffer is deep (80 ms): a period is read as soon as it is complete, so depth costs no
/// latency, and it lets a box whose audio thread was held up (a busy CPU, a slow first block)
/// catch up without losing what the microphone heard.
///
/// Overruns (the box fell behind) are recovered at once and the rest of that period is
/// filled with silence, so the stream never stalls for longer than one period. A device
/// that disappears (USB unplug) ends the capture with `.disconnected`.
public final class ALSACapture: AudioSource {
    public let name: String
    public let periodFrames: Int
    public let channels: Int
    public private(set) var overruns = 0
    static let stallMilliseconds: Int32 = 500
    private let pcm: OpaquePointer
    /// Interleaved frames when the device only offers stereo; downmixed to mono on read.
    private var stereo: UnsafeMutablePointer<Int16>?

    /// Opens PCM `name`. `definitions`, when given, is alsa-lib configuration text in which
    /// the name is looked up instead of the system's (used by tests to define a PCM).
    public init(pcm name: String, definitions: String? = nil, sampleRate: Int = 48000, periodFrames: Int = 480,
                periods: Int = 8) throws(CaptureError) {
        let opened = try ALSAPCM.open(name, stream: SND_PCM_STREAM_CAPTURE, definitions: definitions, sampleRate: sampleRate,
                                      periodFrames: periodFrames, periods: periods)
        let handle = opened.handle
        self.name = name
        pcm = handle
        self.periodFrames = opened.periodFrames
        channels = opened.channels
        if channels == 2 { stereo = .allocate(capacity: 2 * self.periodFrames * periods) }
        var result = snd_pcm_prepare(handle)
        if result >= 0 { result = snd_pcm_start(handle) }
        if result < 0 {
            snd_pcm_close(handle)
            stereo?.deallocate()
            throw Self.error("\(name): start", result)
        }
    }

    deinit {
        snd_pcm_drop(pcm)
        snd_pcm_close(pcm)
        stereo?.deallocate()
    }

    public func read(into buffer: UnsafeMutableBufferPointer<Int16>) throws(CaptureError) {
        var filled = 0
        while filled < buffer.count {
            // One period per call: plugins such as "file" cannot serve more than their buffer at once.
            let wanted = min(buffer.count - filled, periodFrames)
            let destination = stereo ?? buffer.baseAddress! + filled
            // Wait at most half a second: a device that stops delivering without going away
            // (a stuck clock, a hung plugin) must not hold the audio thread, or a call's end.
            if snd_pcm_wait(pcm, Self.stallMilliseconds) == 0 && Int(snd_pcm_avail_update(pcm)) < wanted {
                throw .stalled(name, seconds: Double(Self.stallMilliseconds) / 1000)
            }
            let frames = snd_pcm_readi(pcm, destination, snd_pcm_uframes_t(wanted))
            if frames >= 0 {
                if let stereo {
                    for index in 0..<Int(frames) {
                        buffer[filled + index] = Int16((Int(stereo[2 * index]) + Int(stereo[2 * index + 1])) / 2)
                    }
                }
                filled += Int(frames)
                continue
            }
            // A signal or a not-yet-ready device lost nothing: read again.
            if -Int32(frames) == EINTR || -Int32(frames) == EAGAIN { continue }
            try recover(Int32(frames))
            // Keep the stream's timing: the lost stretch becomes silence, at most one period.
            let gap = min(buffer.count - filled, periodFrames)
            (buffer.baseAddress! + filled).update(repeating: 0, count: gap)
            filled += gap
        }
    }

    private func recover(_ error: Int32) throws(CaptureError) {
        switch -error {
        case EPIPE:
            overruns += 1
            let result = snd_pcm_prepare(pcm)
            guard result >= 0, snd_pcm_start(pcm) >= 0 else { throw Self.error("\(name): recover overrun", result) }
        case ESTRPIPE:
            var result = ALSAPCM.resume(pcm)
            if result < 0 { result = snd_pcm_prepare(pcm) }
            guard result >= 0, snd_pcm_start(pcm) >= 0 else { throw Self.error("\(name): resume", result) }
        case ENODEV, EBADFD, EIO:
            throw .disconnected(name)
        case EINTR, EAGAIN:
            return
        default:
            throw Self.error("\(name): snd_pcm_readi", error)
        }
    }

    static func error(_ call: String, _ code: Int32) -> CaptureError { ALSAPCM.error(call, code) }

    /// Frames captured but not yet read: part of the echo path the canceller is told about.
    public var delayFrames: Int { ALSAPCM.delayFrames(pcm) }
}
