import Codecs
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
    let remote: MediaSession
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

    public func start() throws { try media.start(remote: remote) }

    public func stop() { media.stop() }

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
