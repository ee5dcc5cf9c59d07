import Testing
import Wire
@testable import RTCP

let ms: UInt64 = 1_000_000

@Suite struct ReceiveStatisticsTests {
    @Test func lossFractionAndCumulativeLossPerInterval() throws {
        var statistics = ReceiveStatistics(ssrc: 9, clockRate: 90000)
        for sequence in UInt16(65530)...UInt16(65535) { statistics.received(sequence: sequence, rtpTimestamp: 0, now: 0) }
        for sequence in [UInt16(2), 3] { statistics.received(sequence: sequence, rtpTimestamp: 0, now: 0) }  // 0 and 1 lost across the wrap
        let firstReport = statistics.report(now: 0)
        let first = try #require(firstReport)
        #expect(first.cumulativeLost == 2 && first.fractionLost == UInt8(2 * 256 / 10))
        #expect(first.extendedHighestSequence == 65536 + 3)
        for sequence in UInt16(4)...UInt16(13) { statistics.received(sequence: sequence, rtpTimestamp: 0, now: 0) }
        let secondReport = statistics.report(now: 0)
        let second = try #require(secondReport)
        #expect(second.fractionLost == 0 && second.cumulativeLost == 2)
    }

    @Test func jitterIsZeroForRegularArrivalsAndGrowsWithIrregularOnes() throws {
        var regular = ReceiveStatistics(ssrc: 1, clockRate: 90000)
        var irregular = ReceiveStatistics(ssrc: 1, clockRate: 90000)
        for frame in 0..<100 {
            let timestamp = UInt32(frame * 3000)
            regular.received(sequence: UInt16(frame), rtpTimestamp: timestamp, now: UInt64(frame) * 33_333_333)
            irregular.received(sequence: UInt16(frame), rtpTimestamp: timestamp, now: UInt64(frame) * 33_333_333 + (frame % 2 == 0 ? 0 : 10 * ms))
        }
        let regularReport = regular.report(now: 0), irregularReport = irregular.report(now: 0)
        #expect(try #require(regularReport).jitter <= 1)
        #expect(try #require(irregularReport).jitter > 500, "10 ms of spread is 900 ticks at 90 kHz")
    }

    /// A timestamp wrap (every 13 h at 90 kHz) is a step like any other, and times far
    /// beyond a monotonic clock's (a camera stamping wall-clock time) do not overflow.
    @Test func jitterIgnoresTheTimestampWrapAndHugeTimes() throws {
        var statistics = ReceiveStatistics(ssrc: 1, clockRate: 90000)
        let start: UInt64 = 1_700_000_000_000_000_000
        for frame in 0..<100 {
            let timestamp = UInt32.max - 150_000 &+ UInt32(frame * 3000)
            statistics.received(sequence: UInt16(frame), rtpTimestamp: timestamp, now: start + UInt64(frame) * 33_333_333)
        }
        let produced = statistics.report(now: start)
        #expect(try #require(produced).jitter <= 1)
    }

    @Test func lastSenderReportIsEchoedWithItsDelay() throws {
        var statistics = ReceiveStatistics(ssrc: 1, clockRate: 48000)
        statistics.received(sequence: 1, rtpTimestamp: 0, now: 0)
        statistics.senderReport(ntpTimestamp: 0x1234_5678_9ABC_DEF0, now: 1000 * ms)
        let produced = statistics.report(now: 1500 * ms)
        let report = try #require(produced)
        #expect(report.lastSenderReport == 0x5678_9ABC)
        #expect(report.delaySinceLastSenderReport == 32768, "half a second in 1/65536 s")
    }
}

@Suite struct NACKGeneratorTests {
    @Test func gapsAreRequestedThenRetriedOncePerInterval() {
        var generator = NACKGenerator()
        for sequence: UInt16 in [10, 11, 14, 15] { generator.received(sequence: sequence, now: 0) }
        let result1 = generator.due(now: 0, retryInterval: 100 * ms)
        #expect(result1 == [12, 13])
        let result2 = generator.due(now: 50 * ms, retryInterval: 100 * ms)
        #expect(result2.isEmpty)
        generator.received(sequence: 12, now: 60 * ms)  // the retransmission arrived
        let result3 = generator.due(now: 100 * ms, retryInterval: 100 * ms)
        #expect(result3 == [13])
        let result4 = generator.due(now: 2000 * ms, retryInterval: 100 * ms)
        #expect(result4.isEmpty, "too old to be useful")
        #expect(generator.missingCount == 0)
    }

    @Test func wrapAroundAndStreamRestarts() {
        var generator = NACKGenerator()
        generator.received(sequence: 65534, now: 0)
        generator.received(sequence: 1, now: 0)
        let result5 = generator.due(now: 0, retryInterval: 100 * ms)
        #expect(result5 == [65535, 0])
        generator.received(sequence: 30000, now: 0)
        #expect(generator.missingCount == 0, "a jump of thousands is a new stream, not loss")
    }

    /// Seven jumps of nearly 1000 within a second (a sender re-basing its numbers) leave
    /// thousands missing: each NACK asks for the oldest 200, and its packet always fits.
    @Test func aNACKNeverOutgrowsTheRTCPBuffer() {
        var generator = NACKGenerator()
        var sequence: UInt16 = 0
        generator.received(sequence: sequence, now: 0)
        for _ in 0..<7 {
            sequence &+= 999
            generator.received(sequence: sequence, now: 0)
        }
        #expect(generator.missingCount > 6000)
        let due = generator.due(now: 0, retryInterval: 100 * ms)
        #expect(due.count == generator.maximumPerRequest && due.first == 1)
        // Every other number missing: one FCI each, 4 bytes; a small buffer takes what fits.
        var buffer = [UInt8](repeating: 0, count: 100)
        let written = buffer.withUnsafeMutableBytes { raw -> Int in
            var writer = ByteWriter(raw)
            TransportLayerNACK(sender: 1, media: 2, lostSequenceNumbers: (0..<200).map { UInt16($0 * 40) }).write(into: &writer)
            return writer.offset
        }
        #expect(written == 100, "filled to the last whole FCI, no trap: \(written)")
    }

    @Test func requestsAreLimitedInNumber() {
        var generator = NACKGenerator()
        generator.received(sequence: 1, now: 0)
        generator.received(sequence: 3, now: 0)
        var sent = 0
        for step in 0..<20 { sent += generator.due(now: UInt64(step) * 20 * ms, retryInterval: 10 * ms).count }
        #expect(sent == generator.maximumRequests)
    }
}

@Suite struct SenderPolicyTests {
    @Test func lossBasedBitrateFollowsGoogCCsRules() {
        var bitrate = LossBasedBitrate(minimumKbps: 100, maximumKbps: 1500, startKbps: 1000)
        let result6 = bitrate.update(fractionLost: 0, now: 1000 * ms)
        #expect(result6 == 1081, "+8 % a second, at most")
        let result7 = bitrate.update(fractionLost: 13, now: 1500 * ms)
        #expect(result7 == 1081, "5 % loss holds")
        let result8 = bitrate.update(fractionLost: 64, now: 2000 * ms)
        #expect(result8 == 945, "25 % loss cuts by 12.5 %")
        for step in 0..<100 { bitrate.update(fractionLost: 255, now: UInt64(3000 + 400 * step) * ms) }
        #expect(bitrate.currentKbps == 100, "never below the floor")
        for step in 0..<100 { bitrate.update(fractionLost: 0, now: UInt64(50_000 + 1000 * step) * ms) }
        #expect(bitrate.currentKbps == 1500, "never above the configured maximum")
    }

    /// The reports a receiver sends with its NACKs, a few packets each: judged over 20
    /// expected packets at least, and cut at most once per 300 ms + a round trip.
    @Test func lossBasedBitrateJudgesEnoughPacketsAndCutsAtMostEvery300ms() {
        var bitrate = LossBasedBitrate(minimumKbps: 100, maximumKbps: 1500, startKbps: 1000)
        bitrate.roundTrip = 50 * ms
        func report(lost: Int32, highest: UInt32) -> ReceptionReport {
            ReceptionReport(ssrc: 1, fractionLost: 0, cumulativeLost: lost, extendedHighestSequence: highest, jitter: 0,
                            lastSenderReport: 0, delaySinceLastSenderReport: 0)
        }
        bitrate.update(report: report(lost: 0, highest: 1000), now: 0)  // the baseline
        // Ten reports 20 ms apart, each 3 packets later with one more lost: 33 % each alone.
        for step in 1...10 { bitrate.update(report: report(lost: Int32(step), highest: UInt32(1000 + 3 * step)), now: UInt64(step) * 20 * ms) }
        // 30 expected, 10 lost: one judgement of 33 % after the seventh report (21 expected),
        // one cut of 16.7 % (the rest of the burst waits for the next 20 packets).
        #expect(bitrate.currentKbps == 833, "\(bitrate.currentKbps)")
        // Further heavy loss within 350 ms of that cut: no second cut.
        for step in 11...20 { bitrate.update(report: report(lost: Int32(10 + 5 * (step - 10)), highest: UInt32(1030 + 10 * (step - 10))), now: UInt64(step) * 20 * ms) }
        #expect(bitrate.currentKbps == 833, "\(bitrate.currentKbps)")
        bitrate.update(report: report(lost: 80, highest: 1150), now: 600 * ms)
        #expect(bitrate.currentKbps < 833, "after 350 ms the next judgement may cut: \(bitrate.currentKbps)")
    }

    @Test func keyframeRequestsInABurstGetOneKeyframe() {
        var limiter = KeyframeRequestLimiter()
        let result9 = limiter.request(now: 0)
        #expect(result9)
        let result10 = limiter.request(now: 40 * ms)
        #expect(!result10)
        let result11 = limiter.request(now: 99 * ms)
        #expect(!result11)
        let result12 = limiter.request(now: 100 * ms)
        #expect(result12)
        #expect(limiter.ignored == 2)
    }

    @Test func aPacketIsResentAgainOnlyAfterARoundTrip() {
        var limiter = RetransmissionLimiter()
        var allowed: Bool
        allowed = limiter.allow(7, now: 0)
        #expect(allowed)
        allowed = limiter.allow(7, now: 5 * ms)
        #expect(!allowed, "asked again before the resend could arrive (10 ms until a round trip is known)")
        allowed = limiter.allow(8, now: 5 * ms)
        #expect(allowed)
        allowed = limiter.allow(7, now: 10 * ms)
        #expect(allowed, "the resend was lost too: send it again")
        limiter.setRoundTrip(nanoseconds: 40 * ms)
        allowed = limiter.allow(9, now: 100 * ms)
        #expect(allowed)
        allowed = limiter.allow(9, now: 139 * ms)
        #expect(!allowed)
        allowed = limiter.allow(9, now: 140 * ms)
        #expect(allowed)
        limiter.setRoundTrip(nanoseconds: 1 * ms)
        #expect(limiter.minimumInterval == 5 * ms, "a floor: a receiver's NACK burst is not answered packet for packet")
        limiter.setRoundTrip(nanoseconds: 5_000 * ms)
        #expect(limiter.minimumInterval == 1_000 * ms)
    }

    @Test func theRoundTripComesFromTheReportsEchoOfOurSenderReport() {
        // RFC 3550 §6.4.1's example: A 46864.540 s, LSR 46853.125 s, DLSR 5.250 s → 6.165 s.
        let report = ReceptionReport(ssrc: 1, fractionLost: 0, cumulativeLost: 0, extendedHighestSequence: 0, jitter: 0,
                                     lastSenderReport: 0xB705_2000, delaySinceLastSenderReport: 0x0005_4000)
        #expect(report.roundTrip(arrivalNTPMiddle: 0xB710_8A40) == 6_165_039_062)  // 0x0006_2A40 / 65536 s
        var none = report
        none.lastSenderReport = 0
        #expect(none.roundTrip(arrivalNTPMiddle: 0xB710_8A40) == nil, "no SR from us reached the peer yet")
        #expect(report.roundTrip(arrivalNTPMiddle: 0xB705_2000) == nil, "arrived before it was sent: damaged, not used")
    }
}
