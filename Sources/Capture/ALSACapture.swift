#if canImport(Glibc)
import Glibc
#endif
internal import CALSA

/// A microphone through alsa-lib: 48 kHz, mono S16_LE, read in 10 ms periods.
///
/// Overruns (the box fell behind) are recovered at once and the rest of that period is
/// filled with silence, so the stream never stalls for longer than one period. A device
/// that disappears (USB unplug) ends the capture with `.disconnected`.
public final class ALSACapture: AudioSource {
    public let name: String
    public let periodFrames: Int
    public let channels: Int
    public private(set) var overruns = 0
    private let pcm: OpaquePointer
    /// Interleaved frames when the device only offers stereo; downmixed to mono on read.
    private var stereo: UnsafeMutablePointer<Int16>?

    /// Opens PCM `name`. `definitions`, when given, is alsa-lib configuration text in which
    /// the name is looked up instead of the system's (used by tests to define a PCM).
    public init(pcm name: String, definitions: String? = nil, sampleRate: Int = 48000, periodFrames: Int = 480,
                periods: Int = 4) throws(CaptureError) {
        var handle: OpaquePointer?
        var result = try Self.open(name, definitions: definitions, &handle)
        guard result == 0, let handle else { throw Self.error("snd_pcm_open \(name)", result) }
        var hardware: OpaquePointer?
        snd_pcm_hw_params_malloc(&hardware)
        defer { snd_pcm_hw_params_free(hardware) }
        var rate = UInt32(sampleRate)
        var channelCount: UInt32 = 1
        var period = snd_pcm_uframes_t(periodFrames)
        var buffer = snd_pcm_uframes_t(periodFrames * periods)
        let steps: [(String, () -> Int32)] = [
            ("snd_pcm_hw_params_any", { snd_pcm_hw_params_any(handle, hardware) }),
            ("set_access", { snd_pcm_hw_params_set_access(handle, hardware, SND_PCM_ACCESS_RW_INTERLEAVED) }),
            ("set_format S16_LE", { snd_pcm_hw_params_set_format(handle, hardware, SND_PCM_FORMAT_S16_LE) }),
            ("set_channels", { snd_pcm_hw_params_set_channels_near(handle, hardware, &channelCount) }),
            ("set_rate", { snd_pcm_hw_params_set_rate_near(handle, hardware, &rate, nil) }),
            ("set_period_size", { snd_pcm_hw_params_set_period_size_near(handle, hardware, &period, nil) }),
            ("set_buffer_size", { snd_pcm_hw_params_set_buffer_size_near(handle, hardware, &buffer) }),
            ("snd_pcm_hw_params", { snd_pcm_hw_params(handle, hardware) }),
        ]
        for (step, call) in steps {
            result = call()
            if result < 0 {
                snd_pcm_close(handle)
                throw Self.error("\(name): \(step)", result)
            }
        }
        guard rate == UInt32(sampleRate), channelCount <= 2 else {
            snd_pcm_close(handle)
            throw .unsupported("\(name) cannot capture at \(sampleRate) Hz mono or stereo (got \(rate) Hz, \(channelCount) channels); use a plughw: or default PCM")
        }
        self.name = name
        pcm = handle
        self.periodFrames = Int(period)
        channels = Int(channelCount)
        if channels == 2 { stereo = .allocate(capacity: 2 * self.periodFrames * periods) }
        result = snd_pcm_prepare(handle)
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
            var result = snd_pcm_resume(pcm)
            while result == -EAGAIN {
                usleep(10_000)
                result = snd_pcm_resume(pcm)
            }
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

    private static func open(_ name: String, definitions: String?, _ handle: inout OpaquePointer?) throws(CaptureError) -> Int32 {
        guard let definitions else { return snd_pcm_open(&handle, name, SND_PCM_STREAM_CAPTURE, 0) }
        var top: OpaquePointer?
        var input: OpaquePointer?
        guard snd_config_top(&top) == 0 else { throw .unsupported("snd_config_top failed") }
        defer { snd_config_delete(top) }
        var result = snd_input_buffer_open(&input, definitions, definitions.utf8.count)
        guard result == 0 else { throw error("snd_input_buffer_open", result) }
        result = snd_config_load(top, input)
        snd_input_close(input)
        guard result == 0 else { throw error("snd_config_load", result) }
        return snd_pcm_open_lconf(&handle, name, SND_PCM_STREAM_CAPTURE, 0, top)
    }

    static func error(_ call: String, _ code: Int32) -> CaptureError {
        .alsa(call, code: code, reason: String(cString: snd_strerror(code)))
    }
}
