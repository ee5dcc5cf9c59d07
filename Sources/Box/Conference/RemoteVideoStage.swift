import BridgeChannel
import Runtime
import Session
import Signaling

/// Where bridge-channel messages go: a call's ``BridgeChannelLink``, which sends them when
/// the channel is open and again whenever it opens anew.
protocol BridgeMessageSink: AnyObject, Sendable {
    func send(_ message: BridgeChannelMessage)
}

extension BridgeChannelLink: BridgeMessageSink {}

/// The others' video sources and who speaks, and what the box asks the bridge to forward.
///
/// A real Videobridge forwards no video to an endpoint before that endpoint has sent its
/// `ReceiverVideoConstraints` (JVB `initial-max-height-px` is unset in default installs), so
/// the box sends them as soon as the bridge channel opens, and again whenever the sources
/// (Jingle source-add/-remove, a participant leaving) or the dominant speaker (bridge
/// channel) change what the screen shows — ``VideoStagePolicy`` decides, and sends only
/// changes. Each new call brings a new channel: ``attach(_:)`` sends the current stage on it.
///
/// Sources change on the conference thread, speakers on the network thread: one lock orders
/// them, and a message leaves under it so two changes never overtake each other on the wire.
final class RemoteVideoStage: @unchecked Sendable {
    private let lock = Lock()
    private var policy: VideoStagePolicy
    /// Every remote video SSRC with its source; a primary and its RTX share one source name.
    private var entries: [(ssrc: UInt32, source: RemoteVideoSource)] = []
    private var speaker: String?
    private var ownEndpoint: String?
    /// The others in the room, in the order presence lists them.
    private var people: [Participant] = []
    private var link: (any BridgeMessageSink)?
    /// Where the classroom screen reads what to show (nil: no screen).
    private let board: ScreenPlanBoard?

    init(maxParticipants: Int, board: ScreenPlanBoard? = nil) {
        policy = VideoStagePolicy(maxParticipants: maxParticipants)
        self.board = board
    }

    /// What the screen shows: the source the bridge is asked to send large, and the others
    /// in the order they came, as many as `display.max_participants` allows in all.
    var screenPlan: ScreenPlan {
        lock.withLock { plan() }
    }

    /// A participant without any video source (no camera, or a phone) still gets a tile, an
    /// avatar slate under the name Jitsi would give its camera, as tile views show everyone.
    private func plan() -> ScreenPlan {
        let sources = uniqueSources
        let stage = policy.constraints(sources: sources, dominantSpeaker: speaker).onStageSources?.first
        let withVideo = Set(sources.map(\.owner))
        let pictureless = people.filter { !withVideo.contains($0.endpoint) }.map { (name: "\($0.endpoint)-v0", owner: $0.endpoint) }
        let everyone = sources.map { (name: $0.name, owner: $0.owner) } + pictureless
        let others = everyone.filter { $0.name != stage }.prefix(policy.maxParticipants - (stage == nil ? 0 : 1))
        var plan = ScreenPlan(stage: stage, others: others.map(\.name))
        let byEndpoint = Dictionary(people.map { ($0.endpoint, $0) }, uniquingKeysWith: { first, _ in first })
        for entry in everyone where entry.name == stage || plan.others.contains(entry.name) {
            let person = byEndpoint[entry.owner]
            if let name = person?.displayName { plan.names[entry.name] = name }
            // A screen share is shown even while the sharer's camera is off.
            let isShare = sources.first { $0.name == entry.name }?.videoType == .desktop
            if !withVideo.contains(entry.owner) || (person?.videoMuted == true && !isShare) { plan.cameraOff.insert(entry.name) }
        }
        return plan
    }

    /// The others in the room as the last presence said (display names and camera state for
    /// the screen; who has no video source at all).
    func participantsChanged(_ participants: [Participant]) {
        lock.withLock {
            people = participants
            board?.update(plan())
        }
    }

    /// The sources on stage or in tiles, once each, in the order they came.
    var sources: [RemoteVideoSource] {
        lock.withLock { uniqueSources }
    }

    var dominantSpeaker: String? {
        lock.withLock { speaker }
    }

    /// A new call's bridge channel (nil: the call has none, or ended): what the screen wants
    /// is sent on it when it opens.
    func attach(_ link: (any BridgeMessageSink)?) {
        lock.withLock {
            self.link = link
            policy.reset()
            publish()
        }
    }

    /// A new session: its sources replace all known ones.
    func reset(_ sources: [MediaSource]) {
        lock.withLock {
            entries = []
            insert(sources)
            publish()
        }
    }

    func add(_ sources: [MediaSource]) {
        lock.withLock {
            insert(sources)
            publish()
        }
    }

    func remove(_ ssrcs: [UInt32]) {
        let gone = Set(ssrcs)
        lock.withLock {
            let before = entries.count
            entries.removeAll { gone.contains($0.ssrc) }
            if entries.count != before { publish() }
        }
    }

    /// The box's own endpoint id in this conference, which the bridge names as dominant
    /// speaker when the class speaks.
    func setOwnEndpoint(_ endpoint: String?) {
        lock.withLock { ownEndpoint = endpoint }
    }

    /// The bridge says who speaks (its endpoint id).
    func dominantSpeakerChanged(to endpoint: String) {
        dominantSpeakerChanged(DominantSpeakerChange(dominantSpeakerEndpoint: endpoint))
    }

    /// The bridge's DominantSpeakerEndpointChangeEvent. The class never watches itself on
    /// stage: when the box is the speaker (the bridge names every endpoint, the box's too),
    /// the most recent other speaker with a picture stays or takes the stage, as
    /// jitsi-meet's large video never switches to the local participant. `silence` (JVB's
    /// "nobody speaks") keeps whoever was on stage.
    func dominantSpeakerChanged(_ change: DominantSpeakerChange) {
        lock.withLock {
            guard !change.silence else { return }
            var candidates = [change.dominantSpeakerEndpoint] + change.previousSpeakers
            candidates.removeAll { $0 == ownEndpoint }
            let sources = uniqueSources
            guard let next = candidates.first(where: { endpoint in sources.contains { $0.owner == endpoint } }) ?? candidates.first else { return }
            speaker = next
            publish()
        }
    }

    /// Under the lock.
    private func insert(_ sources: [MediaSource]) {
        for source in sources where !entries.contains(where: { $0.ssrc == source.ssrc }) {
            guard let video = Self.remoteVideoSource(source) else { continue }
            entries.append((source.ssrc, video))
        }
    }

    /// Under the lock.
    private var uniqueSources: [RemoteVideoSource] {
        var seen = Set<String>()
        return entries.map(\.source).filter { seen.insert($0.name).inserted }
    }

    /// Under the lock.
    private func publish() {
        board?.update(plan())
        guard let link, let constraints = policy.next(sources: uniqueSources, dominantSpeaker: speaker) else { return }
        link.send(.receiverVideoConstraints(constraints))
    }

    /// A signalled video source as the bridge names it. The bridge's own (`jvb`) source and
    /// sources without an owner are not anybody's picture; a source without a name (older
    /// Jicofo) gets the name Jitsi gives every camera, `<endpoint>-v0`.
    static func remoteVideoSource(_ source: MediaSource) -> RemoteVideoSource? {
        guard let owner = source.owner.map(RemoteSourceOwners.endpoint), owner != "jvb", !owner.isEmpty else { return nil }
        let videoType = source.videoType.flatMap { VideoType(rawValue: $0.lowercased()) } ?? .camera
        return RemoteVideoSource(name: source.name ?? "\(owner)-v0", owner: owner, videoType: videoType)
    }
}
