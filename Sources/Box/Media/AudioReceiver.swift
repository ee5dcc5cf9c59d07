#if canImport(Glibc)
import Glibc
#endif
import AudioMixing
import Codecs
import JitterBuffer
import Logging
import Runtime

/// libopus behind the jitter buffer's decoder interface: float decoding, in-band FEC for a
/// lost packet, PLC for the rest.
struct OpusFrameDecoder: AudioFrameDecoder {
    let decoder: OpusDecoder

    mutating func decode(_ packet: UnsafeRawBufferPointer, fec: Bool, into output: UnsafeMutableBufferPointer<Float>,
                         samples: Int) -> Int? {
        do {
            if fec { return try decoder.decodeFEC(packet, lostSamples: samples, into: output) }
            return try decoder.decode(packet, into: output)
        } catch {
            return nil
        }
    }

    mutating func conceal(into output: UnsafeMutableBufferPointer<Float>, samples: Int) -> Int? {
        try? decoder.conceal(samples: samples, into: output)
    }

    mutating func reset() {
        try? decoder.reset()
    }

    func hasFEC(_ packet: UnsafeRawBufferPointer) -> Bool { OpusDecoder.packetHasFEC(packet) }
}

/// The receiving half of the audio path, on the audio thread (`AudioLoop`): the packets the
/// network thread queued → one jitter buffer and Opus decoder per remote source → the mixer
/// → one 10 ms block for the loudspeaker.
///
/// Jitsi Videobridge does not mix: every speaker arrives on an SSRC of its own, and only
/// while speaking (the bridge drops silent packets). A source gets a slot with its first
/// packet and gives it back when the conference no longer signals it (source-remove, the
/// owner left) or after `idleRetirement` without packets. Up to `maximumSources` at once;
/// the packets of any further source are counted and dropped. Per block nothing is
/// allocated; a new source's slot is made once, when it first speaks.
final class AudioReceiver {
    static let maximumSources = 16
    /// A source silent this long gives its slot back (it gets a new one when it speaks again).
    static let idleRetirement: UInt64 = 10_000_000_000
    /// A source counts as heard while its decoded sound was above this in the last second.
    static let heardThresholdDBFS: Float = -60
    /// An RFC 6464 level (−dBov) below this is speech, not a quiet open microphone.
    static let speakingLevel: UInt8 = 60

    final class Slot {
        let ssrc: UInt32
        var playout: AudioPlayout<OpusFrameDecoder>
        var lastPacket: UInt64
        var lastHeard: UInt64 = 0

        init(ssrc: UInt32, decoder: OpusDecoder, now: UInt64) {
            self.ssrc = ssrc
            playout = AudioPlayout(decoder: OpusFrameDecoder(decoder: decoder))
            lastPacket = now
        }
    }

    private let intake: RemoteAudioIntake
    private let monitor: PlaybackMonitor
    private let logger: Logger
    let mixer: AudioMixer
    private var slots: [Slot] = []
    private let block: UnsafeMutableBufferPointer<Float>
    private let heardPower: Float
    private var generationSeen = -1
    /// Counters of retired slots, so the published totals never go backwards.
    private var retired = JitterBufferStatistics()
    private var blocks = 0
    private var mixEnergy: Double = 0

    init(intake: RemoteAudioIntake, monitor: PlaybackMonitor, volume: Int, logger: Logger) {
        self.intake = intake
        self.monitor = monitor
        self.logger = logger
        mixer = AudioMixer(maxSources: Self.maximumSources, blockSamples: AudioLoop.blockSamples, volume: volume)
        block = .allocate(capacity: AudioLoop.blockSamples)
        block.initialize(repeating: 0)
        heardPower = Float(pow(10, Double(Self.heardThresholdDBFS) / 10))
        slots.reserveCapacity(Self.maximumSources)
    }

    deinit { block.deallocate() }

    /// The next 10 ms for the loudspeaker (`output`: 480 samples), played at `now`.
    func render(into output: UnsafeMutableBufferPointer<Int16>, now: UInt64) {
        retireSources(now: now)
        while intake.ring.pop({ record, payload in self.insert(record, payload, now: now) }) {}
        mixer.beginBlock()
        for slot in slots {
            let kind = slot.playout.render(into: block, now: now)
            if kind != .buffering && meanSquare(block) > heardPower { slot.lastHeard = now }
            mixer.add(UnsafeBufferPointer(block))
        }
        let levels = mixer.finish(into: output)
        publish(levels, now: now)
    }

    private func insert(_ record: ReceivedAudioRecord, _ payload: UnsafeRawBufferPointer, now: UInt64) {
        guard let slot = slot(for: record.ssrc, speaking: record.level < Self.speakingLevel, now: now) else {
            monitor.count(monitor.noSlotPackets)
            return
        }
        guard let duration = OpusDecoder.packetSamples(payload) else {
            monitor.count(monitor.undecodablePackets)
            return
        }
        slot.lastPacket = now
        let level: UInt8? = record.level == ReceivedAudioRecord.noLevel ? nil : record.level
        // Duplicates, late and invalid packets are counted by the jitter buffer (published below).
        _ = slot.playout.insert(sequence: record.sequence, timestamp: record.timestamp, duration: duration, audioLevel: level,
                                marker: record.marker, payload: payload, arrival: record.arrival)
    }

    private func slot(for ssrc: UInt32, speaking: Bool, now: UInt64) -> Slot? {
        for slot in slots where slot.ssrc == ssrc { return slot }
        guard intake.isSignalled(ssrc) else { return nil }
        if slots.count == Self.maximumSources {
            // Full: the bridge forwards everyone unmuted, quiet or not. Someone who speaks
            // takes the place of the source longest unheard (not heard for 2 s at least),
            // so a teacher who starts talking in a class of 20 open microphones is played.
            guard speaking, let victim = slots.indices.min(by: { slots[$0].lastHeard < slots[$1].lastHeard }),
                  now &- slots[victim].lastHeard > 2_000_000_000 || slots[victim].lastHeard == 0 else { return nil }
            retired.add(slots[victim].playout.statistics)
            slots.remove(at: victim)
        }
        guard let decoder = try? OpusDecoder() else { return nil }
        let slot = Slot(ssrc: ssrc, decoder: decoder, now: now)
        slots.append(slot)
        logger.debug("a remote audio source started (\(slots.count) now)")
        return slot
    }

    /// Gives back the slots of sources no longer signalled (checked when the signalled set
    /// changed) and of sources silent for `idleRetirement`.
    private func retireSources(now: UInt64) {
        let generation = intake.generation.load(ordering: .acquiring)
        let recheck = generation != generationSeen
        generationSeen = generation
        var index = 0
        while index < slots.count {
            let slot = slots[index]
            if (recheck && !intake.isSignalled(slot.ssrc)) || now &- slot.lastPacket > Self.idleRetirement {
                retired.add(slot.playout.statistics)
                slots.remove(at: index)
            } else {
                index += 1
            }
        }
    }

    /// The status: sources heard in the last second, the mix's level over the last half
    /// second, and every tenth block the counters.
    private func publish(_ levels: MixLevels, now: UInt64) {
        var heard = 0
        for slot in slots where slot.lastHeard != 0 && now &- slot.lastHeard < 1_000_000_000 { heard += 1 }
        monitor.heardSources.store(heard, ordering: .relaxed)
        monitor.activeSources.store(slots.count, ordering: .relaxed)
        monitor.count(monitor.blocksPlayed)
        mixEnergy += Double(pow(10, levels.rmsDBFS / 10))
        blocks += 1
        if blocks % 50 == 0 {
            let mean = mixEnergy / 50
            monitor.levelDeciBel.store(mean > 1e-12 ? Int((100 * log10(mean)).rounded()) : -1000, ordering: .relaxed)
            mixEnergy = 0
        }
        guard blocks % 10 == 0 else { return }
        var total = retired
        var target = 0, buffered = 0
        for slot in slots {
            let statistics = slot.playout.statistics
            total.add(statistics)
            target = max(target, statistics.targetDelayMilliseconds)
            buffered = max(buffered, statistics.bufferedDelayMilliseconds)
        }
        monitor.concealedBlocks.store(total.concealedBlocks, ordering: .relaxed)
        monitor.fecRecoveries.store(total.fecRecovered, ordering: .relaxed)
        monitor.targetDelayMilliseconds.store(target, ordering: .relaxed)
        monitor.bufferedDelayMilliseconds.store(buffered, ordering: .relaxed)
        monitor.lostPackets.store(total.lost, ordering: .relaxed)
        monitor.expandedBlocks.store(total.expandedBlocks, ordering: .relaxed)
        monitor.acceleratedBlocks.store(total.acceleratedBlocks, ordering: .relaxed)  // cross-fades are among them
        monitor.latePackets.store(total.late, ordering: .relaxed)
        monitor.duplicatePackets.store(total.duplicates, ordering: .relaxed)
        monitor.invalidPackets.store(total.invalid, ordering: .relaxed)
        monitor.unsignalled.store(intake.unsignalledPackets.load(ordering: .relaxed), ordering: .relaxed)
        monitor.ringFull.store(intake.droppedPackets.load(ordering: .relaxed), ordering: .relaxed)
    }

    private func meanSquare(_ samples: UnsafeMutableBufferPointer<Float>) -> Float {
        var sum: Float = 0
        for sample in samples { sum += sample * sample }
        return sum / Float(samples.count)
    }
}
