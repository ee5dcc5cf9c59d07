import RTP

/// Tunables of a `VideoFrameBuffer`, in nanoseconds of the caller's monotonic clock.
public struct VideoFrameBufferConfiguration: Sendable, Equatable {
    /// How long frames may wait behind a missing one for retransmission (NACK, RFC 4585) to
    /// repair it before the chain is given up and a key frame asked for. A NACK round trip to
    /// the bridge is tens of ms; libwebrtc waits for a frame's references for a similar time.
    public var gapTimeout: UInt64 = 200_000_000
    /// More frames than this waiting behind a gap also give the chain up (at 30 fps, 5 frames
    /// are 167 ms). Must stay below the assembler's slot count, since waiting frames hold slots.
    public var maximumWaitingFrames = 5
    /// The least time between key frame requests after the chain broke (a lost request or a
    /// lost key frame costs this much more freeze): libwebrtc's receiver asks again after
    /// 200 ms (`kMaxWaitForKeyFrame`, video_receive_stream2.h), the least the Videobridge
    /// passes on (`jmt.keyframe` min-interval). 300 ms here made a freeze with one such loss
    /// last ~570 ms through 5 % loss ...
    public var keyframeRequestInterval: UInt64 = 200_000_000
    /// ... and at the start, before the first key frame.
    public var startKeyframeRequestInterval: UInt64 = 500_000_000

    public init() {}
}

/// What the receive path is to do next, in the order given.
public enum VideoFrameBufferAction: Equatable, Sendable {
    /// Decode this frame now (frames come in decoding order), then release it as decoded.
    case decode(VP8Frame)
    /// Send a key frame request (RTCP PLI, RFC 4585 §6.3.1) to the sender.
    case requestKeyframe
    /// The frame can never be decoded: release it (not decoded).
    case drop(VP8Frame)
}

/// Counters of one buffer; they only grow.
public struct VideoFrameBufferStatistics: Sendable, Equatable {
    /// Frames handed to the decoder.
    public var decoded = 0
    public var dropped = 0
    public var keyframeRequests = 0
    /// Times the chain of decodable frames broke (a gap not repaired in time): the picture
    /// froze until the next key frame.
    public var freezes = 0

    public init(decoded: Int = 0, dropped: Int = 0, keyframeRequests: Int = 0, freezes: Int = 0) {
        self.decoded = decoded
        self.dropped = dropped
        self.keyframeRequests = keyframeRequests
        self.freezes = freezes
    }
}

/// Decides which completed VP8 frames of one stream go to the decoder, and when, on a clock
/// the caller supplies (`now`, monotonic ns): no threads, no timers of its own. The caller
/// calls `insert` for each frame the assembler completes and `poll` at `nextDeadline`.
///
/// A VP8 delta frame can only be decoded after the frames it refers to, so frames go out in
/// order along a chain that starts at a key frame. A delta frame continues the chain when
///   1. its first sequence number follows the last decoded frame's last one, or
///   2. its PictureID follows the last decoded frame's (mod 2^15 or 2^7, RFC 7741 §4.2) —
///      padding-only packets between frames use sequence numbers, not PictureIDs — or
///   3. it is a TL0 frame whose TL0PICIDX follows the last decoded TL0 frame's (TL0 frames
///      refer only to TL0 frames, so lost upper-layer frames do not matter), or
///   4. it is an upper-layer frame with Y=1 (layer sync: it refers only to TL0) whose
///      TL0PICIDX is that of the last decoded TL0 frame.
/// Upper-layer frames without Y need rule 1 or 2. The N bit is not used to skip a gap: a
/// lost frame's N bit is unknown, and rules 3–4 already let the chain pass over lost
/// upper-layer frames where that is safe. A key frame always decodes and starts a new chain
/// (a new resolution, when the bridge switches simulcast layers, is just that).
///
/// A frame that does not continue the chain waits: a retransmission may yet fill the gap.
/// When the gap lasts `gapTimeout`, or more than `maximumWaitingFrames` wait, the chain is
/// broken: the waiting frames are dropped and a key frame is requested, again every
/// `keyframeRequestInterval` until one comes. At the start the buffer asks for a key frame at
/// once and every `startKeyframeRequestInterval` until one is decoded (as libwebrtc does).
/// While no chain exists, delta frames are held (up to `maximumWaitingFrames`, the oldest
/// dropped first) rather than dropped at once, as libwebrtc stashes them: a key frame repaired
/// by retransmission completes after the frames that follow it, which then continue its chain;
/// frames older than the key frame are dropped when it comes.
///
/// Holds frames in an array sized at init: no allocation per frame.
public struct VideoFrameBuffer: Sendable {
    /// The chain's end: what the next delta frame must follow.
    struct ChainEnd: Sendable {
        var timestamp: UInt32
        var lastSequence: UInt16
        var pictureID: UInt16?
        var pictureIDIs15Bit: Bool
        /// TL0PICIDX of the last decoded TL0 frame of this chain, when the stream has layers.
        var baseTL0PictureIndex: UInt8?
    }

    public let configuration: VideoFrameBufferConfiguration
    public private(set) var statistics = VideoFrameBufferStatistics()
    /// Frames waiting, oldest (RTP timestamp) first.
    private var waiting: [VP8Frame] = []
    private var chainEnd: ChainEnd?
    /// False until a key frame is decoded, and from a break until the next key frame.
    private var decoding = false
    /// When the current gap began to hold frames back (decoding only).
    private var gapSince: UInt64?
    private var lastKeyframeRequest: UInt64?
    /// The resolution of the last decoded key frame.
    public private(set) var width: UInt16?
    public private(set) var height: UInt16?

    public init(configuration: VideoFrameBufferConfiguration = VideoFrameBufferConfiguration()) {
        precondition(configuration.maximumWaitingFrames > 0, "frames must be able to wait")
        self.configuration = configuration
        waiting.reserveCapacity(configuration.maximumWaitingFrames + 1)
    }

    /// True until a key frame is decoded, and again from a break until the next one.
    public var isWaitingForKeyframe: Bool { !decoding }

    /// Frames held, waiting for a gap to close or for a key frame.
    public var waitingFrameCount: Int { waiting.count }

    /// When `poll` has something to do next (a gap's timeout or a key frame request; 0 when a
    /// request is due at once), nil when nothing is pending.
    public var nextDeadline: UInt64? {
        if decoding { return gapSince.map { $0 &+ configuration.gapTimeout } }
        return lastKeyframeRequest.map { $0 &+ requestInterval } ?? 0
    }

    /// Takes a frame the assembler completed; `act` receives what to do, in order.
    public mutating func insert(_ frame: VP8Frame, now: UInt64, _ act: (VideoFrameBufferAction) -> Void) {
        if let chainEnd, Int32(bitPattern: frame.timestamp &- chainEnd.timestamp) <= 0 {
            drop(frame, act)  // completed after a newer frame was decoded: nothing can use it
        } else if frame.isKeyframe {
            startChain(at: frame, act)
        } else {
            hold(frame, now: now, act)
        }
        drain(now: now, act)
        poll(now: now, act)
    }

    /// Runs the clock: breaks a chain whose gap has lasted too long, repeats key frame requests.
    public mutating func poll(now: UInt64, _ act: (VideoFrameBufferAction) -> Void) {
        if decoding {
            guard let gapSince, now >= gapSince, now - gapSince >= configuration.gapTimeout else { return }
            breakChain(now: now, act)
        } else if let last = lastKeyframeRequest, now < last || now - last < requestInterval {
            return
        } else {
            requestKeyframe(now: now, act)
        }
    }

    /// The decoder refused a frame handed out (corrupt data that still assembled): its chain
    /// cannot go on, so it breaks as after an unrepaired gap and a key frame is asked for.
    public mutating func decodingFailed(now: UInt64, _ act: (VideoFrameBufferAction) -> Void) {
        guard decoding else { return }
        breakChain(now: now, act)
    }

    // MARK: - The chain

    private var requestInterval: UInt64 {
        statistics.freezes == 0 ? configuration.startKeyframeRequestInterval : configuration.keyframeRequestInterval
    }

    /// A key frame: older waiting frames can never be decoded; newer ones may follow it.
    private mutating func startChain(at keyframe: VP8Frame, _ act: (VideoFrameBufferAction) -> Void) {
        while let oldest = waiting.first, Int32(bitPattern: oldest.timestamp &- keyframe.timestamp) < 0 {
            drop(waiting.removeFirst(), act)
        }
        decoding = true
        chainEnd = nil
        width = keyframe.width
        height = keyframe.height
        decode(keyframe, act)
    }

    /// Adds a delta frame to the waiting frames in timestamp order (a second copy is dropped);
    /// beyond the limit, a waiting chain breaks, and without a chain the oldest is dropped.
    private mutating func hold(_ frame: VP8Frame, now: UInt64, _ act: (VideoFrameBufferAction) -> Void) {
        let position = waiting.firstIndex { Int32(bitPattern: $0.timestamp &- frame.timestamp) >= 0 } ?? waiting.endIndex
        if position < waiting.endIndex && waiting[position].timestamp == frame.timestamp { return drop(frame, act) }
        waiting.insert(frame, at: position)
        // Frames that continue the chain leave at once (drain), so only gapped ones count here.
        if waiting.count > configuration.maximumWaitingFrames && !(decoding && nextInChain() != nil) {
            if decoding { breakChain(now: now, act) } else { drop(waiting.removeFirst(), act) }
        }
    }

    /// Hands out waiting frames for as long as one continues the chain. Usually that is the
    /// oldest; when a later one does (rules 3–4: lost upper-layer frames), the older ones can
    /// no longer be decoded in order and are dropped, as libwebrtc decodes the next decodable
    /// frame. Frames left behind wait for a new gap, whose time starts now if the chain moved.
    private mutating func drain(now: UInt64, _ act: (VideoFrameBufferAction) -> Void) {
        guard decoding else { return }
        var moved = false
        while let next = nextInChain() {
            for _ in 0..<next { drop(waiting.removeFirst(), act) }
            decode(waiting.removeFirst(), act)
            moved = true
        }
        if waiting.isEmpty {
            gapSince = nil
        } else if moved || gapSince == nil {
            gapSince = now
        }
    }

    /// The first waiting frame that continues the chain. A plain loop: a method passed as a
    /// closure would copy `self` into a heap box in unoptimised builds.
    private func nextInChain() -> Int? {
        for index in waiting.indices where continuesChain(waiting[index]) { return index }
        return nil
    }

    /// Rules 1–4 of the type's description.
    private func continuesChain(_ frame: VP8Frame) -> Bool {
        guard let end = chainEnd else { return false }
        if frame.firstSequence == end.lastSequence &+ 1 { return true }
        if let pictureID = frame.pictureID, let previous = end.pictureID, frame.pictureIDIs15Bit == end.pictureIDIs15Bit {
            let mask: UInt16 = frame.pictureIDIs15Bit ? 0x7FFF : 0x7F
            if pictureID == (previous &+ 1) & mask { return true }
        }
        if let index = frame.tl0PictureIndex, let layer = frame.temporalLayer, let base = end.baseTL0PictureIndex {
            if layer == 0 && index == base &+ 1 { return true }
            if layer > 0 && frame.layerSync && index == base { return true }
        }
        return false
    }

    private mutating func decode(_ frame: VP8Frame, _ act: (VideoFrameBufferAction) -> Void) {
        var base = chainEnd?.baseTL0PictureIndex
        if frame.temporalLayer == 0 || frame.isKeyframe { base = frame.tl0PictureIndex }
        chainEnd = ChainEnd(timestamp: frame.timestamp, lastSequence: frame.lastSequence, pictureID: frame.pictureID,
                            pictureIDIs15Bit: frame.pictureIDIs15Bit, baseTL0PictureIndex: base)
        lastKeyframeRequest = nil
        statistics.decoded += 1
        act(.decode(frame))
    }

    private mutating func drop(_ frame: VP8Frame, _ act: (VideoFrameBufferAction) -> Void) {
        statistics.dropped += 1
        act(.drop(frame))
    }

    /// The gap will not be repaired: drop what waits behind it and ask for a key frame.
    private mutating func breakChain(now: UInt64, _ act: (VideoFrameBufferAction) -> Void) {
        statistics.freezes += 1
        decoding = false
        gapSince = nil
        while !waiting.isEmpty { drop(waiting.removeFirst(), act) }
        requestKeyframe(now: now, act)
    }

    private mutating func requestKeyframe(now: UInt64, _ act: (VideoFrameBufferAction) -> Void) {
        lastKeyframeRequest = now
        statistics.keyframeRequests += 1
        act(.requestKeyframe)
    }
}
