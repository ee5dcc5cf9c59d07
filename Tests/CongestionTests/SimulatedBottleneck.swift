@testable import Congestion
import RTCP

/// A path in virtual time for the estimator's tests: a sender that sends what the estimate
/// allows (a video frame as one burst every 33 ms, key frames of five when asked, audio every
/// 20 ms), a drop-tail bottleneck
/// of a given capacity holding at most `buffer` of queue, a fixed propagation delay, and a
/// receiver that reports what arrived every 100 ms (transport-cc as JVB sends it). All times µs.
struct SimulatedBottleneck {
    var capacityBps: Double
    var buffer: Int64 = 300_000
    var propagation: Int64 = 20_000
    var estimator: DelayBasedEstimator
    var maximumVideoBps: Double = 2_500_000
    /// Frames between key frames (nil: frames of equal size).
    var keyframeEvery: Int?
    /// The loss controller on the receiver's reports (one a second), as the box combines them.
    var lossBased = LossBasedBitrate(minimumKbps: 30, maximumKbps: 30_000, startKbps: 30_000)
    private var nextReport: Int64 = 1_000_000
    private var reportSent = 0, reportLost = 0

    /// The rate the sender uses: the least of both controllers.
    var targetBps: Double { min(Double(estimator.estimate.bps), Double(lossBased.currentKbps) * 1000) }

    private(set) var now: Int64 = 0
    private var linkFreeAt: Int64 = 0
    private var sequence: Int64 = 0
    /// Packets sent and not yet reported: (result as the receiver will report it, when).
    private var pending: [PacketResult] = []
    private var nextFrame: Int64 = 0
    private var frameCount = 0
    private var nextAudio: Int64 = 0
    private var nextFeedback: Int64 = 100_000
    /// Feedback on its way back to the sender: (delivery time, results).
    private var inFlight: [(Int64, [PacketResult])] = []

    /// Per 100 ms: the time, the estimate, the rate sent in that 100 ms and the worst
    /// queueing delay a packet met in it.
    struct Sample { var time: Int64; var estimateBps: Int; var sentBps: Double; var queueDelay: Int64; var lost: Int; var sent: Int; var usage: BandwidthUsage; var acked: Int }
    private(set) var samples: [Sample] = []
    private var sentBits = 0.0, worstQueue: Int64 = 0, lostInSample = 0, sentInSample = 0

    init(capacityBps: Double, startBps: Int) {
        self.capacityBps = capacityBps
        estimator = DelayBasedEstimator(startBps: startBps, minimumBps: 30_000)
        estimator.setRoundTrip(microseconds: 2 * propagation)
    }

    /// Runs for `seconds` of virtual time in 1 ms steps.
    mutating func run(seconds: Double) {
        let end = now + Int64(seconds * 1_000_000)
        while now < end {
            if now >= nextAudio {
                send(size: 120)
                nextAudio += 20_000
            }
            if now >= nextFrame {
                let videoBps = min(maximumVideoBps, targetBps - 50_000)
                // A key frame five times an average one every `keyframeEvery` frames, when set,
                // as a PLI makes (the rate windows then swing as with real video).
                frameCount += 1
                var frame = max(300, Int(videoBps / 30 / 8)) * (keyframeEvery.map { frameCount % $0 == 0 ? 5 : 1 } ?? 1)
                while frame > 0 {
                    send(size: min(frame, 1200))
                    frame -= 1200
                }
                nextFrame += 33_333
            }
            if now >= nextFeedback {
                let arrived = pending.filter { ($0.arrival ?? now) <= now }
                pending.removeAll { ($0.arrival ?? now) <= now }
                if !arrived.isEmpty { inFlight.append((now + propagation, arrived)) }
                nextFeedback += 100_000
                samples.append(Sample(time: now, estimateBps: Int(targetBps), sentBps: sentBits * 10, queueDelay: worstQueue, lost: lostInSample, sent: sentInSample, usage: estimator.estimate.usage, acked: estimator.estimate.acknowledgedBps ?? 0))
                sentBits = 0; worstQueue = 0; lostInSample = 0; sentInSample = 0
            }
            while let first = inFlight.first, first.0 <= now {
                inFlight.removeFirst()
                estimator.process(first.1, at: now)
                lossBased.limit(to: estimator.estimate.bps / 1000)
            }
            if now >= nextReport {
                lossBased.update(fractionLost: UInt8(min(255, reportLost * 256 / max(1, reportSent))), now: UInt64(now) * 1000)
                reportSent = 0; reportLost = 0
                nextReport += 1_000_000
            }
            now += 1_000
        }
    }

    private mutating func send(size: Int) {
        sequence += 1
        sentBits += Double(size * 8)
        sentInSample += 1
        reportSent += 1
        let start = max(now, linkFreeAt)
        let queueDelay = start - now
        var arrival: Int64?
        if queueDelay <= buffer {
            linkFreeAt = start + Int64(Double(size * 8) / capacityBps * 1_000_000)
            arrival = linkFreeAt + propagation
            worstQueue = max(worstQueue, queueDelay)
        } else {
            lostInSample += 1
            reportLost += 1
        }
        // A lost packet is reported when the receiver sees the gap: with the next arrival.
        pending.append(PacketResult(sequence: sequence, sentAt: UInt64(now) * 1000, size: size, arrival: arrival))
    }

    /// Samples from `from` to `to` seconds of virtual time.
    func samples(from: Double, to: Double) -> [Sample] {
        samples.filter { Double($0.time) / 1e6 >= from && Double($0.time) / 1e6 < to }
    }
}

extension Array where Element: BinaryFloatingPoint {
    func percentile(_ fraction: Double) -> Element {
        let sorted = self.sorted()
        return sorted.isEmpty ? 0 : sorted[Swift.min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }
}
