/// GoogCC's delay-based estimate from transport-cc feedback, without I/O and on the caller's
/// clock (libwebrtc `goog_cc/delay_based_bwe.cc`, our own code): each feedback's packets in
/// arrival order go through the grouping and the trend detector; the verdict and the
/// acknowledged rate drive the AIMD control, whose rate is the most the path is thought to
/// carry now.
///
/// Not here yet: probing (it needs the pacer to send clusters), and libwebrtc's separate
/// audio detector (off by default there too).
public struct DelayBasedEstimator: Sendable {
    /// Feedback silent this long starts the delay signal afresh.
    static let streamTimeout: Int64 = 2_000_000
    /// Overuse before any acknowledged rate halves the estimate at most this often.
    static let blindHalvingInterval: Int64 = 200_000

    public private(set) var grouping = InterArrivalGrouping()
    public private(set) var detector = TrendlineDetector()
    public private(set) var rateControl: RateControl
    public private(set) var acknowledged = AcknowledgedBitrate()
    private var lastFeedback: Int64?
    private var sorted: [PacketResult] = []

    /// What one feedback changed, for the sender and its status line.
    public struct Estimate: Sendable, Equatable {
        public var bps: Int
        public var usage: BandwidthUsage
        public var acknowledgedBps: Int?
        public var phase: RateControl.Phase
    }

    public init(startBps: Int, minimumBps: Int = 5_000, maximumBps: Int = 30_000_000) {
        rateControl = RateControl(minimumBps: Double(minimumBps), maximumBps: Double(maximumBps), startBps: Double(startBps))
        sorted.reserveCapacity(512)
    }

    public var estimate: Estimate {
        Estimate(bps: Int(rateControl.bps), usage: detector.state, acknowledgedBps: acknowledged.bitsPerSecond, phase: rateControl.phase)
    }

    /// The measured round trip shortens the wait between cuts and speeds the additive increase.
    public mutating func setRoundTrip(microseconds: Int64) {
        rateControl.setRoundTrip(microseconds: max(1, microseconds))
    }

    /// One feedback's results (joined with the send history; send times in ns on the box's
    /// monotonic clock) arriving at `now` (µs on the same clock).
    @discardableResult
    public mutating func process(_ results: [PacketResult], at now: Int64) -> Estimate {
        if let last = lastFeedback, now - last > Self.streamTimeout {
            grouping = InterArrivalGrouping()
            detector = TrendlineDetector()
        }
        lastFeedback = now
        sorted.removeAll(keepingCapacity: true)
        for result in results where result.arrival != nil { sorted.append(result) }
        guard !sorted.isEmpty else { return estimate }  // all lost: the loss controller's part
        // Usually in order already; sorting only then spares the sort's scratch buffer.
        if zip(sorted, sorted.dropFirst()).contains(where: { $0.arrival! > $1.arrival! }) { sorted.sort { $0.arrival! < $1.arrival! } }
        acknowledged.add(sorted)
        for result in sorted {
            let sent = Int64(result.sentAt / 1000)
            guard let deltas = grouping.add(sentAt: sent, arrival: result.arrival!, localTime: now, size: result.size) else { continue }
            detector.update(arrivalDelta: Double(deltas.arrival) / 1000, sendDelta: Double(deltas.send) / 1000, arrival: Double(result.arrival!) / 1000)
        }
        var throughput = acknowledged.bitsPerSecond.map(Double.init)
        if detector.state == .overusing {
            // Our departure from libwebrtc: on overuse the rate the queue lets through now
            // (the last two 150 ms windows), when lower. libwebrtc's smoothed rate (Bayesian or its newer 1 s window) still
            // remembers the rate before a capacity drop, so its cut (85 % of that) stays above
            // the new capacity and a full drop-tail queue stands for seconds with no trend left
            // to detect (seen in the simulated 2.5 → 0.5 Mbit/s drop).
            if let smoothed = throughput, let recent = acknowledged.recentBitsPerSecond { throughput = min(smoothed, Double(recent)) }
            if let throughput {
                if rateControl.mayReduceFurther(at: now, throughput: throughput) {
                    rateControl.update(.overusing, throughput: throughput, at: now)
                }
            } else if rateControl.isInitialised, now - (lastBlindHalving ?? .min / 2) >= Self.blindHalvingInterval {
                lastBlindHalving = now
                rateControl.set(bps: rateControl.bps / 2, at: now)
            }
        } else {
            rateControl.update(detector.state, throughput: throughput, at: now)
        }
        return estimate
    }

    private var lastBlindHalving: Int64?
}
