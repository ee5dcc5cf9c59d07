/// The picture size and frame rate the video's rate can carry (issue 13 item 4): VP8 at
/// 300 kbit/s makes a 720p picture of blocks, a 360p one that reads well. Steps down when the
/// target stays below a rung's floor for 2 s, up one rung when it stays 10 % above the next
/// rung's floor for 5 s — a path that wobbles does not make the picture pump (the thresholds
/// and times are our own proposal, research/next-stage.md §1.6; libwebrtc's quality scaler
/// decides on the encoder's QP instead).
///
/// The bridge's own limit (SenderSourceConstraints) still applies on top: the sender takes the
/// lower of the two heights.
public struct ResolutionLadder: Sendable {
    public struct Rung: Sendable, Equatable {
        public var height: Int
        public var fps: Int
        /// Below this target (kbit/s) the rung is left.
        public var floorKbps: Int
    }

    public static let rungs = [Rung(height: 720, fps: 30, floorKbps: 600), Rung(height: 360, fps: 30, floorKbps: 250),
                               Rung(height: 180, fps: 15, floorKbps: 0)]
    public static let downAfter: UInt64 = 2_000_000_000
    public static let upAfter: UInt64 = 5_000_000_000
    /// How far above the next rung's floor the target must stay to step up. Small: the
    /// delay-based estimate grows to at most 1.5× what is acknowledged, and a rung's encoder
    /// cap (500 kbit/s at 360p) bounds that; without probing a larger margin might never be
    /// reached.
    static let upMargin = 1.1

    /// Index into `rungs`: 0 is the top.
    public private(set) var index = 0
    private var belowSince: UInt64?
    private var aboveSince: UInt64?

    public init() {}

    public var rung: Rung { Self.rungs[index] }

    /// The target at `now` (ns, monotonic); the rung to send at.
    @discardableResult
    public mutating func update(targetKbps: Int, now: UInt64) -> Rung {
        if targetKbps < rung.floorKbps {
            aboveSince = nil
            let since = belowSince ?? now
            belowSince = since
            if now - since >= Self.downAfter {
                // Straight to the rung the target carries: a collapsed link needs it now.
                index = Self.rungs.firstIndex { targetKbps >= $0.floorKbps } ?? Self.rungs.count - 1
                belowSince = nil
            }
        } else if index > 0, Double(targetKbps) >= Double(Self.rungs[index - 1].floorKbps) * Self.upMargin {
            belowSince = nil
            let since = aboveSince ?? now
            aboveSince = since
            if now - since >= Self.upAfter {
                index -= 1
                aboveSince = nil
            }
        } else {
            belowSince = nil
            aboveSince = nil
        }
        return rung
    }
}
