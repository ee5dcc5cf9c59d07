import Testing
@testable import JitterBuffer

/// Blocks of loss concealment among the first `count` played blocks (before a stream's end,
/// which is concealed for 200 ms by design).
func concealedBlocks(in harness: borrowing PlayoutHarness, firstPlayed count: Int) -> Int {
    harness.blocks.drop { $0.kind == .buffering }.prefix(count).filter { $0.kind == .concealed }.count
}

/// The played values for packets `first..<first+count` of 20 ms: two 10 ms blocks each.
func twoBlocksEach(_ sequences: [UInt16]) -> [Float] {
    sequences.flatMap { [Float($0), Float($0)] }
}

@Suite struct AudioPlayoutTests {
    @Test func inOrderPacketsPlayExactlyInSequenceAfterBuffering() {
        var harness = PlayoutHarness()
        harness.schedule(regularPackets(count: 50, firstSequence: 100))
        harness.run(until: 1100 * ms)
        // Start once 80 ms are stored after the first packet: packet 4 arrives at 80 ms.
        #expect(harness.blocks.prefix { $0.kind == .buffering }.count == 8)
        #expect(Array(harness.playedValues.prefix(100)) == twoBlocksEach(Array(100..<150)))
        let statistics = harness.playout.statistics
        #expect(statistics.received == 50 && statistics.lost == 0 && concealedBlocks(in: harness, firstPlayed: 100) == 0)
    }

    /// A talkspurt shorter than the target delay (two packets, 40 ms < 80 ms) is played once
    /// its first packet has waited the target, not held back until the next talkspurt.
    @Test func aTalkspurtShorterThanTheTargetIsPlayed() {
        var harness = PlayoutHarness()
        harness.schedule(regularPackets(count: 2, firstSequence: 100))
        harness.run(until: 400 * ms)
        #expect(harness.playedValues.contains(100) && harness.playedValues.contains(101), "\(harness.blocks.map(\.kind))")
        let firstPlayed = harness.blocks.firstIndex { $0.kind == .normal }
        #expect(firstPlayed.map { $0 <= 9 } == true, "played from about 80 ms on, block \(String(describing: firstPlayed))")
    }

    @Test func reorderingWithinTheWindowIsRepaired() {
        var harness = PlayoutHarness()
        var packets = regularPackets(count: 50, firstSequence: 100)
        packets[5].arrival = packets[6].arrival + 19 * ms  // 105 after 106
        packets[20].arrival = packets[22].arrival + 5 * ms  // 120 after 121 and 122
        harness.schedule(packets)
        harness.run(until: 1100 * ms)
        #expect(Array(harness.playedValues.prefix(100)) == twoBlocksEach(Array(100..<150)))
        #expect(harness.playout.statistics.late == 0 && concealedBlocks(in: harness, firstPlayed: 100) == 0)
    }

    @Test func duplicatesAreDroppedAndCounted() {
        var harness = PlayoutHarness()
        let packets = regularPackets(count: 20, firstSequence: 100)
        harness.schedule(packets)
        harness.run(until: 50 * ms)
        #expect(harness.insert(packets[1]) == .duplicate)  // still waiting
        harness.run(until: 200 * ms)
        #expect(harness.insert(packets[0]) == .duplicate)
        harness.run(until: 500 * ms)  // already played
        #expect(Array(harness.playedValues.prefix(30)) == twoBlocksEach(Array(100..<115)))
        #expect(harness.playout.statistics.duplicates == 2)
    }

    @Test func latePacketsAreDroppedAndCountedAndTheirPlaceRebuiltFromFEC() {
        var harness = PlayoutHarness()
        var packets = regularPackets(count: 30, firstSequence: 100)
        packets[10].arrival += 300 * ms
        harness.schedule(packets)
        harness.run(until: 700 * ms)
        #expect(harness.outcomes[110] == [.late])
        let expected = twoBlocksEach(Array(100..<110)) + [111.25, 111.25] + twoBlocksEach(Array(111..<130))
        #expect(Array(harness.playedValues.prefix(60)) == expected)
        let statistics = harness.playout.statistics
        #expect(statistics.late == 1 && statistics.fecRecovered == 1 && statistics.lost == 0)
    }

    @Test func aSingleLossIsRebuiltWithFECFromTheNextPacket() throws {
        var harness = PlayoutHarness()
        var packets = regularPackets(count: 30, firstSequence: 100)
        packets.remove(at: 10)
        harness.schedule(packets)
        harness.run(until: 700 * ms)
        let calls = harness.playout.decoder.calls
        let fec = try #require(calls.firstIndex(of: .decode(111, fec: true, samples: 960)))
        #expect(calls[fec + 1] == .decode(111, fec: false, samples: 960))
        #expect(!calls.contains(.decode(110, fec: false, samples: 960)))
        let expected = twoBlocksEach(Array(100..<110)) + [111.25, 111.25] + twoBlocksEach(Array(111..<130))
        #expect(Array(harness.playedValues.prefix(60)) == expected)
        let statistics = harness.playout.statistics
        #expect(statistics.fecRecovered == 1 && statistics.lost == 1 && concealedBlocks(in: harness, firstPlayed: 60) == 0)
    }

    @Test func twoConsecutiveLossesConcealTheFirstAndRebuildTheSecond() {
        var harness = PlayoutHarness()
        var packets = regularPackets(count: 30, firstSequence: 100)
        packets.removeSubrange(10...11)
        harness.schedule(packets)
        harness.run(until: 700 * ms)
        let expected = twoBlocksEach(Array(100..<110)) + [-1, -1, 112.25, 112.25] + twoBlocksEach(Array(112..<130))
        #expect(Array(harness.playedValues.prefix(60)) == expected)
        #expect(harness.playout.decoder.calls.contains(.conceal(480)))
        let statistics = harness.playout.statistics
        #expect(concealedBlocks(in: harness, firstPlayed: 60) == 2 && statistics.fecRecovered == 1 && statistics.lost == 2)
    }

    @Test func aDecoderFailureIsConcealedAndCounted() {
        var decoder = FakeDecoder()
        decoder.failing = [115]
        var harness = PlayoutHarness(decoder: decoder)
        harness.schedule(regularPackets(count: 30, firstSequence: 100))
        harness.run(until: 700 * ms)
        let expected = twoBlocksEach(Array(100..<115)) + [-1, -1] + twoBlocksEach(Array(116..<130))
        #expect(Array(harness.playedValues.prefix(60)) == expected)
        let statistics = harness.playout.statistics
        #expect(statistics.decoderFailures == 1 && concealedBlocks(in: harness, firstPlayed: 60) == 2)
    }

    @Test func packetsOf10To60MillisecondsAreServedIn10MillisecondBlocks() {
        let durations = [960, 480, 1920, 2880, 960, 480, 480, 2880, 1920]
        var packets: [ScriptedPacket] = []
        var timestamp: UInt32 = 0
        var expected: [Float] = []
        for index in 0..<36 {
            let duration = durations[index % durations.count]
            packets.append(ScriptedPacket(sequence: UInt16(100 + index), timestamp: timestamp,
                                          arrival: UInt64(timestamp + UInt32(duration)) / 48 * ms, duration: duration))
            expected += Array(repeating: Float(100 + index), count: duration / 480)
            timestamp += UInt32(duration)
        }
        var harness = PlayoutHarness()
        harness.schedule(packets)
        harness.run(until: UInt64(timestamp) / 48 * ms)
        // Buffering ends when the first packet has waited the target (80 ms) or the stored span
        // reaches it, whichever comes first; packets older than the target needs would be
        // dropped to keep the latency down. Here packet 100 has waited 80 ms first.
        let first = harness.playedValues.first ?? 0
        let skipped = expected.firstIndex(of: first) ?? 0
        let played = harness.playedValues.prefix(expected.count - skipped - 12)
        #expect(first == 100)
        let arrival = Int(packets[0].arrival / ms)
        #expect(harness.blocks.prefix { $0.kind == .buffering }.count == (arrival + 80 + 9) / 10, "100 arrived at \(arrival) ms, played 80 ms later")
        #expect(Array(played) == Array(expected.dropFirst(skipped).prefix(played.count)))
        #expect(played.count > 60 && concealedBlocks(in: harness, firstPlayed: played.count) == 0)
    }

    @Test func anEndedStreamConcealsBrieflyThenReturnsToBuffering() {
        var harness = PlayoutHarness()
        harness.schedule(regularPackets(count: 20, firstSequence: 100))
        harness.run(until: 1500 * ms)
        let tail = harness.blocks.drop { $0.kind == .buffering }.drop { $0.kind == .normal }
        #expect(tail.prefix { $0.kind == .concealed }.count == 20)  // 200 ms of PLC
        #expect(tail.dropFirst(20).allSatisfy { $0.kind == .buffering && $0.first == 0 })
    }

    @Test func sequenceNumbersAndTimestampsWrapAround() {
        // A steady stream's target falls to 40 ms; no drops here, to see every packet.
        var harness = PlayoutHarness(configuration: .withoutDrops)
        harness.schedule(regularPackets(count: 80, firstSequence: 65_500, firstTimestamp: UInt32.max - 960 * 10 + 1))
        harness.run(until: 1800 * ms)
        let sequences = (0..<80).map { UInt16(65_500) &+ UInt16($0) }
        #expect(Array(harness.playedValues.prefix(160)) == twoBlocksEach(sequences))
        let statistics = harness.playout.statistics
        #expect(statistics.resets == 0 && statistics.lost == 0 && statistics.late == 0)
    }

    @Test func aTimestampJumpRestartsTheStream() {
        var harness = PlayoutHarness()
        let before = regularPackets(count: 30, firstSequence: 100)
        let after = regularPackets(count: 30, firstSequence: 130, firstTimestamp: 30 * 960 + 48_000 * 10, start: 600 * ms)
        harness.schedule(before + after)
        harness.run(until: 1400 * ms)
        #expect(harness.playout.statistics.resets == 1)
        #expect(harness.playout.decoder.calls.contains(.reset))
        let fromJump: ArraySlice<RenderedBlock> = harness.blocks.drop { $0.time < 600 * ms }
        let rebuffering: ArraySlice<RenderedBlock> = fromJump.drop { $0.kind != .buffering }
        let afterRestart = rebuffering.drop { $0.kind == .buffering }.map(\.first)
        #expect(Array(afterRestart.prefix(40)) == twoBlocksEach(Array(130..<150)))
    }

    /// A playout given to another source (the receiver's fixed slot pool) starts as a new
    /// one: counters at zero, the start target, and the new stream played from its first
    /// packet, whatever the last one left behind.
    @Test func aReusedPlayoutStartsLikeANewOne() {
        var harness = PlayoutHarness()
        var generator = SeededGenerator(state: 3)
        var first = regularPackets(count: 100, firstSequence: 100) { _ in UInt64.random(in: 0...150, using: &generator) * ms }
        first.remove(at: 60)  // one loss
        harness.schedule(first)
        harness.run(until: 3000 * ms)
        let used = harness.playout.statistics
        #expect(used.lost > 0 && used.targetDelayMilliseconds > 80, "the first owner left loss and a raised target: \(used)")
        harness.playout.reuse()
        #expect(harness.playout.decoder.calls.last == .reset)
        var fresh = JitterBufferStatistics()
        fresh.targetDelayMilliseconds = 80
        #expect(harness.playout.statistics == fresh)
        harness.blocks.removeAll()
        harness.schedule(regularPackets(count: 50, firstSequence: 40_000, firstTimestamp: 77_777, start: 3000 * ms))
        harness.run(until: 4100 * ms)
        #expect(harness.blocks.prefix { $0.kind == .buffering }.count == 8, "buffers its start target, as a new playout")
        #expect(Array(harness.playedValues.prefix(100)) == twoBlocksEach(Array(40_000..<40_050)))
        #expect(harness.playout.statistics.lost == 0 && harness.playout.statistics.late == 0)
    }

    @Test func invalidPacketsAreRejectedAndCounted() {
        var playout = AudioPlayout(decoder: FakeDecoder())
        let big = [UInt8](repeating: 1, count: 1501), small = [UInt8](repeating: 1, count: 10)
        big.withUnsafeBytes { #expect(playout.insert(sequence: 1, timestamp: 0, duration: 960, audioLevel: nil, marker: false, payload: $0, arrival: 0) == .invalid) }
        small.withUnsafeBytes { bytes in
            #expect(playout.insert(sequence: 1, timestamp: 0, duration: 960, audioLevel: nil, marker: false,
                                   payload: UnsafeRawBufferPointer(rebasing: bytes[0..<0]), arrival: 0) == .invalid)
            for duration in [0, -960, 1000, 5760 + 120] {
                #expect(playout.insert(sequence: 1, timestamp: 0, duration: duration, audioLevel: nil, marker: false, payload: bytes, arrival: 0) == .invalid)
            }
            #expect(playout.insert(sequence: 1, timestamp: 0, duration: 120, audioLevel: nil, marker: false, payload: bytes, arrival: 0) == .stored)
        }
        let statistics = playout.statistics
        #expect(statistics.invalid == 6 && statistics.received == 1)
    }
}
