/// Loss-based bitrate control from receiver reports: the safety net before full congestion
/// control. The rules of GoogCC's loss-based controller: below 2 % loss, grow 8 % per
/// second; above 10 %, cut by half the loss fraction; in between, hold.
public struct LossBasedBitrate: Sendable, Equatable {
    public let minimumKbps: Int
    public let maximumKbps: Int
    public private(set) var currentKbps: Int
    private var lastIncrease: UInt64?

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

    /// A report's fraction lost (in 1/256) at `now`; returns the new target.
    @discardableResult
    public mutating func update(fractionLost: UInt8, now: UInt64) -> Int {
        let loss = Double(fractionLost) / 256
        if loss < 0.02 {
            let elapsed = lastIncrease.map { Double(now - $0) / 1e9 } ?? 1
            lastIncrease = now
            currentKbps = min(maximumKbps, Int(Double(currentKbps) * (1 + 0.08 * min(elapsed, 1))) + 1)
        } else if loss > 0.10 {
            lastIncrease = now
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
