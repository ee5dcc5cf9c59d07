import RTCP
import Testing
@testable import Congestion

/// Transport-cc feedback from the peer joined with what the box sent.
@Suite struct TransportFeedbackAdapterTests {
    static let millisecond: UInt64 = 1_000_000

    /// Packets 65 530…65 545 (across the wrap) sent 1 ms apart, 1 000 octets each.
    static func history() -> TransportSendHistory {
        var history = TransportSendHistory()
        for index in 0..<16 {
            history.record(sequence: 65_530 &+ UInt16(index), size: 1000, at: 1_000 * millisecond + UInt64(index) * millisecond)
        }
        return history
    }

    static func feedback(base: UInt16, count: UInt8, reference: Int32, deltas: [Int32?]) -> TransportCCFeedback {
        TransportCCFeedback(sender: 1, media: 2, baseSequence: base, referenceTime: reference, feedbackCount: count,
                            packets: deltas.enumerated().map { .init(sequence: base &+ UInt16($0.offset), delta: $0.element) })
    }

    @Test func eachReportIsJoinedWithItsSendTimeAndSize() throws {
        var history = Self.history()
        var adapter = TransportFeedbackAdapter()
        adapter.process(Self.feedback(base: 65_534, count: 0, reference: 100, deltas: [8, 8, nil, 12]), history: &history)
        #expect(adapter.results.map(\.sequence) == [65_534, 65_535, 65_536, 65_537])
        #expect(adapter.results.map(\.sentAt) == [1_004, 1_005, 1_006, 1_007].map { $0 * Self.millisecond })
        #expect(adapter.results.map(\.arrival) == [6_402_000, 6_404_000, nil, 6_407_000])
        #expect(adapter.results.allSatisfy { $0.size == 1000 })
        #expect(adapter.statistics == .init(feedbacks: 1, feedbacksLost: 0, acknowledged: 3, reportedLost: 1, unmatched: 0,
                                            acknowledgedOctets: 3000, arrivalSpan: 5000))
    }

    /// A packet acknowledged again (a later window moved back) is not counted twice; one
    /// reported lost and then received is; a report of what the history does not hold is
    /// counted as unmatched; a gap in the feedback count is lost feedback.
    @Test func duplicatesUnmatchedAndLostFeedback() {
        var history = Self.history()
        var adapter = TransportFeedbackAdapter()
        adapter.process(Self.feedback(base: 65_534, count: 7, reference: 100, deltas: [8, nil]), history: &history)
        adapter.process(Self.feedback(base: 65_534, count: 9, reference: 100, deltas: [8, 20, 4]), history: &history)
        #expect(adapter.results.map(\.sequence) == [65_535, 65_536])
        adapter.process(Self.feedback(base: 40_000, count: 10, reference: 101, deltas: [4]), history: &history)
        #expect(adapter.results.isEmpty)
        #expect(adapter.statistics == .init(feedbacks: 3, feedbacksLost: 1, acknowledged: 3, reportedLost: 1, unmatched: 1,
                                            acknowledgedOctets: 3000, arrivalSpan: 6000))
        #expect(adapter.statistics.averageAcknowledgedKbps == nil, "6 ms of arrivals is no average")
    }

    /// The 24-bit reference time wraps every 12.4 days: arrivals stay continuous across it.
    @Test func theReferenceTimeIsUnwrapped() throws {
        var history = Self.history()
        var adapter = TransportFeedbackAdapter()
        adapter.process(Self.feedback(base: 65_530, count: 0, reference: 8_388_607, deltas: [0]), history: &history)
        let before = try #require(adapter.results.first?.arrival)
        adapter.process(Self.feedback(base: 65_531, count: 1, reference: -8_388_608, deltas: [0]), history: &history)
        let after = try #require(adapter.results.first?.arrival)
        #expect(after - before == 64_000)
    }

    @Test func theAcknowledgedRateCountsWhatArrivedAndSkipsTheLost() {
        var rate = AcknowledgedBitrate()
        #expect(rate.bitsPerSecond == nil)
        // 1 250 octets every 10 ms: 1 Mbit/s, for 1 s.
        let results = (0..<100).map { PacketResult(sequence: Int64($0), sentAt: 0, size: 1250, arrival: Int64($0) * 10_000) }
        rate.add(Array(results.prefix(10)))
        #expect(rate.bitsPerSecond == nil, "not a window's worth yet")
        rate.add(Array(results.dropFirst(10)) + [PacketResult(sequence: 100, sentAt: 0, size: 99_999, arrival: nil)])
        let measured = rate.bitsPerSecond ?? 0
        #expect(abs(measured - 1_000_000) <= 25_000, "\(measured)")
    }

    @Test func theHistoryForgetsWhatIsOlderThanItsRing() {
        var history = TransportSendHistory()
        for index in 0..<(TransportSendHistory.capacity + 10) {
            history.record(sequence: UInt16(truncatingIfNeeded: index), size: 100, at: UInt64(index))
        }
        #expect(history.entry(5) == nil)
        #expect(history.entry(UInt16(TransportSendHistory.capacity + 5))?.entry.sentAt == UInt64(TransportSendHistory.capacity + 5))
    }
}
