/// A remote video source as the conference signals it (Jingle source-add / SourceInfo).
public struct RemoteVideoSource: Sendable, Equatable {
    /// The source name the bridge knows it by (`<endpoint>-v0`).
    public var name: String
    /// The endpoint (participant) that sends it.
    public var owner: String
    public var videoType: VideoType

    public init(name: String, owner: String, videoType: VideoType) {
        self.name = name
        self.owner = owner
        self.videoType = videoType
    }
}

/// What the classroom screen asks the bridge for: one source on stage, large — a screen share
/// when there is one (1080 lines), else the dominant speaker's camera (720) — and the others
/// small (180), at most `maxParticipants` videos in all (`display.max_participants`).
///
/// lib-jitsi-meet's `ReceiveVideoController` does the same for a browser's tile view and
/// stage view; the box has one layout, so the policy is a function of the sources and the
/// speaker. `next` gives constraints only when they changed, so an unchanged stage sends
/// nothing; `reset` after a new bridge channel makes the next call send again (the bridge
/// forwards nothing before it, JVB `initial-max-height-px`).
public struct VideoStagePolicy: Sendable {
    public static let stageHeight = 720
    public static let shareHeight = 1080
    public static let tileHeight = 180

    public let maxParticipants: Int
    private var lastSent: ReceiverVideoConstraints?

    public init(maxParticipants: Int) {
        self.maxParticipants = max(1, maxParticipants)
    }

    /// The constraints for the current sources and dominant speaker (endpoint id).
    public func constraints(sources: [RemoteVideoSource], dominantSpeaker: String?) -> ReceiverVideoConstraints {
        let stage: (source: RemoteVideoSource, height: Int)?
        if let share = sources.last(where: { $0.videoType == .desktop }) {
            stage = (share, Self.shareHeight)
        } else if let speaker = dominantSpeaker, let camera = sources.first(where: { $0.owner == speaker && $0.videoType != .desktop }) {
            stage = (camera, Self.stageHeight)
        } else {
            stage = nil
        }
        var constraints = ReceiverVideoConstraints(lastN: maxParticipants, defaultConstraints: VideoConstraints(maxHeight: Self.tileHeight),
                                                   constraints: [])
        if let stage {
            constraints.onStageSources = [stage.source.name]
            constraints.selectedSources = [stage.source.name]
            constraints.constraints = [(stage.source.name, VideoConstraints(maxHeight: stage.height))]
        } else {
            constraints.onStageSources = []
            constraints.selectedSources = []
        }
        return constraints
    }

    /// The constraints to send now, or nil when they are what was sent last.
    public mutating func next(sources: [RemoteVideoSource], dominantSpeaker: String?) -> ReceiverVideoConstraints? {
        let wanted = constraints(sources: sources, dominantSpeaker: dominantSpeaker)
        guard wanted != lastSent else { return nil }
        lastSent = wanted
        return wanted
    }

    /// A new channel: the next call sends whatever the stage is.
    public mutating func reset() {
        lastSent = nil
    }
}
