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
/// the packets of any further source are counted and dropped. Nothing is allocated on the
/// audio thread: the 16 slots (decoder, jitter buffer) are made with the receiver, before
/// the call's audio starts, and a slot given back is reset and kept for the next source.
/// (Made on first use, a slot cost the first block 40 ms of a TCG vCPU: an xrun.)
final class AudioReceiver {
    static let maximumSources = 16
    /// A source silent this long gives its slot back (it gets a new one when it speaks again).
    static let idleRetirement: UInt64 = 10_000_000_000
    /// A source counts as heard while its decoded sound was above this in the last second.
    static let heardThresholdDBFS: Float = -60
    /// An RFC 6464 level (−dBov) below this is speech, not a quiet open microphone.
    static let speakingLevel: UInt8 = 60

    final class Slot {
        private(set) var ssrc: UInt32 = 0
        var playout: AudioPlayout<OpusFrameDecoder>
        var lastPacket: UInt64 = 0
        var lastHeard: UInt64 = 0

        init(decoder: OpusDecoder) {
            playout = AudioPlayout(decoder: OpusFrameDecoder(decoder: decoder))
        }

        /// Starts serving `ssrc` as a new slot would.
        func assign(_ ssrc: UInt32, now: UInt64) {
            self.ssrc = ssrc
            playout.reuse()
            lastPacket = now
            lastHeard = 0
        }
    }

    private let intake: RemoteAudioIntake
    private let monitor: PlaybackMonitor
    private let logger: Logger
    let mixer: AudioMixer
    /// The slots serving a source, and the rest (both arrays reserved for all 16).
    private var slots: [Slot] = []
    private var spare: [Slot] = []
    private let block: UnsafeMutableBufferPointer<Float>
    private let heardPower: Float
    private var generationSeen = -1
    /// Counters of retired slots, so the published totals never go backwards.
    private var retired = JitterBufferStatistics()
    private var blocks = 0
    private var mixEnergy: Double = 0

    init(intake: RemoteAudioIntake, monitor: PlaybackMonitor, volume: Int, logger: Logger) throws(CodecError) {
        self.intake = intake
        self.monitor = monitor
        self.logger = logger
        mixer = AudioMixer(maxSources: Self.maximumSources, blockSamples: AudioLoop.blockSamples, volume: volume)
        block = .allocate(capacity: AudioLoop.blockSamples)
        block.initialize(repeating: 0)
        heardPower = Float(pow(10, Double(Self.heardThresholdDBFS) / 10))
        slots.reserveCapacity(Self.maximumSources)
        spare.reserveCapacity(Self.maximumSources)
        for _ in 0..<Self.maximumSources { spare.append(Slot(decoder: try OpusDecoder())) }
    }

    deinit { block.deallocate() }

    /// Runs one spare slot and the mixer through a short stream of silent Opus frames, then
    /// resets them: the first packet, decode and mix of a process cost tens of milliseconds
    /// (libopus's first frames, the first use of each generic path), and must not fall on
    /// the call's first blocks. Called on the audio thread before the microphone starts.
    func warmUp(scratch output: UnsafeMutableBufferPointer<Int16>) {
        guard let slot = spare.last else { return }
        slot.assign(0, now: 0)
        // One TOC byte (CELT, fullband, 20 ms, one frame) and no frame data: a valid packet
        // that decodes to 20 ms of concealment, i.e. silence here.
        var packet: UInt8 = 0xF8
        for index in 0..<8 {
            _ = withUnsafeBytes(of: &packet) { payload in
                slot.playout.insert(sequence: UInt16(index), timestamp: UInt32(index * 960), duration: 960, audioLevel: 127,
                                    marker: index == 0, payload: payload, arrival: UInt64(index) * 20_000_000)
            }
        }
        for index in 0..<16 {
            mixer.beginBlock()
            _ = slot.playout.render(into: block, now: 100_000_000 + UInt64(index) * 10_000_000)
            mixer.add(UnsafeBufferPointer(block))
            _ = mixer.finish(into: output)
        }
        slot.assign(0, now: 0)
        output.update(repeating: 0)
    }

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
            release(at: victim)
        }
        guard let slot = spare.popLast() else { return nil }
        slot.assign(ssrc, now: now)
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
                release(at: index)
            } else {
                index += 1
            }
        }
    }

    /// Gives slot `index` back to the spares, its counters kept in the totals.
    private func release(at index: Int) {
        let slot = slots.remove(at: index)
        retired.add(slot.playout.statistics)
        spare.append(slot)
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
        var target = 0, buffered = 0, playout = 0
        for slot in slots {
            let statistics = slot.playout.statistics
            total.add(statistics)
            target = max(target, statistics.targetDelayMilliseconds)
            buffered = max(buffered, statistics.bufferedDelayMilliseconds)
            playout = max(playout, statistics.playoutDelayMilliseconds)
        }
        monitor.concealedBlocks.store(total.concealedBlocks, ordering: .relaxed)
        monitor.fecRecoveries.store(total.fecRecovered, ordering: .relaxed)
        monitor.targetDelayMilliseconds.store(target, ordering: .relaxed)
        monitor.bufferedDelayMilliseconds.store(buffered, ordering: .relaxed)
        monitor.playoutDelayMilliseconds.store(playout, ordering: .relaxed)
        monitor.lostPackets.store(total.lost, ordering: .relaxed)
        // Delay grown in quiet blocks, and in speech while a late packet was waited for.
        monitor.expandedBlocks.store(total.expandedBlocks + total.expandedSamples / AudioLoop.blockSamples, ordering: .relaxed)
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
