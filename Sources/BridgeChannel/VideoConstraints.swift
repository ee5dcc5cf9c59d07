/// What a receiver asks of one video source, or what the bridge asks of ours: at most this
/// many lines (−1 = as many as there are, 0 = none at all) and, optionally, frames a second.
/// JVB `cc/allocation/VideoConstraints.kt`.
public struct VideoConstraints: Sendable, Equatable {
    public static let unlimited = -1

    public var maxHeight: Int
    /// Nil: not said (the bridge keeps its default, unlimited).
    public var maxFrameRate: Double?

    public init(maxHeight: Int, maxFrameRate: Double? = nil) {
        self.maxHeight = maxHeight
        self.maxFrameRate = maxFrameRate
    }
}

/// `ReceiverVideoConstraints`: which video the box wants from the bridge. Every field is
/// optional, and an omitted one keeps its earlier value at the bridge (JVB
/// `message/BridgeChannelMessage.kt ReceiverVideoConstraintsMessage`, `doc/allocation.md`).
/// Until the first one arrives a default JVB (`initial-max-height-px` 0) forwards no video.
public struct ReceiverVideoConstraints: Sendable, Equatable {
    /// How many video sources at most (−1: no limit).
    public var lastN: Int?
    /// Sources to be kept forwarded before the others (source names, `<endpoint>-v0`).
    public var selectedSources: [String]?
    /// Sources shown large: they get their height before anybody else gets more than 180p.
    public var onStageSources: [String]?
    /// For every source not named in `constraints`, including future ones.
    public var defaultConstraints: VideoConstraints?
    /// Per source, in the order given.
    public var constraints: [(source: String, constraints: VideoConstraints)]?
    /// Overrides the bridge's bandwidth estimate where the bridge allows it (JVB
    /// `assumed-bandwidth-limit`); −1 clears it.
    public var assumedBandwidthBps: Int?

    public init(lastN: Int? = nil, selectedSources: [String]? = nil, onStageSources: [String]? = nil,
                defaultConstraints: VideoConstraints? = nil, constraints: [(source: String, constraints: VideoConstraints)]? = nil,
                assumedBandwidthBps: Int? = nil) {
        self.lastN = lastN
        self.selectedSources = selectedSources
        self.onStageSources = onStageSources
        self.defaultConstraints = defaultConstraints
        self.constraints = constraints
        self.assumedBandwidthBps = assumedBandwidthBps
    }

    /// The constraints for `source`: its own, else the default.
    public func constraints(for source: String) -> VideoConstraints? {
        constraints?.last { $0.source == source }?.constraints ?? defaultConstraints
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.lastN == b.lastN && a.selectedSources == b.selectedSources && a.onStageSources == b.onStageSources
            && a.defaultConstraints == b.defaultConstraints && a.assumedBandwidthBps == b.assumedBandwidthBps
            && a.constraints?.map(\.source) == b.constraints?.map(\.source)
            && a.constraints?.map(\.constraints) == b.constraints?.map(\.constraints)
    }
}
