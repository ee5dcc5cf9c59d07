import Testing
import Wire
@testable import RTCP

/// Transport-cc feedback as the box writes it: the wire form (read back by our parser, laid
/// out as libwebrtc lays it out) and the generator's timing and content (JVB's rules).
@Suite struct TransportFeedbackTests {
    static let millisecond: UInt64 = 1_000_000

    /// Runs the generator over (sequence, arrival ms, marker) and returns the feedback packets
    /// it wrote each time one was due.
    static func feed(_ generator: inout TransportFeedbackGenerator, _ arrivals: [(UInt16, Double, Bool)]) -> [[TransportCCFeedback]] {
        var written: [[TransportCCFeedback]] = []
        for (sequence, milliseconds, marker) in arrivals {
            let now = UInt64(milliseconds * 1_000_000) + 5_000 * millisecond
            guard generator.received(sequence: sequence, mediaSSRC: 0xABCD, marker: marker, now: now) else { continue }
            written.append(drain(&generator))
        }
        return written
    }

    static func drain(_ generator: inout TransportFeedbackGenerator) -> [TransportCCFeedback] {
        var packets: [TransportCCFeedback] = []
        var more = true
        while more {
            let wire = bytes { more = generator.write(sender: 7, into: &$0) }
            guard case .transportCC(let feedback)? = parse(wire)?.first else { Issue.record("unparsable feedback \(wire)"); return packets }
            packets.append(feedback)
        }
        return packets
    }

    /// Arrival times (µs after the reference) that a feedback says, nil for the lost.
    static func arrivals(_ feedback: TransportCCFeedback) -> [UInt16: Int64?] {
        var time = Int64(feedback.referenceTime) * 64_000
        var result: [UInt16: Int64?] = [:]
        for packet in feedback.packets {
            guard let delta = packet.delta else { result[packet.sequence] = .some(nil); continue }
            time += Int64(delta) * 250
            result[packet.sequence] = time
        }
        return result
    }

    @Test func theWireFormIsLibwebrtcsWithItsPadding() {
        let feedback = TransportCCFeedback(sender: 1, media: 2, baseSequence: 10, referenceTime: 16, feedbackCount: 7, packets: [
            .init(sequence: 10, delta: 4), .init(sequence: 11, delta: 8), .init(sequence: 12, delta: 12),
            .init(sequence: 13, delta: -2), .init(sequence: 14, delta: nil), .init(sequence: 15, delta: nil),
        ])
        let wire = bytes { feedback.write(into: &$0) }
        #expect(wire == [0xAF, 205, 0, 6, 0, 0, 0, 1, 0, 0, 0, 2,
                         0, 10, 0, 6, 0, 0, 16, 7,   // base 10, 6 statuses, reference 16, count 7
                         0xD5, 0x80,                 // two-bit vector: small ×3, large, lost ×2 (+1 unused)
                         4, 8, 12, 0xFF, 0xFE,       // deltas
                         1])                         // one octet of padding, counted in the last
        #expect(parse(wire) == [.transportCC(feedback)])
    }

    @Test func runsAndOneBitVectorsRoundTrip() {
        var packets = (0..<40).map { TransportCCFeedback.Packet(sequence: 65_520 &+ UInt16($0), delta: 20) }  // a run across the wrap
        packets += (40..<60).map { TransportCCFeedback.Packet(sequence: 65_520 &+ UInt16($0), delta: $0 % 3 == 0 ? nil : 1) }
        packets += (60..<70).map { TransportCCFeedback.Packet(sequence: 65_520 &+ UInt16($0), delta: $0 % 2 == 0 ? -400 : 300) }
        let feedback = TransportCCFeedback(sender: 1, media: 2, baseSequence: 65_520, referenceTime: -3, feedbackCount: 255, packets: packets)
        let wire = bytes { feedback.write(into: &$0) }
        #expect(wire.count % 4 == 0)
        #expect(parse(wire) == [.transportCC(feedback)])
        #expect(wire[20] == 0x20 && wire[21] == 42, "the 42 received first (40 + 2 of the mixed part) are one run-length chunk")
    }

    /// JVB's rule: the first packet arms the clock, then a feedback 100 ms after the last one,
    /// or 20 ms after it when a frame ends.
    @Test func feedbackIsDueAfter100msOr20msAtAMarker() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1500, alignment: 4)
        defer { buffer.deallocate() }
        var writer = ByteWriter(buffer)
        var generator = TransportFeedbackGenerator()
        func at(_ ms: UInt64) -> UInt64 { 5_000 * Self.millisecond + ms * Self.millisecond }
        func receive(_ sequence: UInt16, _ ms: UInt64, marker: Bool) -> Bool {
            generator.received(sequence: sequence, mediaSSRC: 9, marker: marker, now: at(ms))
        }
        func due(_ ms: UInt64) -> Bool { generator.isDue(now: at(ms)) }
        #expect(!receive(1, 0, marker: true), "the first packet only arms")
        #expect(!receive(2, 15, marker: true), "a marker before 20 ms")
        #expect(!receive(3, 60, marker: false), "no marker, before 100 ms")
        #expect(receive(4, 61, marker: true), "a marker after 20 ms")
        let more = generator.write(sender: 7, into: &writer)
        #expect(!more)
        #expect(!receive(5, 150, marker: false))
        #expect(receive(6, 161, marker: false), "100 ms after the last feedback")
        _ = generator.write(sender: 7, into: &writer)
        #expect(!due(170), "nothing pending")
        #expect(!receive(7, 200, marker: false))
        #expect(!due(250), "89 ms after the last feedback")
        #expect(due(262), "what waits goes out 100 ms later without a packet")
    }

    @Test func eachFeedbackReportsWhatArrivedWhenAndWhatWasLost() throws {
        var generator = TransportFeedbackGenerator()
        // 100…109 3.3 ms apart, 104 and 107 lost, the marker at 109 (33 ms), then 110 at 140 ms.
        var arrivals: [(UInt16, Double, Bool)] = []
        for index in 0..<9 where index != 4 && index != 7 { arrivals.append((UInt16(100 + index), 3.3 * Double(index), false)) }
        arrivals.append((109, 33, true))
        arrivals.append((110, 140, true))
        let written = Self.feed(&generator, arrivals)
        #expect(written.count == 2)
        let first = try #require(written.first?.first)
        #expect(first.baseSequence == 100 && first.feedbackCount == 0 && first.media == 0xABCD && first.sender == 7)
        #expect(first.packets.map(\.sequence) == Array(100...109))
        let times = Self.arrivals(first)
        #expect(times[104] == .some(nil) && times[107] == .some(nil))
        let start = try #require(times[100] ?? nil)
        for index in [1, 2, 3, 5, 6, 8] {
            let said = try #require(times[UInt16(100 + index)] ?? nil)
            #expect(abs(Double(said - start) - 3300 * Double(index)) <= 250, "packet \(index) at \(said - start) µs")
        }
        #expect(written[1].first?.baseSequence == 110 && written[1].first?.packets.count == 1 && written[1].first?.feedbackCount == 1)
        #expect(generator.feedbackWritten == 2 && generator.packetsReported == 9)
    }

    /// A packet reported lost that arrives after all moves the window back: the next feedback
    /// reports it received (libwebrtc's and JVB's behaviour; the sender ignores duplicates).
    @Test func aLatePacketIsReportedAfterAll() throws {
        var generator = TransportFeedbackGenerator()
        let written = Self.feed(&generator, [(1, 0, false), (3, 5, true), (4, 30, true), (2, 60, false), (5, 140, true)])
        #expect(written.count == 2)
        #expect(Self.arrivals(try #require(written[0].first))[2] == .some(nil))
        let second = try #require(written[1].first)
        #expect(second.baseSequence == 2 && second.packets.map(\.sequence) == [2, 3, 4, 5])
        #expect(second.packets.allSatisfy { $0.delta != nil }, "\(second.packets)")
    }

    /// Rounding to 250 µs never accumulates: 300 packets 1.1 ms apart end where they arrived.
    @Test func roundingDoesNotDrift() throws {
        var generator = TransportFeedbackGenerator()
        var arrivals: [(UInt16, Double, Bool)] = []
        for index in 0..<300 { arrivals.append((UInt16(truncatingIfNeeded: 65_400 + index), 1.1 * Double(index), false)) }
        arrivals.append((UInt16(truncatingIfNeeded: 65_700), 400, true))
        let written = Self.feed(&generator, arrivals)
        let packets = written.flatMap { $0 }
        let first = try #require(packets.first)
        let start = try #require(Self.arrivals(first)[65_400] ?? nil)
        for feedback in packets {
            for (sequence, said) in Self.arrivals(feedback) {
                let index = Int(sequence &- 65_400)
                let expected = index == 300 ? 400_000.0 : 1100 * Double(index)
                #expect(abs(Double(try #require(said) - start) - expected) <= 250, "packet \(index)")
            }
        }
        let reported = Set(packets.flatMap { (feedback: TransportCCFeedback) in feedback.packets.map { $0.sequence } })
        #expect(reported.count == 301)
    }

    /// More than fits one feedback, or a gap longer than 16 bits of 250 µs (8.2 s): split.
    @Test func largeWindowsAndLongGapsAreSplit() throws {
        var generator = TransportFeedbackGenerator()
        for index in 0..<1000 {
            _ = generator.received(sequence: UInt16(index), mediaSSRC: 1, marker: false, now: 10_000 * Self.millisecond + UInt64(index) * 50_000)
        }
        let burst = Self.drain(&generator)
        #expect(burst.count == 3 && burst.map(\.packets.count) == [400, 400, 200])
        #expect(burst.map(\.baseSequence) == [0, 400, 800] && burst.map(\.feedbackCount) == [0, 1, 2])
        _ = generator.received(sequence: 1000, mediaSSRC: 1, marker: false, now: 10_100 * Self.millisecond)
        _ = generator.received(sequence: 1001, mediaSSRC: 1, marker: false, now: 19_000 * Self.millisecond)
        let gap = Self.drain(&generator)
        #expect(gap.map(\.baseSequence) == [1000, 1001] && gap.allSatisfy { $0.packets.count == 1 })
    }

    /// Found by the fuzzer: 65 535 before the first packet unwraps to −1, which an empty slot
    /// of the ring must not be mistaken for.
    @Test func aPacketBeforeTheFirstAcrossTheWrapIsNotInventedOrLost() throws {
        var generator = TransportFeedbackGenerator()
        let written = Self.feed(&generator, [(1, 0, false), (65_534, 10, false), (2, 120, false)])
        let feedback = try #require(written.first?.first)
        #expect(feedback.baseSequence == 65_534 && feedback.packets.map(\.sequence) == [65_534, 65_535, 0, 1, 2])
        #expect(feedback.packets.map { $0.delta != nil } == [true, false, false, true, true])
    }

    @Test func duplicatesKeepTheirFirstArrival() throws {
        var generator = TransportFeedbackGenerator()
        let written = Self.feed(&generator, [(1, 0, false), (2, 10, false), (2, 50, false), (3, 120, false)])
        let feedback = try #require(written.first?.first)
        let times = Self.arrivals(feedback)
        let one = try #require(times[1] ?? nil), two = try #require(times[2] ?? nil)
        #expect(abs(Double(two - one) - 10_000) <= 250 && feedback.packets.count == 3)
    }
}
