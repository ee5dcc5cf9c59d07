/// Loss-based bitrate control from receiver reports, GoogCC's classic loss controller
/// (libwebrtc `send_side_bandwidth_estimation.cc`): below 2 % loss, grow 8 % per second;
/// above 10 %, cut by half the loss fraction; in between, hold.
///
/// As there, loss is judged over at least 20 expected packets (`kLimitNumPackets`), summed
/// from the reports' cumulative counters, and a cut comes at most once per 300 ms plus a round
/// trip: a receiver sends a report with every NACK, and each of those covers a few packets —
/// one lost of three is "33 %". Taken one by one, a burst of them halved the rate several
/// times a second (seen through a real 1 Mbit/s bottleneck: 787 → 105 kbit/s in a second).
public struct LossBasedBitrate: Sendable, Equatable {
    public let minimumKbps: Int
    public let maximumKbps: Int
    public private(set) var currentKbps: Int
    /// The round trip, added to the 300 ms between cuts (ns).
    public var roundTrip: UInt64 = 0
    private var lastIncrease: UInt64?
    private var lastDecrease: UInt64?
    private var lastCounters: (cumulativeLost: Int32, highest: UInt32)?
    private var pendingLost = 0
    private var pendingExpected = 0

    static let minimumExpected = 20
    static let decreaseInterval: UInt64 = 300_000_000

    public static func == (lhs: Self, rhs: Self) -> Bool {
        (lhs.minimumKbps, lhs.maximumKbps, lhs.currentKbps) == (rhs.minimumKbps, rhs.maximumKbps, rhs.currentKbps)
    }

    public init(minimumKbps: Int, maximumKbps: Int, startKbps: Int) {
        self.minimumKbps = minimumKbps
        self.maximumKbps = maximumKbps
        currentKbps = max(minimumKbps, min(maximumKbps, startKbps))
    }

    /// Holds the rate at most at `kbps`, what another controller (the delay-based estimate)
    /// allows: growth and cuts then start from the rate really used, as libwebrtc's loss
    /// controller works on the combined target (`send_side_bandwidth_estimation.cc`).
    public mutating func limit(to kbps: Int) {
        currentKbps = max(minimumKbps, min(currentKbps, kbps))
    }

    /// A report block about our stream at `now`: the loss since the previous block, from its
    /// cumulative counters, judged once 20 packets were expected; returns the target.
    @discardableResult
    public mutating func update(report: ReceptionReport, now: UInt64) -> Int {
        let counters = (report.cumulativeLost, report.extendedHighestSequence)
        defer { lastCounters = counters }
        guard let last = lastCounters else { return currentKbps }
        let expected = Int(Int32(bitPattern: counters.1 &- last.highest))
        guard expected > 0 else { return currentKbps }  // a repeated or reordered report
        pendingExpected += expected
        pendingLost += Int(counters.0) - Int(last.cumulativeLost)
        guard pendingExpected >= Self.minimumExpected else { return currentKbps }
        let loss = min(1, max(0, Double(pendingLost) / Double(pendingExpected)))
        (pendingLost, pendingExpected) = (0, 0)
        return update(loss: loss, now: now)
    }

    /// A loss fraction (in 1/256, as a report's own field) at `now`; returns the new target.
    @discardableResult
    public mutating func update(fractionLost: UInt8, now: UInt64) -> Int {
        update(loss: Double(fractionLost) / 256, now: now)
    }

    private mutating func update(loss: Double, now: UInt64) -> Int {
        if loss < 0.02 {
            let elapsed = lastIncrease.map { Double(now &- $0) / 1e9 } ?? 1
            lastIncrease = now
            currentKbps = min(maximumKbps, Int(Double(currentKbps) * (1 + 0.08 * min(max(elapsed, 0), 1))) + 1)
        } else if loss > 0.10, lastDecrease.map({ now >= $0 && now - $0 >= Self.decreaseInterval + roundTrip }) ?? true {
            lastIncrease = now
            lastDecrease = now
            currentKbps = max(minimumKbps, Int(Double(currentKbps) * (1 - 0.5 * loss)))
        }
        return currentKbps
    }
}

/// Answers keyframe requests (PLI, FIR) at once, but at most one per `minimumInterval`:
/// the bridge asks whenever a receiver joins or switches, and several requests in a burst
/// are served by the same keyframe.
public struct KeyframeRequestLimiter: Sendable {
    public var minimumInterval: UInt64 = 100_000_000
    private var last: UInt64?
    public private(set) var ignored = 0

    public init() {}

    /// True when a keyframe should be made for a request at `now`.
    public mutating func request(now: UInt64) -> Bool {
        if let last, now - last < minimumInterval {
            ignored += 1
            return false
        }
        last = now
        return true
    }
}

/// Resends a NACKed packet again only one round trip after its last resend: a receiver that
/// repeats its NACK sooner cannot have seen that resend yet (it must not double the traffic),
/// one that repeats it later lost the resend too and must get it (else its picture stalls
/// until a keyframe). libwebrtc's packet history does the same. Until a round trip has been
/// measured from the receiver's reports, 10 ms.
public struct RetransmissionLimiter: Sendable {
    public static let defaultInterval: UInt64 = 10_000_000
    public private(set) var minimumInterval: UInt64 = defaultInterval
    private var lastSent: [UInt16: UInt64] = [:]

    public init() {}

    /// The latest measured round trip (kept between 5 ms and 1 s).
    public mutating func setRoundTrip(nanoseconds: UInt64) {
        minimumInterval = min(max(nanoseconds, 5_000_000), 1_000_000_000)
    }

    public mutating func allow(_ sequence: UInt16, now: UInt64) -> Bool {
        if let last = lastSent[sequence], now - last < minimumInterval { return false }
        lastSent[sequence] = now
        if lastSent.count > 4096 { lastSent = lastSent.filter { now - $0.value < 1_000_000_000 } }
        return true
    }
}
