import Codecs
import Display
import DTLS
import Logging
import Provisioning
import Session
import Synchronization
import Transport

/// A call with a WebRTC peer that speaks SDP (an offer/answer exchanged by any means): the
/// box's media path end to end, as the interop tests drive it against aiortc. The Jitsi
/// signalling builds the same ``CallMedia`` from Jingle instead.
public final class SDPCall: @unchecked Sendable {
    public let localDescription: String
    let media: CallMedia
    private(set) var remote: MediaSession
    /// The lesson's screen, when ``showOnScreen(width:height:display:)`` asked for one.
    private var screen: (loop: ScreenLoop, output: OffscreenDisplay)?
    private var started = false
    private let lastState = Mutex<MediaTransport.State>(.connecting)

    /// Answers `offer` (SDP). `tamperRemoteFingerprint` checks that a mismatching certificate stops everything.
    public static func answering(offer: String, config: ProvisioningConfig, logger: Logger,
                                 tamperRemoteFingerprint: Bool = false) throws -> SDPCall {
        var remote = try SDP.parse(offer)
        if tamperRemoteFingerprint, !remote.fingerprint.digest.isEmpty { remote.fingerprint.digest[0] ^= 0xFF }
        let transport = try makeTransport(config, logger: logger)
        let (local, plan) = Negotiation.answer(to: remote, transport: transport)
        return SDPCall(local: SDP.write(local), remote: remote, media: CallMedia(transport: transport, plan: plan,
                                                                                    sources: sources(config), logger: logger, cameraLive: true))
    }

    /// Makes an offer; call ``accept(answer:)`` with the peer's answer to get the call.
    public static func offering(config: ProvisioningConfig, logger: Logger) throws -> (offer: String, accept: (String) throws -> SDPCall) {
        let transport = try makeTransport(config, logger: logger)
        let offer = Negotiation.offer(transport: transport)
        return (SDP.write(offer), { answerText in
            let answer = try SDP.parse(answerText)
            let plan = Negotiation.plan(offer: offer, answer: answer)
            return SDPCall(local: SDP.write(offer), remote: answer,
                           media: CallMedia(transport: transport, plan: plan, sources: sources(config), logger: logger, cameraLive: true))
        })
    }

    init(local: String, remote: MediaSession, media: CallMedia) {
        localDescription = local
        self.remote = remote
        self.media = media
        media.onStateChange = { [weak self] state in self?.lastState.withLock { $0 = state } }
    }

    public func start() throws {
        started = true
        try screen?.loop.start()
        do { try media.start(remote: remote) } catch {
            screen?.loop.stop()
            throw error
        }
    }

    public func stop() {
        media.stop()
        screen?.loop.stop()
    }

    /// Shows the call as the box's lesson on a screen in memory (`make bench`'s call against
    /// Chromium): the peer's video on stage, the box's own picture small in its corner, the
    /// status bar — the screen thread, sink and wall of a real call, drawing into two
    /// off-screen buffers in turn. Before ``start()`` (later calls do nothing).
    public func showOnScreen(width: Int, height: Int, display: ProvisioningConfig.Display) {
        guard screen == nil, !started else { return }
        // A plain peer names no sources, and the screen places pictures by source name; the
        // receive path tells its pictures' sources (primaries) from their RTX.
        var names: [String] = []
        if let index = remote.media.firstIndex(where: { $0.kind == .video }) {
            for position in remote.media[index].sources.indices where remote.media[index].sources[position].name == nil {
                remote.media[index].sources[position].name = "peer\(remote.media[index].sources[position].ssrc)-v0"
            }
            let video = remote.media[index]
            names = RemoteVideoIntake.sources(video.sources, groups: video.sourceGroups, excluding: []).primary.values.compactMap(\.name).sorted()
        }
        let status = ConferenceStatus.inLesson(room: "Klasse 4b", others: 1)
        let plan = ScreenPlanBoard()
        plan.update(ScreenPlan(stage: names.first, others: Array(names.dropFirst()), names: Dictionary(names.map { ($0, "Klasse 7a") }, uniquingKeysWith: { a, _ in a })))
        let output = OffscreenDisplay(width: width, height: height)
        let loop = ScreenLoop(display: display, status: status, plan: plan, runtimeDirectory: "/nonexistent",
                              selfView: true, logger: media.logger, makeOutput: { output })
        media.videoSink = loop.sink
        media.selfView = loop.sink
        screen = (loop, output)
    }

    /// A short word for the transport's state: connecting, connected, failed: reason, closed.
    public var state: String {
        switch lastState.withLock({ $0 }) {
        case .connecting: return "connecting"
        case .connected: return "connected"
        case .failed(let reason): return "failed: \(reason)"
        case .closed: return "closed"
        }
    }

    /// Counters for tests and logs.
    public var statistics: [String: Int] {
        let control = media.control
        let transport = media.transport.currentCounters
        let peer = media.peerFeedback.withLock { $0 }
        return ["frames": control.framesEncoded.load(ordering: .relaxed), "keyframes": control.keyframesSent.load(ordering: .relaxed),
                "videoPackets": control.videoPackets.load(ordering: .relaxed), "audioPackets": control.audioPackets.load(ordering: .relaxed),
                "videoBytes": control.videoBytes.load(ordering: .relaxed), "audioBytes": control.audioBytes.load(ordering: .relaxed),
                "retransmissions": control.retransmissions.load(ordering: .relaxed),
                "retransmissionsNotHeld": control.retransmissionsNotHeld.load(ordering: .relaxed),
                "retransmissionsTooSoon": control.retransmissionsTooSoon.load(ordering: .relaxed),
                "retransmissionsRateLimited": control.retransmissionsRateLimited.load(ordering: .relaxed),
                "roundTripMicroseconds": control.roundTripNanoseconds.load(ordering: .relaxed) / 1000, "nacksReceived": media.nacksReceived.load(ordering: .relaxed),
                "keyframeRequests": media.keyframeRequests.load(ordering: .relaxed), "receivedPackets": media.receivedPackets.load(ordering: .relaxed),
                "transportFeedbackSent": media.transportFeedbackSent.load(ordering: .relaxed),
                "peerFeedbacks": peer.feedbacks, "peerFeedbacksLost": peer.feedbacksLost, "peerAcknowledged": peer.acknowledged,
                "peerReportedLost": peer.reportedLost, "peerUnmatched": peer.unmatched,
                "transportRecorded": control.transportHistory.withLock { $0.recorded },
                "acknowledgedKbps": media.acknowledgedKbps.load(ordering: .relaxed), "delayBasedKbps": media.delayBasedKbps.load(ordering: .relaxed),
                "delayUsage": media.delayUsage.load(ordering: .relaxed), "overuses": media.overuses.load(ordering: .relaxed),
                "pacerLongestWaitMicroseconds": media.pacer?.longestWait.load(ordering: .relaxed) ?? -1,
                "pacerRefused": media.pacer?.refused.load(ordering: .relaxed) ?? 0, "pacingTargetKbps": control.pacingTargetKbps.load(ordering: .relaxed),
                "framesSkippedForPacing": control.framesSkippedForPacing.load(ordering: .relaxed), "acknowledgedAverageKbps": peer.averageAcknowledgedKbps ?? 0,
                "transportFeedbackReported": media.transportFeedbackReported.load(ordering: .relaxed),
                "videoBitrateKbps": control.videoBitrateKbps.load(ordering: .relaxed), "srtpRejected": transport.srtpRejected,
                "decodedFrames": media.videoReceived.decodedFrames.load(ordering: .relaxed),
                "screenFrames": screen?.output.presented.load(ordering: .relaxed) ?? 0,
                "unclassified": transport.unclassified, "stunDropped": transport.stunDropped, "sendErrors": control.sendErrors.load(ordering: .relaxed)]
    }

    static func makeTransport(_ config: ProvisioningConfig, logger: Logger) throws -> MediaTransport {
        try MediaSetup.makeTransport(config, logger: logger)
    }

    /// A real camera follows the privacy switch, so SDP test calls send the test pattern only.
    static func sources(_ config: ProvisioningConfig) -> CallMedia.Sources {
        var sources = MediaSetup.sources(config)
        if case .camera? = sources.video { sources.video = nil }
        return sources
    }
}
