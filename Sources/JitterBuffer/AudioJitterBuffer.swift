import Wire

/// The received packets of one audio source (one SSRC), waiting for their playout time.
///
/// A ring of slots indexed by `sequence % slotCount`, each with a fixed 1500-byte payload area,
/// all allocated at init (research note `receive-audio.md` §2.2), so `insert` never touches
/// the heap: it runs on the audio thread, fed from the network thread through a queue.
/// `AudioPlayout` takes packets out of it in playout order; the playout position
/// (`nextSequence`, `playTimestamp`) lives here so that `insert` can tell a late packet.
///
/// Sequence and timestamp arithmetic is modular (RFC 3550 App. A.1, RFC 1982); a timestamp
/// jump over 5 s or a sequence jump beyond RFC 3550's `MAX_DROPOUT`/`MAX_MISORDER` restarts
/// the stream, as does a ring overflow (NetEq flushes its packet buffer when full too).
public struct AudioJitterBuffer: ~Copyable {
    enum SlotState: UInt8 { case empty, stored, consumed }

    struct Slot {
        var state: SlotState = .empty
        var sequence: UInt16 = 0
        var timestamp: UInt32 = 0
        var duration: Int = 0
        var length: Int = 0
        var level: UInt8? = nil
        var marker = false
        var arrival: UInt64 = 0
    }

    public let configuration: JitterBufferConfiguration
    let slots: UnsafeMutablePointer<Slot>
    private let payloads: UnsafeMutableRawPointer
    private let mask: Int
    var delay: DelayManager
    public internal(set) var statistics = JitterBufferStatistics()

    /// The next sequence number to play and the RTP time of the next sample to decode.
    private(set) var nextSequence: UInt16 = 0
    private(set) var playTimestamp: UInt32 = 0
    /// False until the first packet; then the position only moves back (for reordering at the
    /// start) until the playout starts and locks it.
    private(set) var anchored = false
    private(set) var positionLocked = false
    private(set) var storedCount = 0
    /// The end (timestamp + duration) of the newest stored packet.
    private var newestEnd: UInt32 = 0
    /// Bumped on every restart, so the playout drops its decoded samples and decoder state.
    private(set) var generation = 0

    // Loss accounting for the current stream (RFC 3550 App. A.3 minus silence gaps).
    private var unwrapper = SequenceUnwrapper()
    private var baseSequence: Int64 = 0
    private var highestSequence: Int64 = 0
    private var highestTimestamp: UInt32 = 0
    private var highestWasSilent = false
    private var uniqueReceived: Int64 = 0
    private var silenceGap: Int64 = 0
    private var lostBeforeRestart = 0
    private var silenceGapBeforeRestart = 0

    public init(configuration: JitterBufferConfiguration = JitterBufferConfiguration()) {
        precondition(configuration.slotCount > 0 && configuration.slotCount & (configuration.slotCount - 1) == 0,
                     "slotCount must be a power of two")
        self.configuration = configuration
        mask = configuration.slotCount - 1
        slots = .allocate(capacity: configuration.slotCount)
        slots.initialize(repeating: Slot(), count: configuration.slotCount)
        payloads = .allocate(byteCount: configuration.slotCount * configuration.maximumPayloadBytes, alignment: 16)
        delay = DelayManager(configuration: configuration)
        statistics.targetDelayMilliseconds = configuration.startTargetMilliseconds
    }

    deinit {
        slots.deallocate()
        payloads.deallocate()
    }

    /// The current target delay (ms), from the arrival statistics.
    public var targetDelayMilliseconds: Int { delay.targetMilliseconds }

    /// Stores one received packet. `duration` is in samples, from the codec
    /// (`opus_packet_get_nb_samples`); `audioLevel` is the RFC 6464 level (−dBov) if the
    /// extension was present; `arrival` is the monotonic receive time in ns.
    public mutating func insert(sequence: UInt16, timestamp: UInt32, duration: Int, audioLevel: UInt8?,
                                marker: Bool, payload: UnsafeRawBufferPointer, arrival: UInt64) -> InsertOutcome {
        guard !payload.isEmpty, payload.count <= configuration.maximumPayloadBytes, duration > 0,
              duration <= configuration.maximumPacketSamples, duration % configuration.durationGranularity == 0,
              payload.baseAddress != nil else {
            statistics.invalid += 1
            return .invalid
        }
        statistics.received += 1
        if anchored && isRestart(sequence: sequence, timestamp: timestamp) {
            restart(counted: true)
        }
        let silent = (audioLevel.map { $0 >= configuration.silenceLevel } ?? false) || payload.count <= configuration.dtxMaximumBytes
        let outcome = place(sequence: sequence, timestamp: timestamp, duration: duration, arrival: arrival)
        if outcome != .duplicate {
            let afterSilenceGap = account(sequence: sequence, timestamp: timestamp, marker: marker, silent: silent)
            if afterSilenceGap { delay.forgetHistory() }
            delay.update(timestamp: timestamp, arrival: arrival)
        }
        switch outcome {
        case .duplicate: statistics.duplicates += 1
        case .late: statistics.late += 1
        case .stored: store(sequence: sequence, timestamp: timestamp, duration: duration, level: audioLevel,
                            marker: marker, payload: payload, arrival: arrival)
        case .invalid: break
        }
        statistics.targetDelayMilliseconds = delay.targetMilliseconds
        return outcome
    }

    private func isRestart(sequence: UInt16, timestamp: UInt32) -> Bool {
        let jump = Int64(Int32(bitPattern: timestamp &- highestTimestamp))
        let limit = Int64(configuration.resetTimestampJumpMilliseconds) * Int64(configuration.samplesPerMillisecond)
        let distance = SequenceNumber.distance(from: UInt16(truncatingIfNeeded: highestSequence), to: sequence)
        return abs(jump) > limit || distance > configuration.maximumSequenceJump || distance < -configuration.maximumMisorder
    }

    /// Decides whether the packet can be stored; may move the anchor or restart on overflow.
    private mutating func place(sequence: UInt16, timestamp: UInt32, duration: Int, arrival: UInt64) -> InsertOutcome {
        guard anchored else {
            anchored = true
            nextSequence = sequence
            playTimestamp = timestamp
            return .stored
        }
        let slot = slots[Int(sequence) & mask]
        if slot.state != .empty && slot.sequence == sequence { return .duplicate }
        let distance = SequenceNumber.distance(from: nextSequence, to: sequence)
        if distance < 0 {
            guard !positionLocked, -distance < configuration.slotCount - storedSpanInSequence else { return .late }
            // Reordered before the first packet, before playout started: start from it instead.
            nextSequence = sequence
            playTimestamp = timestamp
            return .stored
        }
        if positionLocked && Int32(bitPattern: timestamp &+ UInt32(duration) &- playTimestamp) <= 0 { return .late }
        if distance >= configuration.slotCount {
            guard storedCount == 0 else {
                // The ring overflowed: the playout stalled or the stream jumped (NetEq flushes).
                restart(counted: true)
                return place(sequence: sequence, timestamp: timestamp, duration: duration, arrival: arrival)
            }
            // Nothing waits (a long silence gap): move the window; the playout re-buffers.
            nextSequence = sequence
        }
        return .stored
    }

    /// How many sequence numbers the stored packets span from `nextSequence`.
    private var storedSpanInSequence: Int {
        var span = 0
        for offset in 0..<configuration.slotCount {
            let sequence = nextSequence &+ UInt16(truncatingIfNeeded: offset)
            let slot = slots[Int(sequence) & mask]
            if slot.state == .stored && slot.sequence == sequence { span = offset + 1 }
        }
        return span
    }

    private mutating func store(sequence: UInt16, timestamp: UInt32, duration: Int, level: UInt8?, marker: Bool,
                                payload: UnsafeRawBufferPointer, arrival: UInt64) {
        let index = Int(sequence) & mask
        if slots[index].state == .stored { storedCount -= 1 }  // an older packet, outside the window
        (payloads + index * configuration.maximumPayloadBytes).copyMemory(from: payload.baseAddress!, byteCount: payload.count)
        slots[index] = Slot(state: .stored, sequence: sequence, timestamp: timestamp, duration: duration,
                            length: payload.count, level: level, marker: marker, arrival: arrival)
        let end = timestamp &+ UInt32(duration)
        if storedCount == 0 || Int32(bitPattern: end &- newestEnd) > 0 { newestEnd = end }
        storedCount += 1
    }

    /// Updates the loss counters; true when the packet ends a silence gap (a sequence gap after
    /// a silent or DTX packet, or a gap before a marker packet, RFC 3551 §4.1 talkspurt start).
    private mutating func account(sequence: UInt16, timestamp: UInt32, marker: Bool, silent: Bool) -> Bool {
        let extended = unwrapper.unwrap(sequence)
        var afterSilenceGap = false
        if uniqueReceived == 0 {
            baseSequence = extended
            highestSequence = extended
            highestTimestamp = timestamp
            highestWasSilent = silent
        } else if extended > highestSequence {
            let gap = extended - highestSequence - 1
            if gap > 0 && (highestWasSilent || marker) {
                silenceGap += gap
                afterSilenceGap = true
            }
            highestSequence = extended
            highestTimestamp = timestamp
            highestWasSilent = silent
        }
        uniqueReceived += 1
        statistics.lost = lostBeforeRestart + Int(max(0, highestSequence - baseSequence + 1 - silenceGap - uniqueReceived))
        statistics.silenceGapPackets = silenceGapBeforeRestart + Int(silenceGap)
        return afterSilenceGap
    }

    /// Forgets every packet and the playout position: a new stream starts with the next packet.
    public mutating func restart(counted: Bool = false) {
        for index in 0..<configuration.slotCount { slots[index].state = .empty }
        storedCount = 0
        anchored = false
        positionLocked = false
        generation += 1
        if counted { statistics.resets += 1 }
        lostBeforeRestart = statistics.lost
        silenceGapBeforeRestart = statistics.silenceGapPackets
        unwrapper = SequenceUnwrapper()
        uniqueReceived = 0
        silenceGap = 0
        delay.forgetHistory()
    }

    /// Back to the state of a new buffer (no packets, no history, counters at zero), without
    /// allocating: the buffer is about to serve another source.
    public mutating func reuse() {
        restart()
        lostBeforeRestart = 0
        silenceGapBeforeRestart = 0
        delay.reset()
        statistics = JitterBufferStatistics()
        statistics.targetDelayMilliseconds = configuration.startTargetMilliseconds
    }

    // MARK: - For the playout

    /// Slot index of the first stored packet at or after `nextSequence`, within the ring.
    func firstStoredIndex() -> Int? {
        guard storedCount > 0 else { return nil }
        for offset in 0..<configuration.slotCount {
            let sequence = nextSequence &+ UInt16(truncatingIfNeeded: offset)
            let index = Int(sequence) & mask
            if slots[index].state == .stored && slots[index].sequence == sequence { return index }
        }
        return nil
    }

    func payload(at index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: payloads + index * configuration.maximumPayloadBytes, count: slots[index].length)
    }

    /// Marks a packet played (kept as `consumed` so a copy arriving later is a duplicate).
    mutating func consume(at index: Int) {
        slots[index].state = .consumed
        storedCount -= 1
    }

    /// The playout moves to `sequence`/`timestamp` and from now on decides what is late.
    mutating func setPosition(sequence: UInt16, timestamp: UInt32) {
        nextSequence = sequence
        playTimestamp = timestamp
        positionLocked = true
    }

    /// Media time stored ahead of the playout position, in samples.
    var bufferedSamples: Int {
        guard storedCount > 0 else { return 0 }
        return max(0, Int(Int32(bitPattern: newestEnd &- playTimestamp)))
    }

    /// Media time stored from the first waiting packet to the end of the newest, in samples:
    /// what buffering compares with the target.
    func storedSpanSamples(from index: Int) -> Int {
        max(0, Int(Int32(bitPattern: newestEnd &- slots[index].timestamp)))
    }

}

extension AudioJitterBuffer: @unchecked Sendable {}
