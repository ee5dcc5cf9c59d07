#if canImport(Glibc)
import Glibc
#endif
internal import CALSA

/// Opening an ALSA PCM the way both directions of the box want it: 48 kHz, S16_LE, mono
/// (or stereo when that is all the device has), a 10 ms period and a short buffer.
enum ALSAPCM {
    struct Opened {
        let handle: OpaquePointer
        let periodFrames: Int
        let bufferFrames: Int
        let channels: Int
    }

    /// Opens and configures PCM `name`. `definitions`, when given, is alsa-lib configuration
    /// text in which the name is looked up instead of the system's (tests define PCMs so).
    static func open(_ name: String, stream: snd_pcm_stream_t, definitions: String?, sampleRate: Int, periodFrames: Int,
                     periods: Int) throws(CaptureError) -> Opened {
        var handle: OpaquePointer?
        var result = try openHandle(name, stream: stream, definitions: definitions, &handle)
        guard result == 0, let handle else { throw error("snd_pcm_open \(name)", result) }
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
                throw error("\(name): \(step)", result)
            }
        }
        let direction = stream == SND_PCM_STREAM_CAPTURE ? "capture" : "play"
        guard rate == UInt32(sampleRate), channelCount <= 2 else {
            snd_pcm_close(handle)
            throw .unsupported("\(name) cannot \(direction) at \(sampleRate) Hz mono or stereo (got \(rate) Hz, \(channelCount) channels); use a plughw: or default PCM")
        }
        guard buffer >= 3 * period else {
            snd_pcm_close(handle)
            throw .unsupported("\(name) offers a buffer of only \(buffer) frames for \(period)-frame periods; the box needs three periods")
        }
        return Opened(handle: handle, periodFrames: Int(period), bufferFrames: Int(buffer), channels: Int(channelCount))
    }

    private static func openHandle(_ name: String, stream: snd_pcm_stream_t, definitions: String?,
                                   _ handle: inout OpaquePointer?) throws(CaptureError) -> Int32 {
        guard let definitions else { return snd_pcm_open(&handle, name, stream, 0) }
        var top: OpaquePointer?
        var input: OpaquePointer?
        guard snd_config_top(&top) == 0 else { throw .unsupported("snd_config_top failed") }
        defer { snd_config_delete(top) }
        var result = snd_input_buffer_open(&input, definitions, definitions.utf8.count)
        guard result == 0 else { throw error("snd_input_buffer_open", result) }
        result = snd_config_load(top, input)
        snd_input_close(input)
        guard result == 0 else { throw error("snd_config_load", result) }
        return snd_pcm_open_lconf(&handle, name, stream, 0, top)
    }

    /// Frames between the application pointer and the sound leaving (playback) or arriving
    /// (capture): `snd_pcm_delay`, 0 when the device cannot tell.
    static func delayFrames(_ handle: OpaquePointer) -> Int {
        var delay: snd_pcm_sframes_t = 0
        return snd_pcm_delay(handle, &delay) == 0 ? max(0, Int(delay)) : 0
    }

    /// After ESTRPIPE (the system was suspended): resumes the stream, waiting while the
    /// driver is not ready yet. A negative result means it must be prepared again.
    static func resume(_ handle: OpaquePointer) -> Int32 {
        var result = snd_pcm_resume(handle)
        while result == -EAGAIN {
            usleep(10_000)
            result = snd_pcm_resume(handle)
        }
        return result
    }

    static func error(_ call: String, _ code: Int32) -> CaptureError {
        .alsa(call, code: code, reason: String(cString: snd_strerror(code)))
    }
}
