#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One remote audio source's playout: the jitter buffer, the decoder and a small FIFO of
/// decoded samples, asked for one 10 ms block per tick of the playback thread.
///
/// The decisions follow libwebrtc NetEq `decision_logic.cc` in spirit (normal, expand,
/// accelerate, preemptive expand, postpone after an expand) but use what Opus and speech give
/// for free (research note `receive-audio.md` §2.2): Opus PLC conceals and re-enters smoothly,
/// so there is no separate merge; in-band FEC rebuilds a single lost packet from the next one;
/// and speech pauses let the delay move by whole 10 ms blocks unheard. Only when the delay is
/// far above target for long is speech shortened, by whole pitch periods (2.5–10 ms) joined
/// with a 2.5 ms cross-fade, as NetEq's accelerate does.
///
/// The delay is measured as NetEq's *playout delay*: how long after the earliest-arriving
/// packet of the last 2 s would have delivered it a sample is played. At the ideal point that
/// equals the target whatever the jitter, unlike the number of buffered milliseconds.
///
/// `render` and `insert` allocate nothing: the FIFO and the cross-fade window are allocated
/// at init, the buffer's slots too.
public struct AudioPlayout<Decoder: AudioFrameDecoder>: ~Copyable {
    enum State { case buffering, playing }

    var buffer: AudioJitterBuffer
    public var decoder: Decoder
    private let configuration: JitterBufferConfiguration
    /// Owns the sample memory below (a non-generic owner: see `PlayoutMemory`).
    private let memory: PlayoutMemory
    private let fifo: UnsafeMutablePointer<Float>
    private var fifoStart = 0
    private var fifoEnd = 0
    private var fifoKind = BlockKind.normal
    private var fifoQuiet = false
    /// The fade-out half of the raised-cosine cross-fade, computed once.
    private let fadeOut: UnsafeMutablePointer<Float>
    private let fadeLength: Int
    /// `quietRMSDecibels` as a mean-square threshold.
    private let quietPower: Float
    private var state = State.buffering
    private var generation = 0
    /// Samples concealed in a row with nothing buffered: past the limit, playout re-buffers.
    private var emptyConcealment = 0
    /// The last decoded packet was silence or DTX: what follows a gap is silence, not loss.
    private var inSilence = false
    private(set) var filteredDelay: Double?
    private var blocksFarAboveTarget = 0
    private var blocksFarBelowTarget = 0

    public init(decoder: Decoder, configuration: JitterBufferConfiguration = JitterBufferConfiguration()) {
        self.configuration = configuration
        self.decoder = decoder
        buffer = AudioJitterBuffer(configuration: configuration)
        fadeLength = max(1, min(configuration.crossFadeSamples, configuration.blockSamples))
        // The FIFO holds at most two undelivered blocks (a drop looks ahead up to 12.5 ms)
        // plus the longest packet.
        let fifoCapacity = configuration.maximumPacketSamples + 2 * configuration.blockSamples
        memory = PlayoutMemory(count: fifoCapacity + fadeLength)
        fifo = memory.samples
        fadeOut = fifo + fifoCapacity
        for index in 0..<fadeLength {
            fadeOut[index] = Float(0.5 * (1 + cos(Double.pi * (Double(index) + 0.5) / Double(fadeLength))))
        }
        quietPower = Float(pow(10, Double(configuration.quietRMSDecibels) / 10))
    }

    /// Back to the state of a new playout, for another source, without allocating: the
    /// receiver keeps a fixed pool of playouts so a new speaker costs the audio thread nothing.
    public mutating func reuse() {
        buffer.reuse()
        startOver()
        fifoKind = .normal
        fifoQuiet = false
        emptyConcealment = 0
        filteredDelay = nil
        blocksFarAboveTarget = 0
        blocksFarBelowTarget = 0
    }

    /// The buffer restarted (or was reused): decoded samples and decoder state belong to the
    /// old stream.
    private mutating func startOver() {
        generation = buffer.generation
        fifoStart = 0
        fifoEnd = 0
        state = .buffering
        inSilence = false
        decoder.reset()
    }

    public var statistics: JitterBufferStatistics { buffer.statistics }
    public var targetDelayMilliseconds: Int { buffer.targetDelayMilliseconds }

    /// See `AudioJitterBuffer.insert`.
    public mutating func insert(sequence: UInt16, timestamp: UInt32, duration: Int, audioLevel: UInt8?,
                                marker: Bool, payload: UnsafeRawBufferPointer, arrival: UInt64) -> InsertOutcome {
        buffer.insert(sequence: sequence, timestamp: timestamp, duration: duration, audioLevel: audioLevel,
                      marker: marker, payload: payload, arrival: arrival)
    }

    /// Fills `output` (exactly `blockSamples`, 10 ms) with the next block, played at `now`
    /// (monotonic ns, the same clock as the arrival times).
    public mutating func render(into output: UnsafeMutableBufferPointer<Float>, now: UInt64) -> BlockKind {
        precondition(output.count == configuration.blockSamples, "render wants exactly one block")
        if buffer.generation != generation { startOver() }
        if state == .buffering && !startIfReady(now: now) {
            output.update(repeating: 0)
            finish(.buffering)
            return .buffering
        }
        measureDelay(now: now)
        let target = Double(buffer.targetDelayMilliseconds)
        let block = Double(configuration.blockSamples / configuration.samplesPerMillisecond)
        let delay = filteredDelay ?? target

        // Grow in a quiet moment, at a packet boundary so PLC continues the last frame; in
        // speech too when far below target for a while (NetEq's preemptive expand, here one
        // concealed block at a packet boundary, at most one per 100 ms): a speaker who never
        // pauses would otherwise keep the delay the stream started with and run dry on every
        // packet later than that — each an unplanned concealment instead of a planned one.
        let belowBand = delay < target - Double(configuration.expandMarginMilliseconds)
        blocksFarBelowTarget = belowBand ? blocksFarBelowTarget + 1 : 0
        let farTooShort = blocksFarBelowTarget * Int(block) >= configuration.forcedExpandAfterMilliseconds
        if fifoCount == 0 && ((fifoQuiet && belowBand) || farTooShort) && buffer.storedCount > 0 {
            if !fifoQuiet { blocksFarBelowTarget -= 100 / Int(block) }
            conceal(into: output, samples: output.count)
            buffer.statistics.expandedBlocks += 1
            filteredDelay = delay + block
            finish(.expanded)
            return .expanded
        }

        var kind = nextBlock(into: output)
        let quiet = fifoQuiet || kind == .silence
        let aboveBand = delay > target + Double(configuration.accelerateMarginMilliseconds)
        blocksFarAboveTarget = aboveBand ? blocksFarAboveTarget + 1 : 0
        let farTooLong = blocksFarAboveTarget * Int(block) >= configuration.forcedAccelerateAfterMilliseconds
        if state == .playing && canServeAnotherBlock && (kind == .normal || kind == .silence || kind == .fecRecovered) {
            if quiet && aboveBand {
                _ = nextBlock(into: output)  // the quiet block is dropped
                kind = .accelerated
                buffer.statistics.acceleratedBlocks += 1
                filteredDelay = delay - block
            } else if !quiet && farTooLong, case let dropped = dropPitchPeriods(), dropped > 0 {
                kind = .acceleratedCrossFade
                buffer.statistics.acceleratedBlocks += 1
                buffer.statistics.crossFadedBlocks += 1
                filteredDelay = delay - Double(dropped) / Double(configuration.samplesPerMillisecond)
                // At most one forced drop per 100 ms while still far above target.
                blocksFarAboveTarget -= 100 / Int(block)
            }
        }
        finish(kind)
        return kind
    }

    // MARK: - Decisions

    private var fifoCount: Int { fifoEnd - fifoStart }

    /// Buffering (NetEq "postpone decoding"): wait until the media stored *after* the first
    /// packet reaches the target — on a steady stream that is when the first packet has waited
    /// the target, so playback starts at a playout delay equal to the target (counting the
    /// first packet's own 20 ms would start one packet short of it, and every packet as late
    /// as the target allows would run the buffer dry). Packets older than needed for it are
    /// dropped, so playback restarts at the target delay after a long silence instead of
    /// replaying stale DTX frames.
    /// Also starts once the oldest packet has waited the target, without more behind it:
    /// a talkspurt shorter than the target (a DTX sender's "yes") is played then,
    /// instead of waiting for the next talkspurt and being dropped as too old.
    private mutating func startIfReady(now: UInt64) -> Bool {
        let target = buffer.targetDelayMilliseconds * configuration.samplesPerMillisecond
        while let index = buffer.firstStoredIndex() {
            let slot = buffer.slots[index]
            let span = buffer.storedSpanSamples(from: index)
            let waited = now >= slot.arrival && now - slot.arrival >= UInt64(buffer.targetDelayMilliseconds) * 1_000_000
            let ahead = span - slot.duration
            guard ahead >= target || waited else { return false }
            if ahead - slot.duration >= target {
                buffer.consume(at: index)
                buffer.setPosition(sequence: slot.sequence &+ 1, timestamp: slot.timestamp &+ UInt32(slot.duration))
                continue
            }
            buffer.setPosition(sequence: slot.sequence, timestamp: slot.timestamp)
            state = .playing
            emptyConcealment = 0
            filteredDelay = nil
            return true
        }
        return false
    }

    /// Whether the next stored packet continues the media without a gap (or is too late and
    /// is dropped): fetching it conceals nothing.
    private var nextPacketIsDue: Bool {
        guard let index = buffer.firstStoredIndex() else { return false }
        return gap(before: buffer.slots[index]) < configuration.blockSamples
    }

    /// Samples of media time between the playout position and `slot` (negative: its time passed).
    private func gap(before slot: AudioJitterBuffer.Slot) -> Int {
        Int(Int32(bitPattern: slot.timestamp &- buffer.playTimestamp))
    }

    /// Whether a further block can be had without concealment (to drop the current one).
    private var canServeAnotherBlock: Bool {
        fifoCount >= configuration.blockSamples || buffer.storedCount > 0
    }

    /// The next 10 ms from the FIFO, decoding, rebuilding or concealing as needed.
    private mutating func nextBlock(into output: UnsafeMutableBufferPointer<Float>) -> BlockKind {
        while fifoCount < configuration.blockSamples {
            fetch()
        }
        output.baseAddress!.update(from: fifo + fifoStart, count: configuration.blockSamples)
        fifoStart += configuration.blockSamples
        if fifoStart == fifoEnd {
            fifoStart = 0
            fifoEnd = 0
        }
        return fifoKind
    }

    /// Appends to the FIFO what the next media time needs: one decoded packet, an FEC rebuild,
    /// or concealment up to the end of the current block.
    private mutating func fetch() {
        let missing = configuration.blockSamples - fifoCount
        guard let index = buffer.firstStoredIndex() else {
            emptyConcealment += missing
            if emptyConcealment >= configuration.maximumConcealmentMilliseconds * configuration.samplesPerMillisecond {
                state = .buffering  // from the next block: zeros, not endless PLC
            }
            if inSilence {
                appendConcealment(samples: missing, kind: .silence)
            } else {
                // Ran dry in speech: the next packet is late, not lost (nothing after it came
                // either). As NetEq's expand, conceal without moving the media position, so
                // that packet is played when it comes and the delay has grown by the wait,
                // rather than dropped as late (which would repeat with every late packet).
                appendConcealment(samples: missing, kind: .concealed, advancing: false)
            }
            return
        }
        emptyConcealment = 0
        let slot = buffer.slots[index]
        let gap = gap(before: slot)
        if gap + slot.duration <= 0 {
            // Its time passed while it waited behind a gap: too late to play.
            buffer.consume(at: index)
            buffer.statistics.late += 1
        } else if gap < configuration.blockSamples {
            decode(at: index)
        } else if slot.sequence != buffer.nextSequence && !inSilence && gap <= slot.duration
                    && gap % configuration.durationGranularity == 0 {
            // The packet just before this one is missing and due now: rebuild it from this
            // packet's in-band FEC (LBRR), which carries exactly the previous frame; without
            // LBRR in it (FEC off at the sender, CELT-only), plain concealment.
            if !decoder.hasFEC(buffer.payload(at: index)) {
                appendConcealment(samples: gap, kind: .concealed)
            } else if decodeIntoFIFO(buffer.payload(at: index), fec: true, samples: gap) != nil {
                fifoKind = .fecRecovered
                fifoQuiet = false
                buffer.statistics.fecRecovered += 1
            } else {
                buffer.statistics.decoderFailures += 1
                appendConcealment(samples: gap, kind: .concealed)
            }
            buffer.setPosition(sequence: slot.sequence, timestamp: slot.timestamp)
        } else {
            // A gap in media time: a DTX pause (consecutive sequence), a silence gap the bridge
            // made, or loss. Conceal up to the end of the block.
            // Earlier lost frames are concealed; the last one before `slot` is left to its FEC.
            let silence = inSilence || slot.marker || slot.sequence == buffer.nextSequence
            let beforeFEC = silence ? missing : gap - slot.duration
            appendConcealment(samples: beforeFEC > 0 ? min(missing, beforeFEC) : missing, kind: silence ? .silence : .concealed)
        }
    }

    private mutating func decode(at index: Int) {
        let slot = buffer.slots[index]
        let packetQuiet = slot.length <= configuration.dtxMaximumBytes
            || (slot.level.map { $0 >= configuration.quietLevel } ?? false)
        compactFIFO()  // first, so `start` stays where the decoded samples land
        let start = fifoEnd
        if decodeIntoFIFO(buffer.payload(at: index), fec: false, samples: slot.duration) != nil {
            fifoKind = .normal
            fifoQuiet = packetQuiet || isQuiet(fifo + start, count: slot.duration)
        } else {
            buffer.statistics.decoderFailures += 1
            appendConcealment(samples: slot.duration, kind: .concealed)
        }
        inSilence = slot.length <= configuration.dtxMaximumBytes
            || (slot.level.map { $0 >= configuration.silenceLevel } ?? false)
        buffer.consume(at: index)
        buffer.setPosition(sequence: slot.sequence &+ 1, timestamp: slot.timestamp &+ UInt32(slot.duration))
    }

    /// Decodes into the FIFO's tail, always appending exactly `samples` (padding a short
    /// decode with zeros) so media time stays exact. Nil when the decoder failed.
    private mutating func decodeIntoFIFO(_ packet: UnsafeRawBufferPointer, fec: Bool, samples: Int) -> Int? {
        compactFIFO()
        let tail = UnsafeMutableBufferPointer(start: fifo + fifoEnd, count: samples)
        guard let written = decoder.decode(packet, fec: fec, into: tail, samples: samples), written > 0 else { return nil }
        let kept = min(written, samples)
        if kept < samples { (fifo + fifoEnd + kept).update(repeating: 0, count: samples - kept) }
        fifoEnd += samples
        return kept
    }

    /// Codec PLC for `samples` of media time; the playout timestamp advances over it, except
    /// for an expansion (`advancing: false`), which stretches the playout and is counted.
    private mutating func appendConcealment(samples: Int, kind: BlockKind, advancing: Bool = true) {
        compactFIFO()
        conceal(into: UnsafeMutableBufferPointer(start: fifo + fifoEnd, count: samples), samples: samples)
        fifoEnd += samples
        fifoKind = kind
        fifoQuiet = kind == .silence
        if advancing {
            buffer.setPosition(sequence: buffer.nextSequence, timestamp: buffer.playTimestamp &+ UInt32(samples))
        } else {
            buffer.statistics.expandedSamples += samples
        }
    }

    private mutating func conceal(into output: UnsafeMutableBufferPointer<Float>, samples: Int) {
        let written = min(samples, max(0, decoder.conceal(into: output, samples: samples) ?? 0))
        if written < samples { (output.baseAddress! + written).update(repeating: 0, count: samples - written) }
    }

    private mutating func compactFIFO() {
        guard fifoStart > 0 else { return }
        let count = fifoCount
        fifo.update(from: fifo + fifoStart, count: count)
        fifoStart = 0
        fifoEnd = count
    }

    /// Shortens what is still to be played, in speech, by whole pitch periods (NetEq's
    /// accelerate, `accelerate.cc`/`time_stretch.cc`): the block just taken is played as it
    /// is, and the FIFO after it skips the lag between 2.5 and 10 ms at which the coming
    /// signal best repeats itself (the highest normalised correlation; of lags within 5 % of
    /// it, the longest). A voice or a tone so loses whole periods and keeps its phase, where
    /// cutting exactly 10 ms out of a 660 Hz tone shifts it by 216° and the cross-fade all but
    /// cancels it for a moment. The join is a 2.5 ms raised-cosine cross-fade. Returns the
    /// samples dropped.
    private mutating func dropPitchPeriods() -> Int {
        let window = fadeLength
        // At most one block, as the 10 ms drop before: the delay is never moved further in one step.
        let minimumLag = configuration.blockSamples / 4, maximumLag = configuration.blockSamples
        // Look ahead only into packets already there in sequence: a packet merely late must
        // not be concealed before its time.
        while fifoCount < maximumLag + window, nextPacketIsDue { fetch() }
        let longest = min(maximumLag, fifoCount - window)
        guard longest >= minimumLag else { return 0 }
        let head = fifo + fifoStart
        var headEnergy: Float = 0
        for index in 0..<window { headEnergy += head[index] * head[index] }
        var (best, chosen): (Float, Int) = (-.infinity, 0)
        // Two passes without storing every lag: the best value, then the longest lag near it.
        for pass in 0..<2 {
            for lag in minimumLag...longest {
                var product: Float = 0, energy: Float = 0
                for index in 0..<window {
                    product += head[index] * head[lag + index]
                    energy += head[lag + index] * head[lag + index]
                }
                let normalised = product / max((headEnergy * energy).squareRoot(), .leastNormalMagnitude)
                if pass == 0 {
                    best = max(best, normalised)
                } else if normalised >= best - 0.05 * abs(best) {
                    chosen = lag
                }
            }
        }
        let lag = max(chosen, minimumLag)
        for index in 0..<window {
            head[lag + index] = head[index] * fadeOut[index] + head[lag + index] * (1 - fadeOut[index])
        }
        fifoStart += lag
        return lag
    }

    /// Decoded RMS below the quiet threshold (−50 dBFS by default).
    private func isQuiet(_ samples: UnsafeMutablePointer<Float>, count: Int) -> Bool {
        guard count > 0 else { return true }
        var sum: Float = 0
        for index in 0..<count { sum += samples[index] * samples[index] }
        return sum / Float(count) < quietPower
    }

    /// NetEq's playout delay of the first sample of this block, low-pass filtered
    /// (0.9/0.1 per block, ~100 ms; research note §2.2).
    private mutating func measureDelay(now: UInt64) {
        let outputTimestamp = buffer.playTimestamp &- UInt32(fifoCount)
        guard let delay = buffer.delay.playoutDelayMilliseconds(of: outputTimestamp, now: now) else { return }
        filteredDelay = filteredDelay.map { 0.9 * $0 + 0.1 * delay } ?? delay
    }

    private mutating func finish(_ kind: BlockKind) {
        switch kind {
        case .concealed: buffer.statistics.concealedBlocks += 1
        case .silence: buffer.statistics.silenceBlocks += 1
        default: break
        }
        let buffered = state == .playing ? fifoCount + buffer.bufferedSamples
            : (buffer.firstStoredIndex().map { buffer.storedSpanSamples(from: $0) } ?? 0)
        buffer.statistics.bufferedDelayMilliseconds = buffered / configuration.samplesPerMillisecond
        buffer.statistics.playoutDelayMilliseconds = state == .playing ? Int((filteredDelay ?? 0).rounded()) : 0
    }
}

extension AudioPlayout: @unchecked Sendable where Decoder: Sendable {}

/// The playout's sample memory, freed when the playout goes. It is its own non-generic type
/// because swiftc 6.x at -O skipped the `deinit` of the generic `AudioPlayout` (seen with
/// the fuzzer's LeakSanitizer; -Onone ran it).
struct PlayoutMemory: ~Copyable {
    let samples: UnsafeMutablePointer<Float>

    init(count: Int) {
        samples = .allocate(capacity: count)
        samples.initialize(repeating: 0, count: count)
    }

    deinit { samples.deallocate() }
}
