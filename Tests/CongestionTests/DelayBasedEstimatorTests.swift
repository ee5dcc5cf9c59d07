import Foundation
import Testing
@testable import Congestion

/// GoogCC's delay-based estimate against a simulated bottleneck in virtual time: RFC 8867's
/// capacity phases (pion's bwe-test) with the issue's criteria, deterministic and in
/// milliseconds; and its parts on their own, with expectations rewritten from libwebrtc's
/// rules in our own values.
@Suite struct DelayBasedEstimatorTests {
    /// 1 → 2.5 → 0.5 → 1 Mbit/s (40, 20, 20, 20 s), started at 300 kbit/s as Chromium does.
    @Test func theEstimateFollowsTheCapacityPhasesAndKeepsTheQueueShort() {
        var path = SimulatedBottleneck(capacityBps: 1_000_000, startBps: 300_000)
        var report: [String] = []
        let phases: [(capacity: Double, seconds: Double)] = [(1_000_000, 40), (2_500_000, 20), (500_000, 20), (1_000_000, 20)]
        var start = 0.0
        for phase in phases {
            path.capacityBps = phase.capacity
            path.run(seconds: phase.seconds)
            // The steady part: the second half of each phase.
            let steady = path.samples(from: start + phase.seconds / 2, to: start + phase.seconds)
            let rates = steady.map { $0.sentBps }
            let median = rates.percentile(0.5) / phase.capacity
            let queue = steady.map { Double($0.queueDelay) / 1000 }.percentile(0.95)
            let lost = Double(steady.reduce(0) { $0 + $1.lost }) / Double(max(1, steady.reduce(0) { $0 + $1.sent }))
            let end = path.samples(from: start + phase.seconds - 2, to: start + phase.seconds).map { $0.sentBps }.percentile(0.5) / phase.capacity
            report.append("\(Int(phase.capacity / 1000)) kbit/s: median sent \(String(format: "%.2f", median))× (\(String(format: "%.2f", end))× at the end), "
                          + "p95 queue \(Int(queue)) ms, loss \(String(format: "%.1f", lost * 100)) %")
            if phase.capacity == 2_500_000 {
                // Up from 1 Mbit/s without probing: additive increase near the old capacity,
                // then 8 %/s once above it — the capacity is reached within the phase, not for
                // its whole second half (that needs probing; research/next-stage.md §1.8); a
                // rise ends a little above it, until the queue says so.
                #expect(end >= 0.8 && end <= 1.05, "sending rate at the end of the rise: \(end)× — \(report)")
            } else {
                #expect(median >= 0.8 && median <= 1.0, "median sending rate at \(phase.capacity): \(median)× — \(report)")
            }
            #expect(queue < 100, "p95 queueing delay at \(phase.capacity): \(queue) ms — \(report)")
            #expect(lost < 0.01, "loss at \(phase.capacity): \(lost) — \(report)")
            if phase.capacity == 500_000 {
                // After the drop, the queue is short again within 2 s.
                let after = path.samples(from: start, to: start + 2).map(\.queueDelay)
                #expect(after.contains { $0 < 100_000 }, "queue after the drop: \(after.map { $0 / 1000 }) ms")
                let back = after.firstIndex { $0 < 100_000 }.map { Double($0) / 10 } ?? .infinity
                report.append("short again \(back) s after the drop")
            }
            start += phase.seconds
        }
        print("delay-based estimate, simulated bottleneck: \(report.joined(separator: "; "))")
    }

    /// Key frames five times an average frame every 5 s through a 1 Mbit/s bottleneck: each
    /// makes a queue spike (167 ms at this rate) and may read as overuse, but the rate does not
    /// collapse and no queue stands between them.
    @Test func keyFramesDoNotCollapseTheRate() {
        var path = SimulatedBottleneck(capacityBps: 1_000_000, startBps: 1_000_000)
        path.keyframeEvery = 150
        path.run(seconds: 60)
        let steady = path.samples(from: 20, to: 60)
        let median = steady.map { $0.sentBps }.percentile(0.5) / 1_000_000
        let typicalQueue = steady.map { Double($0.queueDelay) / 1000 }.percentile(0.5)
        print("delay-based estimate, key frames every 5 s at 1 Mbit/s: median sent \(String(format: "%.2f", median))×, median queue \(Int(typicalQueue)) ms, "
              + "p95 \(Int(steady.map { Double($0.queueDelay) / 1000 }.percentile(0.95))) ms")
        #expect(median >= 0.7 && median <= 1.0, "\(median)")
        #expect(typicalQueue < 50, "\(typicalQueue) ms")
    }

    @Test func withoutQueueingTheEstimateGrowsFromItsStart() throws {
        var path = SimulatedBottleneck(capacityBps: 50_000_000, startBps: 300_000)
        path.maximumVideoBps = 1_500_000
        path.run(seconds: 40)
        let estimate = path.estimator.estimate
        // 8 % a second from 300 kbit/s, then held at 1.5× what was acknowledged (+10 kbit/s):
        // an encoder sending less than allowed does not let the estimate run away.
        let acknowledged = Double(try #require(estimate.acknowledgedBps))
        #expect(acknowledged > 1_300_000 && acknowledged < 1_700_000, "\(estimate)")
        // Near 1.5× (the acknowledged rate wobbles by a frame per 150 ms window).
        #expect(Double(estimate.bps) > 1.3 * acknowledged && Double(estimate.bps) < 1.75 * acknowledged, "\(estimate)")
        #expect(estimate.usage == .normal)
    }
}

@Suite struct InterArrivalGroupingTests {
    @Test func packetsSentWithinFiveMillisecondsAreOneGroup() {
        var grouping = InterArrivalGrouping()
        // Three groups 20 ms apart, each three packets 1 ms apart, arriving 1 ms later each time.
        var deltas: [InterArrivalGrouping.Deltas] = []
        for group in 0..<3 {
            for packet in 0..<3 {
                let send = Int64(group * 20_000 + packet * 1_000)
                if let d = grouping.add(sentAt: send, arrival: 50_000 + send + Int64(group * 1_000), localTime: 0, size: 100) { deltas.append(d) }
            }
        }
        // One delta, when the third group's first packet completed the second.
        #expect(deltas == [InterArrivalGrouping.Deltas(send: 20_000, arrival: 21_000, size: 0)])
    }

    @Test func aBurstThatCaughtUpJoinsTheGroup() {
        var grouping = InterArrivalGrouping()
        _ = grouping.add(sentAt: 0, arrival: 100_000, localTime: 0, size: 100)
        // Sent 10 ms later, but arrived 2 ms after the first: it waited in a queue with it.
        _ = grouping.add(sentAt: 10_000, arrival: 102_000, localTime: 0, size: 100)
        _ = grouping.add(sentAt: 40_000, arrival: 140_000, localTime: 0, size: 100)
        let deltas = grouping.add(sentAt: 80_000, arrival: 180_000, localTime: 0, size: 100)
        #expect(deltas == InterArrivalGrouping.Deltas(send: 30_000, arrival: 38_000, size: -100))
    }

    @Test func threeReorderedGroupsStartAfresh() {
        var grouping = InterArrivalGrouping()
        var results: [InterArrivalGrouping.Deltas?] = []
        // Each group arrives before the one sent earlier.
        let arrivals: [Int64] = [500_000, 400_000, 300_000, 200_000, 100_000]
        for (index, arrival) in arrivals.enumerated() {
            results.append(grouping.add(sentAt: Int64(index) * 20_000, arrival: arrival, localTime: 0, size: 100))
        }
        #expect(results.allSatisfy { $0 == nil })
        // After the reset, in-order groups give deltas again.
        for index in 5..<8 { results.append(grouping.add(sentAt: Int64(index) * 20_000, arrival: 1_000_000 + Int64(index) * 20_000, localTime: 0, size: 100)) }
        #expect(results.last! == InterArrivalGrouping.Deltas(send: 20_000, arrival: 20_000, size: 0))
    }
}

@Suite struct TrendlineDetectorTests {
    /// Groups every 10 ms whose arrivals spread by `extra` ms each: a queue growing that fast.
    func run(extra: Double, groups: Int = 60) -> (TrendlineDetector, [BandwidthUsage]) {
        var detector = TrendlineDetector()
        var states: [BandwidthUsage] = []
        for index in 0..<groups {
            detector.update(arrivalDelta: 10 + extra, sendDelta: 10, arrival: Double(index) * (10 + extra))
            states.append(detector.state)
        }
        return (detector, states)
    }

    @Test func aSteadyPathIsNormal() {
        let (_, states) = run(extra: 0)
        #expect(states.allSatisfy { $0 == .normal })
    }

    @Test func aGrowingQueueIsOveruseOnceTheWindowIsFull() {
        let (_, states) = run(extra: 1)
        let first = states.firstIndex(of: .overusing)
        // Not before 20 points fill the window; soon after.
        #expect(first != nil && first! >= 19 && first! < 30, "\(states)")
    }

    @Test func aDrainingQueueIsUnderuse() {
        let (_, states) = run(extra: -1)
        #expect(states.last == .underusing)
    }

    @Test func theThresholdFollowsALastingTrendUpAndAQuietPathDown() {
        // A queue growing 1 ms per 10 ms group for 30 s: overuse at first; the threshold
        // climbs after the trend (libwebrtc's k_up) well above its start.
        let (growing, states) = run(extra: 1, groups: 3000)
        #expect(states.prefix(100).contains(.overusing))
        #expect(growing.threshold > 18, "\(growing.threshold)")
        // Periodic swings of 6 ms: the threshold sinks between them (k_down is 4.5× k_up), so
        // they stay overuse — libwebrtc's threshold does not follow a wobble, only a lasting trend.
        var detector = TrendlineDetector()
        for index in 0..<3000 {
            let delay = 0.2 * sin(2 * .pi * Double(index) / 40), before = 0.2 * sin(2 * .pi * Double(index - 1) / 40)
            detector.update(arrivalDelta: 10 + delay - before, sendDelta: 10, arrival: Double(index) * 10)
            #expect(detector.state != .overusing)
        }
        #expect(detector.threshold < 7, "a quiet path brings it to its floor: \(detector.threshold)")
    }
}

@Suite struct RateControlTests {
    @Test func overuseCutsTo85PercentOfWhatWasAcknowledgedLessFiveKilobits() {
        var control = RateControl(startBps: 1_000_000)
        control.update(.overusing, throughput: 600_000, at: 1_000_000)
        #expect(abs(control.bps - (0.85 * 600_000 - 5_000)) < 1)
        #expect(control.phase == .hold)
        #expect(control.linkCapacity.kbps == 600)
    }

    @Test func increaseIsMultiplicativeWithoutACapacityAndNeverBeyondWhatTheReceiverTakes() {
        var control = RateControl(startBps: 500_000)
        control.update(.normal, throughput: 480_000, at: 0)  // at least 1 kbit/s at once
        control.update(.normal, throughput: 480_000, at: 1_000_000)
        // 8 % in one second.
        #expect(abs(control.bps - 501_000 * 1.08) < 1, "\(control.bps)")
        // Above the ceiling (1.5 × 100 kbit/s + 10 kbit/s) it does not grow (nor fall: only
        // overuse cuts).
        let before = control.bps
        for second in 2...10 { control.update(.normal, throughput: 100_000, at: Int64(second) * 1_000_000) }
        #expect(control.bps == before)
        var capped = RateControl(startBps: 100_000)
        for second in 0...20 { capped.update(.normal, throughput: 100_000, at: Int64(second) * 1_000_000) }
        #expect(capped.bps == 160_000)
    }

    @Test func nearTheCapacityTheIncreaseIsAboutOnePacketPerTwoResponseTimes() {
        var control = RateControl(startBps: 1_000_000)
        control.setRoundTrip(microseconds: 100_000)
        control.update(.overusing, throughput: 1_000_000, at: 0)  // learns a capacity of 1 Mbit/s
        let cut = control.bps
        control.update(.normal, throughput: 1_000_000, at: 100_000)
        control.update(.normal, throughput: 1_000_000, at: 1_100_000)
        // A 30 frames/s frame of 0.84 Mbit/s is 3 packets of ~1170 octets: 9.4 kbit per 0.4 s.
        let frameBits = cut / 30, packetBits = frameBits / (frameBits / 9600).rounded(.up)
        #expect(abs(control.bps - cut - packetBits / 0.4) < 100, "\(control.bps - cut)")
    }

    @Test func aFurtherCutWaitsARoundTripUnlessTheRateCollapsed() {
        var control = RateControl(startBps: 1_000_000)
        control.setRoundTrip(microseconds: 50_000)
        control.update(.overusing, throughput: 900_000, at: 0)
        #expect(!control.mayReduceFurther(at: 20_000, throughput: 700_000))
        #expect(control.mayReduceFurther(at: 20_000, throughput: 300_000))
        #expect(control.mayReduceFurther(at: 50_000, throughput: 700_000))
    }
}

@Suite struct AcknowledgedBitrateTests {
    /// 1200-octet packets at `bps` from `start` for `seconds`.
    func feed(_ rate: inout AcknowledgedBitrate, bps: Double, start: Int64, seconds: Double) -> Int64 {
        let interval = Int64(1200 * 8 / bps * 1_000_000)
        var time = start
        while time < start + Int64(seconds * 1e6) {
            rate.add(arrival: time, size: 1200)
            time += interval
        }
        return time
    }

    @Test func itFollowsAStepWithinAFewWindows() {
        var rate = AcknowledgedBitrate()
        #expect(rate.bitsPerSecond == nil)
        var time = feed(&rate, bps: 1_000_000, start: 0, seconds: 0.3)
        #expect(rate.bitsPerSecond == nil, "no estimate before the first 500 ms window")
        time = feed(&rate, bps: 1_000_000, start: time, seconds: 2)
        #expect(abs(rate.bitsPerSecond! - 1_000_000) < 30_000, "\(rate.bitsPerSecond!)")
        time = feed(&rate, bps: 400_000, start: time, seconds: 1)
        #expect(abs(rate.bitsPerSecond! - 400_000) < 40_000, "a lasting drop is followed within a second: \(rate.bitsPerSecond!)")
    }

    @Test func oneBurstDoesNotSwingIt() {
        var rate = AcknowledgedBitrate()
        var time = feed(&rate, bps: 1_000_000, start: 0, seconds: 3)
        // One 150 ms window at 3 Mbit/s.
        time = feed(&rate, bps: 3_000_000, start: time, seconds: 0.15)
        _ = feed(&rate, bps: 1_000_000, start: time, seconds: 0.16)
        #expect(rate.bitsPerSecond! < 1_300_000, "\(rate.bitsPerSecond!)")
    }
}
