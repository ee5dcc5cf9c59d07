import AudioProcessing
import Capture
import Logging
import Runtime

/// What the audio thread of a call is made of, as plain values.
struct AudioLoopPlan: Sendable {
    /// Where the microphone samples come from.
    enum Capture: Sendable, Equatable {
        case tone(hz: Int)
        case silence
        case pcm(String)
    }

    /// Where the others' mix goes.
    enum Playback: Sendable, Equatable {
        case null
        case pcm(String)
    }

    var capture: Capture
    /// nil when the call receives no audio.
    var playback: Playback?
    /// `audio.echo_cancellation`, `audio.noise_suppression`; gain control goes with them.
    var processing: MicrophoneProcessingSettings

    /// Echo cancellation, noise suppression and gain are for a real microphone: a generated
    /// tone would be "suppressed" as steady noise, and without a loudspeaker there is no echo.
    var effectiveProcessing: MicrophoneProcessingSettings? {
        guard case .pcm = capture else { return nil }
        var settings = processing
        if playback == nil || playback == .null { settings.echoCancellation = false }
        guard settings.echoCancellation || settings.noiseSuppression else { return nil }
        return settings
    }
}

/// The one audio thread of a call: every 10 ms it reads the microphone, renders the others'
/// mix and writes it to the loudspeaker, feeds that mix to the echo canceller as the far
/// end, cleans the microphone block and hands it to the sender.
///
/// One thread for both directions keeps the canceller's reference and capture in step (the
/// delay between them is measured each block from the two devices' queues, not guessed),
/// and the microphone's clock paces everything (generated sources pace themselves). The
/// thread asks for SCHED_FIFO (`LimitRTPRIO`) and allocates nothing per block.
///
/// A microphone or a loudspeaker that disappears does not stop the other direction: paced
/// silence stands in for a missing microphone (and nothing is sent, as when muted), and each
/// device is reopened every second. Underruns
/// and overruns are counted, and logged at most once a minute.
final class AudioLoop {
    static let blockSamples = 480
    static let realTimePriority: Int32 = 20

    private let plan: AudioLoopPlan
    private let sender: AudioSender?
    private let receiver: AudioReceiver?
    private let control: SendControl
    private let monitor: PlaybackMonitor
    private let logger: Logger
    private let microphone: UnsafeMutableBufferPointer<Int16>
    private let speaker: UnsafeMutableBufferPointer<Int16>
    private var processor: (any MicrophoneProcessing)?
    private var source: (any AudioSource)?
    private var sink: (any AudioSink)?
    private let standIn = SilenceSource()
    private var nextSourceAttempt: UInt64 = 0
    private var nextSinkAttempt: UInt64 = 0
    private var lastSourceProblem: String?
    private var lastSinkProblem: String?
    private var overrunsSeen = 0
    private var underrunsSeen = 0
    private var dropsSeen = 0
    private var xrunLog = RateLimitedLog(interval: 60_000_000_000)

    init(plan: AudioLoopPlan, sender: AudioSender?, receiver: AudioReceiver?, control: SendControl, monitor: PlaybackMonitor,
         logger: Logger) {
        self.plan = plan
        self.sender = sender
        self.receiver = receiver
        self.control = control
        self.monitor = monitor
        self.logger = logger
        microphone = .allocate(capacity: Self.blockSamples)
        microphone.initialize(repeating: 0)
        speaker = .allocate(capacity: Self.blockSamples)
        speaker.initialize(repeating: 0)
    }

    deinit {
        microphone.deallocate()
        speaker.deallocate()
    }

    func run() {
        switch CurrentThread.requestRealTime(priority: Self.realTimePriority) {
        case .success(let priority): logger.debug("audio thread runs SCHED_FIFO \(priority)")
        case .failure(let refusal): logger.notice("audio thread stays a normal thread: \(refusal)")
        }
        if let settings = plan.effectiveProcessing {
            do {
                processor = try MicrophoneProcessors.make(settings)
                logger.info("microphone processing: echo cancellation \(settings.echoCancellation ? "on" : "off"), noise suppression \(settings.noiseSuppression ? "on" : "off"), gain \(settings.gainControl ? "on" : "off")")
            } catch {
                logger.error("microphone processing unavailable, the microphone is sent as captured: \(error)")
            }
        }
        // Before the microphone runs, the processor, the encoder and the receiver have seen a
        // block (the first costs several blocks' time), so none makes the first capture period
        // late. Then the microphone starts and the loudspeaker is primed: it starts with the
        // first block played, so its whole cushion is margin for a late block.
        if let processor {
            if processor.settings.echoCancellation { processor.processReverse(UnsafeBufferPointer(speaker)) }
            processor.processCapture(microphone, delayMilliseconds: 0)
        }
        sender?.warmUp()
        receiver?.warmUp(scratch: speaker)
        openMicrophone(now: Monotonic.nanoseconds())
        if receiver != nil { openLoudspeaker(now: Monotonic.nanoseconds()) }
        while !control.isStopping {
            readMicrophone(now: Monotonic.nanoseconds())
            // After the (blocking) read: the block is played from now on.
            let now = Monotonic.nanoseconds()
            if let receiver {
                receiver.render(into: speaker, now: now)
                play(now: now)
                if let processor, processor.settings.echoCancellation {
                    processor.processReverse(UnsafeBufferPointer(speaker))
                }
            }
            if let processor {
                let delayFrames = (sink?.delayFrames ?? 0) + (source?.delayFrames ?? 0)
                let delay = delayFrames / (AudioLoop.blockSamples / 10)
                processor.processCapture(microphone, delayMilliseconds: delay)
                monitor.echoDelayMilliseconds.store(processor.settings.echoCancellation ? delay : 0, ordering: .relaxed)
            }
            if source != nil {
                sender?.consume(UnsafeBufferPointer(microphone))
            } else {
                sender?.skip(microphone.count)
            }
            reportXruns(now: now)
        }
    }

    private func readMicrophone(now: UInt64) {
        openMicrophone(now: now)
        do {
            try (source ?? standIn).read(into: microphone)
        } catch {
            logger.warning("microphone \(error); reopening")
            lastSourceProblem = error.description
            source = nil
            nextSourceAttempt = now + 1_000_000_000
            microphone.update(repeating: 0)
        }
    }

    private func openMicrophone(now: UInt64) {
        if source == nil && now >= nextSourceAttempt {
            do {
                source = try openSource()
                if lastSourceProblem != nil { logger.notice("microphone back") }
                lastSourceProblem = nil
                overrunsSeen = 0
            } catch {
                if lastSourceProblem != error.description { logger.warning("microphone unavailable, retrying every second: \(error)") }
                lastSourceProblem = error.description
                nextSourceAttempt = now + 1_000_000_000
            }
        }
    }

    private func openLoudspeaker(now: UInt64) {
        guard let playback = plan.playback, sink == nil, now >= nextSinkAttempt else { return }
        do {
            switch playback {
            case .null: sink = NullSink()
            case .pcm(let name): sink = try ALSAPlayback(pcm: name)
            }
            if lastSinkProblem != nil { logger.notice("loudspeaker back") }
            lastSinkProblem = nil
            underrunsSeen = 0
            dropsSeen = 0
        } catch {
            if lastSinkProblem != error.description { logger.warning("loudspeaker unavailable, retrying every second: \(error)") }
            lastSinkProblem = error.description
            nextSinkAttempt = now + 1_000_000_000
        }
    }

    private func play(now: UInt64) {
        openLoudspeaker(now: now)
        guard sink != nil else { return }
        do {
            try sink?.write(UnsafeBufferPointer(speaker))
        } catch {
            logger.warning("loudspeaker \(error); reopening")
            lastSinkProblem = error.description
            sink = nil
            nextSinkAttempt = now + 1_000_000_000
        }
    }

    private func openSource() throws(CaptureError) -> any AudioSource {
        switch plan.capture {
        case .tone(let hz): return ToneSource(frequency: Double(hz))
        case .silence: return SilenceSource()
        case .pcm(let name): return try ALSACapture(pcm: name)
        }
    }

    private func reportXruns(now: UInt64) {
        var newOverruns = 0, newUnderruns = 0, newDrops = 0
        if let source {
            newOverruns = source.overruns - overrunsSeen
            overrunsSeen = source.overruns
        }
        if let sink {
            newUnderruns = sink.underruns - underrunsSeen
            underrunsSeen = sink.underruns
            newDrops = sink.droppedBlocks - dropsSeen
            dropsSeen = sink.droppedBlocks
        }
        guard newOverruns + newUnderruns + newDrops > 0 else { return }
        control.count(control.audioOverruns, newOverruns)
        monitor.count(monitor.underruns, newUnderruns)
        monitor.count(monitor.droppedBlocks, newDrops)
        if xrunLog.allow(now: now) {
            logger.warning("audio xruns: \(control.audioOverruns.load(ordering: .relaxed)) microphone overruns, \(monitor.underruns.load(ordering: .relaxed)) loudspeaker underruns, \(monitor.droppedBlocks.load(ordering: .relaxed)) blocks dropped for a slower loudspeaker clock so far (logged at most once a minute)")
        }
    }
}

/// Lets a repeating message through at most once per `interval` (monotonic ns).
struct RateLimitedLog {
    let interval: UInt64
    private var last: UInt64?

    init(interval: UInt64) {
        self.interval = interval
    }

    mutating func allow(now: UInt64) -> Bool {
        if let last, now &- last < interval { return false }
        last = now
        return true
    }
}
