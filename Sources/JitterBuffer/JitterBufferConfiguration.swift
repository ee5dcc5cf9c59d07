/// The tunables of one source's audio jitter buffer and playout.
///
/// Defaults follow libwebrtc NetEq (`delay_manager.h` Config, `delay_manager.cc`
/// `kStartDelayMs`, `underrun_optimizer.cc` bucket size) and the box's own design in
/// `research/receive-audio.md` §2.2: a 95th-percentile target of the relative arrival delay,
/// clamped to [40 ms, 500 ms] (40 ms = one 20 ms packet so Opus FEC can work, plus 20 ms of
/// jitter; beyond 500 ms a conversation breaks down anyway).
public struct JitterBufferConfiguration: Sendable, Equatable {
    /// RTP clock and output rate (Opus always uses a 48 kHz RTP clock, RFC 7587 §4.1).
    public var sampleRate: Int = 48_000
    /// Samples per rendered block: 10 ms, the period of the playback thread.
    public var blockSamples: Int = 480
    /// Ring slots, indexed by sequence number modulo the count; a power of two.
    /// 64 slots hold 1.28 s of 20 ms packets (the research note's `slots[64]`).
    public var slotCount: Int = 64
    /// Largest payload stored; a datagram on a 1500-byte MTU cannot carry more.
    public var maximumPayloadBytes: Int = 1500
    /// Longest packet accepted: Opus packets carry at most 120 ms (RFC 6716 §3.2.5).
    public var maximumPacketMilliseconds: Int = 120

    /// NetEq `kStartDelayMs`: the target before any statistics exist.
    public var startTargetMilliseconds: Int = 80
    public var minimumTargetMilliseconds: Int = 40
    public var maximumTargetMilliseconds: Int = 500
    /// NetEq `underrun_optimizer.cc` `kBucketSizeMs`.
    public var histogramBucketMilliseconds: Int = 20
    /// NetEq `delay_manager.h`: quantile 0.95 ...
    public var quantile: Double = 0.95
    /// ... forget_factor 0.983 per histogram update (about 30 s of memory at 2 updates/s) ...
    public var forgetFactor: Double = 0.983
    /// ... start_forget_weight 2: the first updates forget faster, so one early spike does not
    /// dominate for half a minute.
    public var startForgetWeight: Double = 2
    /// ... resample_interval_ms 500: one histogram entry per window, the window's maximum.
    public var resampleIntervalMilliseconds: Int = 500
    /// NetEq `decision_logic.cc` `kPacketHistorySizeMs`: the relative delay is measured
    /// against the earliest-arriving packet of this much RTP time.
    public var delayHistoryMilliseconds: Int = 2000

    /// RFC 6464 level (−dBov) at or above which a packet is silence: a sequence gap after it is
    /// the bridge dropping silent packets (`discard-silence`), not loss.
    public var silenceLevel: UInt8 = 120
    /// Level at or above which a block is quiet enough to drop or repeat 10 ms unheard.
    public var quietLevel: UInt8 = 60
    /// Decoded RMS below this (dBFS) is also quiet, for streams without the level extension.
    public var quietRMSDecibels: Float = -50
    /// A payload this short is an Opus DTX frame (RFC 6716 §3.2.1: 1–2 bytes, no audio).
    public var dtxMaximumBytes: Int = 2

    /// The playout delay is kept in [target − expand margin, target + accelerate margin]: the
    /// target is the upper edge of the 20 ms bucket holding the 95th percentile, so at the
    /// target itself a packet as late as that percentile is still on time; 15 ms above it
    /// leaves room for one 10 ms move without bouncing between the edges.
    /// Quiet blocks move the delay back into the band at once; speech only after a while
    /// (below), since there a move is heard.
    /// Shrink when the filtered level exceeds target + this.
    public var accelerateMarginMilliseconds: Int = 15
    /// Grow when the filtered level is below target − this.
    public var expandMarginMilliseconds: Int = 5
    /// Grow even in speech (one concealed block at a packet boundary) when below the band
    /// for this long (then at most one block per 100 ms). NetEq's preemptive expand acts
    /// at once below its low limit; the box waits a little because its expansion is a
    /// concealed block, not a time-stretch: a speaker who never pauses would otherwise keep
    /// the delay the stream started with, and every packet later than it would run dry.
    public var forcedExpandAfterMilliseconds: Int = 200
    /// Drop even in speech (with a cross-fade) when above the band for this long (then at most
    /// one block per 100 ms); NetEq accelerates in speech above its target too.
    public var forcedAccelerateAfterMilliseconds: Int = 1000
    /// Length of the raised-cosine cross-fade over a forced drop (2.5 ms at 48 kHz).
    public var crossFadeSamples: Int = 120
    /// Concealment with an empty buffer stops after this and playout returns to buffering
    /// (zeros), instead of endless PLC when a speaker stops or the bridge stops forwarding.
    public var maximumConcealmentMilliseconds: Int = 200

    /// A timestamp jump larger than this restarts the stream (research note §2.2).
    public var resetTimestampJumpMilliseconds: Int = 5000
    /// RFC 3550 App. A.1 `MAX_DROPOUT`: a larger forward sequence jump is a restart.
    public var maximumSequenceJump: Int = 3000
    /// RFC 3550 App. A.1 `MAX_MISORDER`: a larger backward jump is a restart, not a late packet.
    public var maximumMisorder: Int = 100

    public init() {}

    var samplesPerMillisecond: Int { sampleRate / 1000 }
    /// Opus frames are multiples of 2.5 ms (RFC 6716 §2.1.4).
    var durationGranularity: Int { sampleRate / 400 }
    var maximumPacketSamples: Int { maximumPacketMilliseconds * samplesPerMillisecond }
}

/// What `insert` did with a packet.
public enum InsertOutcome: Sendable, Equatable {
    case stored
    /// The same sequence number is already buffered or was just played.
    case duplicate
    /// Its playout time has passed (it was concealed or skipped already).
    case late
    /// Empty, larger than a slot, or with a duration that is not a valid Opus frame.
    case invalid
}

/// What one 10 ms `render` call produced.
public enum BlockKind: Sendable, Equatable {
    /// Silence while the buffer fills to the target (start, after a reset or a long gap).
    case buffering
    /// Decoded audio.
    case normal
    /// Audio rebuilt from the in-band FEC of the next packet.
    case fecRecovered
    /// Codec concealment for a lost packet, a late one or a decoder failure.
    case concealed
    /// Concealment inside a silence gap (after a silent or DTX packet): not loss.
    case silence
    /// A concealment block inserted to grow the delay in a quiet moment.
    case expanded
    /// 10 ms were dropped in a quiet moment to shrink the delay; this is the block after it.
    case accelerated
    /// 10 ms were dropped in speech, the seam hidden by a 2.5 ms cross-fade.
    case acceleratedCrossFade
}

/// Counters of one source, for logs, the box's status page and tests.
/// RFC 3550 receiver reports (interarrival jitter, cumulative loss, fraction lost) are left
/// to `RTCP.ReceiveStatistics`, which the box already feeds for every received SSRC.
public struct JitterBufferStatistics: Sendable, Equatable {
    /// Packets that reached `insert` with a valid payload (stored, duplicate or late).
    public var received = 0
    public var duplicates = 0
    public var late = 0
    public var invalid = 0
    /// Stream restarts: timestamp jump, sequence jump, or overflow of the slot ring.
    public var resets = 0
    /// Sequence numbers never received, excluding gaps the bridge made by dropping silence.
    public var lost = 0
    /// Sequence numbers skipped by the sender or bridge in silence (after level ≥ 120, DTX,
    /// or before a marker packet).
    public var silenceGapPackets = 0
    /// 10 ms blocks of loss concealment (includes decoder failures).
    public var concealedBlocks = 0
    /// 10 ms blocks of concealment or zeros inside silence gaps.
    public var silenceBlocks = 0
    /// Packets rebuilt from the next packet's in-band FEC.
    public var fecRecovered = 0
    public var decoderFailures = 0
    /// 10 ms blocks of concealment added in a quiet moment to grow the delay.
    public var expandedBlocks = 0
    /// Samples concealed in speech while the next packet was late (the delay grew by them;
    /// the blocks are among `concealedBlocks`), NetEq's expand.
    public var expandedSamples = 0
    public var acceleratedBlocks = 0
    /// Of `acceleratedBlocks`, those dropped in speech with a cross-fade.
    public var crossFadedBlocks = 0
    public var targetDelayMilliseconds = 0
    public var bufferedDelayMilliseconds = 0
    /// NetEq's playout delay now (filtered): how long after the earliest-arriving packet of
    /// the last 2 s would have delivered it a sample is played — what the target steers.
    public var playoutDelayMilliseconds = 0

    public init() {}
}

extension JitterBufferStatistics {
    /// Adds another source's counters (targets and delays are per source and not summed).
    public mutating func add(_ other: JitterBufferStatistics) {
        received += other.received
        duplicates += other.duplicates
        late += other.late
        invalid += other.invalid
        resets += other.resets
        lost += other.lost
        silenceGapPackets += other.silenceGapPackets
        concealedBlocks += other.concealedBlocks
        silenceBlocks += other.silenceBlocks
        fecRecovered += other.fecRecovered
        decoderFailures += other.decoderFailures
        expandedBlocks += other.expandedBlocks
        expandedSamples += other.expandedSamples
        acceleratedBlocks += other.acceleratedBlocks
        crossFadedBlocks += other.crossFadedBlocks
    }
}
