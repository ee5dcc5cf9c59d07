import RTP
import Runtime
import Synchronization

/// One received Opus packet as the network thread hands it to the audio thread.
struct ReceivedAudioRecord: BitwiseCopyable {
    var ssrc: UInt32
    var sequence: UInt16
    var timestamp: UInt32
    var marker: Bool
    /// RFC 6464 level in −dBov (127 = silence); `noLevel` when the packet had none.
    var level: UInt8
    /// Monotonic nanoseconds at arrival.
    var arrival: UInt64

    static let noLevel: UInt8 = 0xFF
}

/// The door between the network thread and the audio thread for the others' audio.
///
/// Only SSRCs the conference signalled (Jicofo's session-initiate and source-add, or the
/// peer's SDP) get in — the bridge itself drops packets of unknown sources, and a box that
/// played whatever arrived would play what nobody announced. Packets of other SSRCs, bad
/// packets and packets that find the ring full are dropped and counted. Nothing received is
/// kept beyond the ring's few hundred milliseconds.
final class RemoteAudioIntake: Sendable {
    let ring = PacketRing<ReceivedAudioRecord>(capacity: 256, maximumLength: 1500)
    private let signalled = Mutex<Set<UInt32>>([])
    let unsignalledPackets = Atomic<Int>(0)
    let droppedPackets = Atomic<Int>(0)
    /// Bumped on every change of the signalled set, so the audio thread re-checks its
    /// sources only when something changed (one relaxed load per block otherwise).
    let generation = Atomic<Int>(0)
    /// The box's own SSRCs: never played back, even if a server echoed them as someone's.
    private let own = Mutex<Set<UInt32>>([])

    func setOwnSources(_ ssrcs: [UInt32]) {
        own.withLock { $0 = Set(ssrcs) }
    }

    /// The call's remote audio sources, replacing what was known.
    func setSources(_ ssrcs: [UInt32]) {
        // Sets are built outside the lock the audio thread takes.
        let sources = Set(ssrcs).subtracting(own.withLock { $0 })
        signalled.withLock { $0 = sources }
        generation.wrappingAdd(1, ordering: .releasing)
    }

    /// Jicofo's source-add / source-remove for audio.
    func addSources(_ ssrcs: [UInt32]) {
        let sources = Set(ssrcs).subtracting(own.withLock { $0 })
        signalled.withLock { $0.formUnion(sources) }
        generation.wrappingAdd(1, ordering: .releasing)
    }

    func removeSources(_ ssrcs: [UInt32]) {
        signalled.withLock { $0.subtract(ssrcs) }
        generation.wrappingAdd(1, ordering: .releasing)
    }

    var sourceCount: Int { signalled.withLock { $0.count } }

    func isSignalled(_ ssrc: UInt32) -> Bool { signalled.withLock { $0.contains(ssrc) } }

    /// Network thread: an unprotected RTP packet of the audio payload type.
    func accept(_ packet: RTPPacketView, audioLevelID: UInt8?, now: UInt64) {
        guard isSignalled(packet.header.ssrc) else {
            unsignalledPackets.wrappingAdd(1, ordering: .relaxed)
            return
        }
        var level = ReceivedAudioRecord.noLevel
        if let id = audioLevelID, let data = packet.oneByteExtension(id: id), let first = data.first { level = first & 0x7F }
        let record = ReceivedAudioRecord(ssrc: packet.header.ssrc, sequence: packet.header.sequenceNumber, timestamp: packet.header.timestamp,
                                         marker: packet.header.marker, level: level, arrival: now)
        if packet.payload.isEmpty || !ring.push(record, packet.payload) {
            droppedPackets.wrappingAdd(1, ordering: .relaxed)
        }
    }
}

/// What the audio thread tells the rest of the box about what it plays: atomics only, read
/// by the status line and the logs. Counts and levels, never who.
final class PlaybackMonitor: Sendable {
    /// Sources whose sound reached the loudspeaker in the last second.
    let heardSources = Atomic<Int>(0)
    /// Sources with a jitter buffer (heard or waiting).
    let activeSources = Atomic<Int>(0)
    /// RMS level of the played mix over the last half second, in dBFS × 10 (−1000: silence).
    let levelDeciBel = Atomic<Int>(-1000)
    let blocksPlayed = Atomic<Int>(0)
    let concealedBlocks = Atomic<Int>(0)
    let fecRecoveries = Atomic<Int>(0)
    /// Packets the jitter buffers never got (silence gaps left out), all sources.
    let lostPackets = Atomic<Int>(0)
    /// Blocks added to grow the delay, and blocks dropped to shrink it.
    let expandedBlocks = Atomic<Int>(0)
    let acceleratedBlocks = Atomic<Int>(0)
    let latePackets = Atomic<Int>(0)
    let duplicatePackets = Atomic<Int>(0)
    let invalidPackets = Atomic<Int>(0)
    let undecodablePackets = Atomic<Int>(0)
    /// Packets not buffered: every source slot in use, their source no longer signalled when
    /// the audio thread got them, or no decoder could be made.
    let noSlotPackets = Atomic<Int>(0)
    let underruns = Atomic<Int>(0)
    /// Blocks dropped because the loudspeaker's buffer was full (its clock is slower).
    let droppedBlocks = Atomic<Int>(0)
    /// The largest target delay among the sources, in ms.
    let targetDelayMilliseconds = Atomic<Int>(0)
    /// The most media stored ahead of playout among the sources now, in ms.
    let bufferedDelayMilliseconds = Atomic<Int>(0)
    /// The largest playout delay among the sources (filtered; what the target steers), in ms.
    let playoutDelayMilliseconds = Atomic<Int>(0)
    /// The echo canceller's view: measured playback-to-capture delay in ms (0: not running).
    let echoDelayMilliseconds = Atomic<Int>(0)

    /// The intake's own drops, for the summary.
    let unsignalled = Atomic<Int>(0)
    let ringFull = Atomic<Int>(0)

    /// One line for the log: what the receive side did so far (counts, delays; no names).
    var summary: String {
        func value(_ counter: borrowing Atomic<Int>) -> Int { counter.load(ordering: .relaxed) }
        return "heard \(value(heardSources)) of \(value(activeSources)) sources, played \(value(blocksPlayed)) blocks, concealed \(value(concealedBlocks)), "
            + "FEC recovered \(value(fecRecoveries)), lost \(value(lostPackets)), late \(value(latePackets)), duplicates \(value(duplicatePackets)), "
            + "invalid \(value(invalidPackets) + value(undecodablePackets)), no slot \(value(noSlotPackets)), "
            + "unsignalled \(value(unsignalled)), ring full \(value(ringFull)), "
            + "expanded \(value(expandedBlocks)), accelerated \(value(acceleratedBlocks)), "
            + "target \(value(targetDelayMilliseconds)) ms, playout delay \(value(playoutDelayMilliseconds)) ms, buffered \(value(bufferedDelayMilliseconds)) ms, underruns \(value(underruns)), dropped \(value(droppedBlocks)), "
            + "echo delay \(value(echoDelayMilliseconds)) ms"
    }

    func count(_ counter: borrowing Atomic<Int>, _ amount: Int = 1) {
        if amount != 0 { counter.wrappingAdd(amount, ordering: .relaxed) }
    }
}
