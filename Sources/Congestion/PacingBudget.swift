/// How fast the video may leave: a leaky bucket at the pacing rate, so a frame — above all a
/// key frame, many times an average one — goes out as a stream of packets rather than one
/// burst that fills the school's uplink queue and holds everybody's audio behind it
/// (libwebrtc `modules/pacing/pacing_controller.cc`; our own code, simpler: one media budget).
///
/// The rate is the target times `pacingFactor` (libwebrtc's kDefaultPaceMultiplier): a frame
/// of average size leaves in 40 % of a frame interval, a key frame of nine times that in
/// under four. Up to `burst` worth of packets may go at once, and an idle pacer saves no
/// credit beyond that. Times in ns on the monotonic clock.
public struct PacingBudget: Sendable {
    public static let pacingFactor = 2.5
    public static let burst: UInt64 = 5_000_000

    public private(set) var rateBps: Double
    private var debtBits = 0.0
    private var last: UInt64?

    public init(rateBps: Double) {
        self.rateBps = max(1, rateBps)
    }

    /// The pacing rate for a target (bit/s).
    public mutating func follow(targetBps: Double) {
        rateBps = max(1, targetBps * Self.pacingFactor)
    }

    /// How long the next packet must wait at `now`: 0 when it may go.
    public mutating func wait(now: UInt64) -> UInt64 {
        drain(to: now)
        let allowance = rateBps * Double(Self.burst) / 1e9
        guard debtBits > allowance else { return 0 }
        return UInt64((debtBits - allowance) / rateBps * 1e9) + 1
    }

    /// Charges a packet that left at `now` (paced video, or a retransmission sent beside).
    /// The debt is capped at `maximumDebt` of sending: a burst of retransmissions on a slow
    /// path delays the queue that long at most, not seconds.
    public mutating func spend(octets: Int, now: UInt64) {
        drain(to: now)
        debtBits = min(debtBits + Double(octets * 8), rateBps * Double(Self.maximumDebt) / 1e9)
    }

    public static let maximumDebt: UInt64 = 250_000_000

    /// How long `octets` queued take to leave at the pacing rate (ns).
    public func drainTime(octets: Int) -> UInt64 {
        UInt64(Double(octets * 8) / rateBps * 1e9)
    }

    private mutating func drain(to now: UInt64) {
        if let last, now > last { debtBits = max(0, debtBits - rateBps * Double(now - last) / 1e9) }
        last = max(last ?? now, now)
    }
}
