import Congestion
import RTCP
import Synchronization

/// The shared state of the sending threads: commands in (stop, keyframe, bitrate), counters
/// out. All atomics, so any thread may read or set them while media flows.
final class SendControl: Sendable {
    let stopRequested = Atomic<Bool>(false)
    let keyframeRequested = Atomic<Bool>(false)
    /// Target video bitrate in kbit/s; the video thread applies changes between frames.
    let videoBitrateKbps: Atomic<Int>
    /// What the path carries as the estimates say (kbit/s, audio included; before any
    /// estimate, the video's rate and the audio): the pacer paces at 2.5× it.
    let pacingTargetKbps = Atomic<Int>(0)
    /// One transport-wide sequence counter across audio and video (transport-cc).
    private let transportSequence = Atomic<Int>(Int.random(in: 0..<65536))

    let framesEncoded = Atomic<Int>(0)
    let keyframesSent = Atomic<Int>(0)
    let videoPackets = Atomic<Int>(0)
    let videoBytes = Atomic<Int>(0)
    let audioPackets = Atomic<Int>(0)
    let audioBytes = Atomic<Int>(0)
    let sendErrors = Atomic<Int>(0)
    let cameraRestarts = Atomic<Int>(0)
    let droppedCameraFrames = Atomic<Int>(0)
    let audioOverruns = Atomic<Int>(0)
    /// Pictures not encoded because the pacer's queue held more than 300 ms.
    let framesSkippedForPacing = Atomic<Int>(0)
    /// Video packets sent again after a NACK.
    let retransmissions = Atomic<Int>(0)
    /// NACKed packets that could not be sent again: no longer held (older than the history)
    /// or asked for again within the resend interval.
    let retransmissionsNotHeld = Atomic<Int>(0)
    let retransmissionsTooSoon = Atomic<Int>(0)
    /// NACKed packets not sent again because the pacer's budget was far in debt (a saturated link).
    let retransmissionsRateLimited = Atomic<Int>(0)
    /// The round trip to the receiver of our video, from its reports (0: not measured yet).
    let roundTripNanoseconds = Atomic<Int>(0)
    /// The far end's last report on our video: the fraction lost (RFC 3550, /256), −1 before one came.
    let reportedFractionLost = Atomic<Int>(-1)
    /// What left with a transport-wide sequence number, for joining transport-cc feedback
    /// (audio thread, video thread and network thread record; the network thread joins).
    let transportHistory = Mutex(TransportSendHistory())

    /// The RTP clock of the newest frame and audio packet, for sender reports; nil before a
    /// stream's first packet, when it gets no report (a report's RTP time must follow the
    /// media's, RFC 3550 §6.4.1).
    let videoClock = Mutex<RTPClockMark?>(nil)
    let audioClock = Mutex<RTPClockMark?>(nil)
    /// Set once the video thread has given up on the camera for good.
    let videoStopped = Atomic<Bool>(false)

    /// Whether the camera may be open and its pictures sent. Only the privacy state (the
    /// physical switch) sets it; while false the video thread holds no camera at all.
    let cameraLive: Atomic<Bool>

    /// The microphone's mute button: while set, no audio is encoded or sent.
    let micMuted: Atomic<Bool>

    /// How many lines of the box's video anybody watches, as the bridge says
    /// (SenderSourceConstraints; −1 until it says): at 0 no video is encoded or sent while
    /// the camera stays live (the school's uplink is spared), and the picture is capped.
    let bridgeMaxHeight = Atomic<Int>(-1)

    init(videoBitrateKbps: Int, cameraLive: Bool = false, micMuted: Bool = false) {
        self.videoBitrateKbps = Atomic(videoBitrateKbps)
        self.cameraLive = Atomic(cameraLive)
        self.micMuted = Atomic(micMuted)
    }

    var isMicMuted: Bool { micMuted.load(ordering: .relaxed) }

    var isCameraLive: Bool { cameraLive.load(ordering: .relaxed) }

    func nextTransportSequence() -> UInt16 {
        UInt16(truncatingIfNeeded: transportSequence.wrappingAdd(1, ordering: .relaxed).oldValue)
    }

    /// Records a packet leaving at `now` with transport-wide `sequence`, `size` octets on the wire.
    func recordTransport(sequence: UInt16, size: Int, at now: UInt64) {
        transportHistory.withLock { $0.record(sequence: sequence, size: size, at: now) }
    }

    var isStopping: Bool { stopRequested.load(ordering: .relaxed) }

    func count(_ counter: borrowing Atomic<Int>, _ amount: Int = 1) {
        counter.wrappingAdd(amount, ordering: .relaxed)
    }

    /// A one-line summary for logs and the live status.
    var summary: String {
        "frames \(framesEncoded.load(ordering: .relaxed)) (keyframes \(keyframesSent.load(ordering: .relaxed))), "
            + "video \(videoPackets.load(ordering: .relaxed)) packets/\(videoBytes.load(ordering: .relaxed)) bytes, "
            + "audio \(audioPackets.load(ordering: .relaxed)) packets/\(audioBytes.load(ordering: .relaxed)) bytes, "
            + "send errors \(sendErrors.load(ordering: .relaxed))"
    }
}
