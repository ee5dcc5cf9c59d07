import Foundation

/// The bottleneck's capacity as seen at each overuse: an average of the acknowledged rate
/// whenever the queue began to grow, with its spread (libwebrtc
/// `goog_cc/link_capacity_estimator.cc`). Near it the rate grows additively, far from it (or
/// before any overuse) multiplicatively. Rates in kbit/s.
public struct LinkCapacityEstimate: Sendable {
    public private(set) var kbps: Double?
    /// Variance normalised by the estimate, kept within [0.4, 2.5] (≈ 14–35 kbit/s of
    /// deviation at 500 kbit/s).
    private var normalisedDeviation = 0.4

    public init() {}

    var deviationKbps: Double { (normalisedDeviation * (kbps ?? 0)).squareRoot() }
    var upperBound: Double { kbps.map { $0 + 3 * deviationKbps } ?? .infinity }
    var lowerBound: Double { kbps.map { max(0, $0 - 3 * deviationKbps) } ?? 0 }

    mutating func reset() { kbps = nil }

    mutating func overuseDetected(acknowledgedKbps: Double) { update(acknowledgedKbps, alpha: 0.05) }

    mutating func probed(kbps sample: Double) { update(sample, alpha: 0.5) }

    private mutating func update(_ sample: Double, alpha: Double) {
        let estimate = kbps.map { (1 - alpha) * $0 + alpha * sample } ?? sample
        kbps = estimate
        let error = estimate - sample
        normalisedDeviation = (1 - alpha) * normalisedDeviation + alpha * error * error / max(estimate, 1)
        normalisedDeviation = min(max(normalisedDeviation, 0.4), 2.5)
    }
}

/// Additive-increase/multiplicative-decrease on the delay detector's verdict (libwebrtc
/// `remote_bitrate_estimator/aimd_rate_control.cc`, our own code): normal grows the rate,
/// overuse cuts it to 85 % of what the receiver acknowledged, underuse holds it while the
/// queue drains. Times in µs on the box's clock, rates in bit/s.
public struct RateControl: Sendable {
    public enum Phase: String, Sendable { case hold, increase, decrease }

    static let backoffFactor = 0.85
    static let defaultRoundTrip: Int64 = 200_000
    /// Without a start rate, the acknowledged rate becomes the estimate after 5 s.
    static let initialisationTime: Int64 = 5_000_000

    public let minimumBps: Double
    public let maximumBps: Double
    public private(set) var phase = Phase.hold
    public private(set) var bps: Double
    public private(set) var linkCapacity = LinkCapacityEstimate()
    public private(set) var isInitialised = false
    var roundTrip = defaultRoundTrip
    private var latestThroughput: Double
    private var lastChange: Int64?
    private var firstThroughputAt: Int64?

    public init(minimumBps: Double = 5_000, maximumBps: Double = 30_000_000, startBps: Double? = nil) {
        self.minimumBps = minimumBps
        self.maximumBps = maximumBps
        bps = startBps ?? maximumBps
        latestThroughput = bps
        isInitialised = startBps != nil
    }

    public mutating func setRoundTrip(microseconds: Int64) { roundTrip = microseconds }

    /// Sets the estimate outright (a probe's result, or halving before any acknowledged rate).
    public mutating func set(bps rate: Double, at now: Int64) {
        isInitialised = true
        bps = clamp(rate)
        lastChange = now
    }

    /// Whether an overuse may cut again: one round trip (10–200 ms) after the last change, or
    /// at once when the acknowledged rate fell below half the estimate.
    public func mayReduceFurther(at now: Int64, throughput: Double) -> Bool {
        let interval = min(max(roundTrip, 10_000), 200_000)
        if let lastChange, now - lastChange < interval {
            return isInitialised && throughput < 0.5 * bps
        }
        return true
    }

    /// One verdict with the acknowledged rate (nil while there is none); the new estimate.
    @discardableResult
    public mutating func update(_ usage: BandwidthUsage, throughput: Double?, at now: Int64) -> Double {
        if !isInitialised, let throughput {
            if let first = firstThroughputAt {
                if now - first > Self.initialisationTime {
                    bps = throughput
                    isInitialised = true
                }
            } else {
                firstThroughputAt = now
            }
        }
        change(usage, throughput: throughput, at: now)
        return bps
    }

    private mutating func change(_ usage: BandwidthUsage, throughput measured: Double?, at now: Int64) {
        let throughput = measured ?? latestThroughput
        if let measured { latestThroughput = measured }
        // An overuse always cuts, even before the first estimate.
        guard isInitialised || usage == .overusing else { return }
        switch usage {
        case .normal where phase == .hold:
            lastChange = now
            phase = .increase
        case .overusing where phase != .decrease: phase = .decrease
        case .underusing: phase = .hold
        default: break
        }
        var next: Double?
        switch phase {
        case .hold: break
        case .increase:
            if throughput / 1000 > linkCapacity.upperBound { linkCapacity.reset() }
            // Never far beyond what the receiver takes: the estimate cannot run away while
            // the encoder sends less than it allows.
            let limit = 1.5 * throughput + 10_000
            if bps < limit {
                let increase = linkCapacity.kbps != nil ? additiveIncrease(since: lastChange, at: now) : multiplicativeIncrease(since: lastChange, at: now)
                next = min(bps + increase, limit)
            }
            lastChange = now
        case .decrease:
            var decreased = throughput * Self.backoffFactor
            if decreased > 5_000 { decreased -= 5_000 }
            if decreased > bps, let capacity = linkCapacity.kbps { decreased = Self.backoffFactor * capacity * 1000 }
            if decreased < bps { next = decreased }
            if throughput / 1000 < linkCapacity.lowerBound { linkCapacity.reset() }
            isInitialised = true
            linkCapacity.overuseDetected(acknowledgedKbps: throughput / 1000)
            phase = .hold
            lastChange = now
        }
        bps = clamp(next ?? bps)
    }

    /// 8 % per second, at least 1 kbit/s.
    private func multiplicativeIncrease(since last: Int64?, at now: Int64) -> Double {
        let alpha = last.map { pow(1.08, min(Double(now - $0) / 1e6, 1)) } ?? 1.08
        return max(bps * (alpha - 1), 1_000)
    }

    /// About one packet per two response times (round trip + 100 ms for the detector),
    /// packets of at most 1200 octets of a 30 frames/s stream, at least 4 kbit/s per second.
    private func additiveIncrease(since last: Int64?, at now: Int64) -> Double {
        guard let last else { return 0 }
        let frameBits = bps / 30
        let packets = (frameBits / (1200 * 8)).rounded(.up)
        let packetBits = frameBits / max(packets, 1)
        let perSecond = max(4_000, packetBits / (2 * Double(roundTrip + 100_000) / 1e6))
        return perSecond * Double(now - last) / 1e6
    }

    private func clamp(_ rate: Double) -> Double { min(max(rate, minimumBps), maximumBps) }
}
