/// Echo cancellation, noise suppression and gain on the microphone path.
///
/// The playback thread calls, for every 10 ms block (480 samples, 48 kHz mono):
/// `processReverse(block written to the loudspeaker)`, then
/// `processCapture(microphone block, delayMilliseconds: playback write → capture read)`.
/// Research: `shared/research/receive-audio.md` §6–§8.
public protocol MicrophoneProcessing: AnyObject {
    var settings: MicrophoneProcessingSettings { get }
    /// The far end: exactly what was written to the loudspeaker, `blockSamples` long.
    func processReverse(_ block: UnsafeBufferPointer<Int16>)
    /// The microphone block, processed in place. `delayMilliseconds` is the measured time
    /// between writing a sample to the playback device and reading it back at capture.
    func processCapture(_ block: UnsafeMutableBufferPointer<Int16>, delayMilliseconds: Int)
    /// What the processor knows about itself; read it about once a second, not per block.
    var statistics: MicrophoneProcessingStatistics { get }
}

/// What the microphone path should do; every stage can be switched off on its own.
public struct MicrophoneProcessingSettings: Sendable, Equatable {
    public var echoCancellation: Bool
    public var noiseSuppression: Bool
    public var gainControl: Bool

    public init(echoCancellation: Bool = true, noiseSuppression: Bool = true, gainControl: Bool = true) {
        self.echoCancellation = echoCancellation
        self.noiseSuppression = noiseSuppression
        self.gainControl = gainControl
    }

    public static let sampleRate = 48000
    /// 10 ms at 48 kHz.
    public static let blockSamples = 480
}

/// Counters and the library's own view of the echo path.
public struct MicrophoneProcessingStatistics: Sendable, Equatable {
    public var blocksProcessed = 0
    /// Echo return loss enhancement as the library measures it (webrtc only).
    public var echoReturnLossEnhancementDB: Double?
    /// The delay the canceller works with: webrtc's estimate (median), or the reference
    /// pre-delay speex uses (the reported delay minus a margin).
    public var delayEstimateMilliseconds: Int?
    /// webrtc: share of delay estimates that would make the AEC perform poorly (near 1 = misaligned).
    public var fractionPoorDelays: Double?
    /// Times the canceller was reset because the reported delay jumped (speex, only with
    /// `resetOnReportedJump`).
    public var resets = 0
    /// Times the reference was moved (speex): the reported delay jumped, or the echo path
    /// shifted without it (found by `EchoPathTracker`).
    public var realignments = 0
    /// Library calls that returned an error (the block then passes as the library left it).
    public var errors = 0

    public init() {}
}

/// The two libraries behind `MicrophoneProcessing`.
public enum MicrophoneProcessingBackend: String, Sendable, CaseIterable {
    /// webrtc-audio-processing 0.3 (AEC1, NS, digital AGC).
    case webrtc
    /// speexdsp 1.2 (MDF echo canceller + preprocessor).
    case speex
}

/// Errors of the audio processing wrappers, with the failing call.
public enum AudioProcessingError: Error, Equatable, CustomStringConvertible {
    case webrtc(String)
    case speex(String)

    public var description: String {
        switch self {
        case .webrtc(let message): return "webrtc-audio-processing: \(message)"
        case .speex(let message): return "speexdsp: \(message)"
        }
    }
}

/// Makes the microphone processor; the default backend is the one the measurement in
/// `Tests/AudioProcessingTests` chose (its table is printed by `swift test`): speex meets
/// ERLE ≥ 25 dB, double-talk SDR ≥ 10 dB and re-tracking ≤ 2 s at 30 and 150 ms; webrtc 0.3
/// cancels more echo (46–48 dB) but its NLP ducks the near end in double talk (SDR 2–3 dB)
/// at every suppression level, and 0.3 has no way to turn the NLP off.
public enum MicrophoneProcessors {
    public static let defaultBackend: MicrophoneProcessingBackend = .speex

    public static func make(_ settings: MicrophoneProcessingSettings,
                            backend: MicrophoneProcessingBackend = defaultBackend)
        throws(AudioProcessingError) -> any MicrophoneProcessing {
        switch backend {
        case .webrtc: return try WebRTCMicrophoneProcessor(settings)
        case .speex: return try SpeexMicrophoneProcessor(settings)
        }
    }
}
