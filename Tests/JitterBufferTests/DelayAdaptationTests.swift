import Foundation
import Testing
@testable import JitterBuffer

/// Speech-like levels: 400 ms of voice (level 30), then 200 ms of pause (level 70).
func talkLevel(_ index: Int) -> UInt8 { index % 30 < 20 ? 30 : 70 }

@Suite struct DelayAdaptationTests {
    @Test func uniformJitterIsAbsorbedAfterTwoSecondsAndTheTargetFallsBackAfterItEnds() {
        var generator = SeededGenerator(state: 42)
        let jitterPackets = 1500, calmPackets = 6000  // 30 s of 0–80 ms jitter, then 120 s calm
        var jitters: [UInt64] = []
        var packets = regularPackets(count: jitterPackets + calmPackets, firstSequence: 1000) { index in
            guard index < jitterPackets else { return 0 }
            let jitter = UInt64.random(in: 0...80_000, using: &generator) * 1000
            jitters.append(jitter)
            return jitter
        }
        for index in packets.indices { packets[index].level = talkLevel(index) }
        var harness = PlayoutHarness()
        harness.schedule(packets)
        harness.run(until: 30_000 * ms)
        let jitterTarget = harness.playout.targetDelayMilliseconds
        let p95 = Int(jitters.sorted()[jitters.count * 95 / 100] / ms)
        let concealedAfterTwoSeconds = harness.blocks.filter { $0.time >= 2000 * ms && $0.kind == .concealed }.count
        #expect(concealedAfterTwoSeconds == 0)
        #expect(jitterTarget <= p95 + 40 && jitterTarget >= 60)
        let concealedBefore = harness.playout.statistics.concealedBlocks

        // The histogram forgets at 0.983 per 500 ms: the 80 ms bucket loses its 5 % share
        // after about 90 s of calm (NetEq's own pace).
        harness.run(until: 149_000 * ms)
        let calm = harness.playout.statistics
        #expect(calm.targetDelayMilliseconds == 40)
        #expect(calm.concealedBlocks == concealedBefore && calm.lost == 0 && calm.crossFadedBlocks == 0)
        let delay = harness.playout.filteredDelay ?? 0
        #expect(delay <= Double(calm.targetDelayMilliseconds + 40) + 1)
    }

    @Test func theDelayShrinksInQuietMomentsAfterStrongJitterEnds() {
        var generator = SeededGenerator(state: 7)
        let jitterPackets = 1000, calmPackets = 6000  // 20 s of 0–200 ms jitter, then 120 s calm
        var packets = regularPackets(count: jitterPackets + calmPackets, firstSequence: 1000) { index in
            index < jitterPackets ? UInt64.random(in: 0...200_000, using: &generator) * 1000 : 0
        }
        for index in packets.indices { packets[index].level = talkLevel(index) }
        var harness = PlayoutHarness()
        harness.schedule(packets)
        harness.run(until: 20_000 * ms)
        let jitterTarget = harness.playout.targetDelayMilliseconds
        let jitterDelay = harness.playout.filteredDelay ?? 0
        #expect(jitterTarget >= 180 && jitterDelay >= 150)
        harness.run(until: 139_000 * ms)
        let calm = harness.playout.statistics
        #expect(calm.targetDelayMilliseconds < jitterTarget)
        let calmDelay = harness.playout.filteredDelay ?? 0
        #expect(calmDelay <= Double(calm.targetDelayMilliseconds + 40) + 1 && calmDelay < jitterDelay - 80)
        // Shrunk by whole quiet blocks, never by cross-fades in speech.
        #expect(calm.acceleratedBlocks >= 8 && calm.crossFadedBlocks == 0 && calm.lost == 0)
    }

    @Test func silenceGapsAreNotLossAndDoNotRaiseTheTarget() {
        var packets = regularPackets(count: 53, firstSequence: 100)
        for index in 50..<53 { packets[index].level = 127 }
        // The bridge drops 97 silent packets (about 2 s); the talkspurt restarts with a marker.
        var resumed = regularPackets(count: 50, firstSequence: 250, firstTimestamp: 150 * 960, start: 3000 * ms)
        resumed[0].marker = true
        var harness = PlayoutHarness()
        harness.schedule(packets + resumed)
        harness.run(until: 3900 * ms)
        let statistics = harness.playout.statistics
        #expect(statistics.lost == 0 && statistics.silenceGapPackets == 97)
        #expect(statistics.concealedBlocks == 0 && statistics.silenceBlocks > 0 && statistics.resets == 0)
        #expect(statistics.targetDelayMilliseconds <= 80)
        let afterGap = harness.blocks.drop { $0.time < 3000 * ms }.drop { $0.kind == .buffering }.map(\.first)
        #expect(Array(afterGap.prefix(40)) == twoBlocksEach(Array(250..<270)))
    }

    /// The network path gets 150 ms longer while the speaker never pauses: the buffer (80 ms)
    /// runs dry, conceals the rest of the wait without moving on (NetEq's expand), and plays
    /// every packet after it: nothing late, nothing lost, the delay grown by the wait.
    @Test func aDelayRiseInContinuousSpeechGrowsTheDelayAndLosesNothing() {
        var packets = regularPackets(count: 300, firstSequence: 500) { $0 < 100 ? 0 : 150 * ms }
        for index in packets.indices { packets[index].level = 20 }
        // Looked at from the packets before the rise, the delay is far above target until they
        // leave the 2 s history; no drops here, to see every packet played.
        var harness = PlayoutHarness(configuration: .withoutDrops)
        harness.schedule(packets)
        harness.run(until: 5500 * ms)
        let statistics = harness.playout.statistics
        #expect(statistics.late == 0 && statistics.lost == 0)
        #expect(statistics.expandedSamples >= 50 * 48 && statistics.expandedSamples <= 150 * 48, "\(statistics.expandedSamples) samples expanded")
        // Every packet played once, in order, around the concealment.
        let decoded = harness.blocks.filter { $0.kind == .normal }.map(\.first)
        let packetsPlayed = decoded.count / 2
        #expect(packetsPlayed > 250 && Array(decoded.prefix(2 * packetsPlayed)) == twoBlocksEach(Array(500..<(500 + UInt16(packetsPlayed)))))
    }

    /// Jitter beyond the start target (0–120 ms) in speech without a pause: the delay grows
    /// where packets come late instead of losing them, and after 3 s nothing is concealed.
    @Test func jitterAboveTheStartTargetInContinuousSpeechIsAbsorbed() {
        var generator = SeededGenerator(state: 11)
        var packets = regularPackets(count: 1000, firstSequence: 7) { _ in UInt64.random(in: 0...120, using: &generator) * ms }
        for index in packets.indices { packets[index].level = 25 }
        var harness = PlayoutHarness()
        harness.schedule(packets)
        harness.run(until: 20_000 * ms)
        let statistics = harness.playout.statistics
        let concealedLater = harness.blocks.filter { $0.time >= 3000 * ms && $0.kind == .concealed }.count
        #expect(concealedLater == 0, "\(statistics)")
        // Packets overtaken by the next one while the delay was still growing (the first
        // second) are rebuilt from FEC or concealed, and come late; none after that.
        #expect(statistics.lost == 0 && statistics.late <= 10, "\(statistics)")
        #expect(statistics.targetDelayMilliseconds >= 100)
    }

    /// Jitter just above the start target (0–85 ms) from a speaker who never pauses: the target
    /// rises above the start delay, and the delay must follow it in speech (one planned
    /// concealed block at a time) — waiting for a pause would leave every packet later than
    /// the start delay to run the buffer dry (the conference tier's tone caught that).
    @Test func theDelayFollowsARisingTargetInContinuousSpeech() {
        var generator = SeededGenerator(state: 23)
        // The first packets come on time: playout starts at the start target (80 ms), which
        // the 95th percentile of the window maxima (80–85 ms: the 100 ms bucket) then exceeds.
        var packets = regularPackets(count: 1000, firstSequence: 40) { index in
            index < 5 ? 0 : UInt64.random(in: 0...85, using: &generator) * ms
        }
        for index in packets.indices { packets[index].level = 25 }
        var harness = PlayoutHarness()
        harness.schedule(packets)
        harness.run(until: 20_000 * ms)
        let statistics = harness.playout.statistics
        let delay = harness.playout.filteredDelay ?? 0
        let concealedLater = harness.blocks.filter { $0.time >= 2000 * ms && $0.kind == .concealed }.count
        #expect(concealedLater == 0, "\(statistics)")
        #expect(statistics.targetDelayMilliseconds >= 100 && statistics.targetDelayMilliseconds <= 120)
        #expect(delay >= Double(statistics.targetDelayMilliseconds - 20) && delay <= Double(statistics.targetDelayMilliseconds + 15) + 1,
                "delay \(delay) for target \(statistics.targetDelayMilliseconds)")
        // Packets that came later than the delay in the first second are the only ones lost.
        #expect(statistics.late + statistics.lost <= 5 && statistics.crossFadedBlocks <= 4, "\(statistics)")
    }

    @Test func aDelayDropInContinuousSpeechIsDrainedWithCrossFades() {
        // 300 ms of extra network delay for 3 s, then none: the buffer suddenly holds 300 ms
        // too much while the speaker never pauses (level 20 throughout).
        var packets = regularPackets(count: 650, firstSequence: 100) { $0 < 150 ? 300 * ms : 0 }
        for index in packets.indices { packets[index].level = 20 }
        var harness = PlayoutHarness()
        harness.schedule(packets)
        harness.run(until: 3400 * ms)
        let high = harness.playout.filteredDelay ?? 0
        #expect(high > 300)
        harness.run(until: 13_000 * ms)
        let statistics = harness.playout.statistics
        #expect(statistics.crossFadedBlocks > 0 && statistics.acceleratedBlocks == statistics.crossFadedBlocks)
        // Drained down to the forced-drop threshold (target + 15 ms), no further in speech.
        let drained = harness.playout.filteredDelay ?? 0
        #expect(drained <= Double(statistics.targetDelayMilliseconds + 15) + 1 && drained >= Double(statistics.targetDelayMilliseconds)
                && drained < high - 100, "\(drained) for target \(statistics.targetDelayMilliseconds)")
        #expect(statistics.concealedBlocks == 0 && statistics.late == 0)
    }

    /// A drop in a sustained tone (a held vowel, a music lesson) takes whole periods: a 660 Hz
    /// tone stays in phase through every drop, so no 20 ms of it loses its level. Cutting
    /// exactly 10 ms (6.6 periods) shifted it by 216° and the cross-fade all but cancelled it.
    @Test func aDropInASustainedToneKeepsItsPhase() throws {
        var packets = regularPackets(count: 300, firstSequence: 100) { $0 < 50 ? 200 * ms : 0 }
        for index in packets.indices { packets[index].level = 20 }
        var harness = PlayoutHarness(decoder: FakeDecoder(tone: 660, firstSequence: 100))
        harness.recordsSamples = true
        harness.schedule(packets)
        harness.run(until: 6000 * ms)
        let statistics = harness.playout.statistics
        #expect(statistics.crossFadedBlocks >= 5, "\(statistics)")
        let start = try #require(harness.samples.firstIndex { $0 != 0 })
        let played = Array(harness.samples[start...].prefix { $0 != -1 })  // until the stream ends (concealment)
        var weakest = Double.infinity
        for window in stride(from: 0, to: played.count - 960, by: 480) {
            let slice = played[window..<window + 960]
            weakest = min(weakest, goertzelLevel(slice, frequency: 660) - rmsLevel(slice))
        }
        #expect(played.count > 48_000 * 4 && weakest > -1, "the tone's level against the whole in the weakest 20 ms: \(weakest) dB")
    }

    @Test func theTargetStartsAt80AndFollowsTheHistogramClampedToItsRange() {
        var configuration = JitterBufferConfiguration()
        configuration.slotCount = 1024  // nothing plays here: keep every packet
        var buffer = AudioJitterBuffer(configuration: configuration)
        #expect(buffer.targetDelayMilliseconds == 80)
        let payload = [UInt8](repeating: 7, count: 20)
        // Steady arrivals: every 500 ms window's maximum is 0, so the target falls to the 40 ms floor.
        payload.withUnsafeBytes { bytes in
            for index in 0..<200 {
                _ = buffer.insert(sequence: UInt16(index), timestamp: UInt32(index * 960), duration: 960, audioLevel: 30,
                                  marker: false, payload: bytes, arrival: UInt64(index) * 20 * ms)
            }
        }
        #expect(buffer.targetDelayMilliseconds == 40)
        var spiky = AudioJitterBuffer(configuration: configuration)
        // One packet in five is 700 ms late: the target is clamped at 500 ms.
        payload.withUnsafeBytes { bytes in
            for index in 0..<500 {
                let extra: UInt64 = index % 5 == 4 ? 700 * ms : 0
                _ = spiky.insert(sequence: UInt16(index), timestamp: UInt32(index * 960), duration: 960, audioLevel: 30,
                                 marker: false, payload: bytes, arrival: UInt64(index) * 20 * ms + extra)
            }
        }
        #expect(spiky.targetDelayMilliseconds == 500)
    }
}

/// The level of `frequency` in a window (Goertzel), in dB of a sine's RMS.
func goertzelLevel(_ window: ArraySlice<Float>, frequency: Double) -> Double {
    let coefficient = 2 * cos(2 * Double.pi * frequency / 48_000)
    var (previous, beforePrevious) = (0.0, 0.0)
    for sample in window {
        let current = Double(sample) + coefficient * previous - beforePrevious
        beforePrevious = previous
        previous = current
    }
    let power = previous * previous + beforePrevious * beforePrevious - coefficient * previous * beforePrevious
    return 20 * log10(max(2 * power.squareRoot() / Double(window.count), 1e-12) / 2.0.squareRoot())
}

/// RMS of a window in dB.
func rmsLevel(_ window: ArraySlice<Float>) -> Double {
    let power = window.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, window.count))
    return 10 * log10(max(power, 1e-24))
}
