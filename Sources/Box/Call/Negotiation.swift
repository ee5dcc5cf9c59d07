import Codecs
import DTLS
import ICE
import RTP
import SCTP
import Session
import Transport

/// What the box sends in a call, after negotiation: payload types, extension ids, SSRCs.
struct CallPlan: Sendable {
    struct Audio: Sendable {
        var payloadType: UInt8
        var ssrc: UInt32
        var extensions: RTPHeaderExtensionIDs
    }

    struct Video: Sendable {
        var payloadType: UInt8
        var ssrc: UInt32
        var rtx: VideoPacketOutput.RTX?
        var extensions: RTPHeaderExtensionIDs
    }

    /// What the box receives and plays: the others' Opus (each speaker on its own SSRC).
    struct ReceivedAudio: Sendable {
        var payloadType: UInt8
        var audioLevelID: UInt8?
    }

    /// What the box receives and decodes: the others' VP8 (each source on its own SSRC, the
    /// bridge's simulcast layers switched onto it), retransmissions in RTX (RFC 4588).
    struct ReceivedVideo: Sendable {
        var payloadType: UInt8
        var rtxPayloadType: UInt8?
    }

    var audio: Audio?
    var video: Video?
    var receivedAudio: ReceivedAudio?
    var receivedVideo: ReceivedVideo?
    /// The id of the transport-wide sequence number in what the box receives, when negotiated:
    /// the box then sends transport-cc feedback for it (one id for the whole BUNDLE).
    var receivedTransportSequenceID: UInt8?
    var iceRole: ICEAgent.Role
    var dtlsRole: DTLSConnection.Role
    var cname: String
    /// The bridge channel: SCTP over the session's DTLS (Jicofo's `data` content accepted).
    var bridgeChannel = false
    /// The SCTP port both ends use (the offer's `sctpmap` number; 5000 as JVB).
    var sctpPort = SCTPAssociation.defaultPort
    /// The box's video source name (`<endpoint>-v0`), which SenderSourceConstraints name.
    var videoSourceName: String?
}

/// Builds the box's side of a session: an answer to an offer (the Jitsi bridge, a browser,
/// aiortc), or an offer. The box sends Opus and VP8 only, with the feedback it acts on.
enum Negotiation {
    static let videoFeedback = ["nack", "nack pli", "ccm fir", "transport-cc", "goog-remb"]
    static let supportedExtensions = [ExtensionURI.audioLevel, ExtensionURI.absSendTime, ExtensionURI.transportWideCC]

    /// The rtcp-fb values the box answers for `offered`: what it acts on or sends. transport-cc
    /// (the box sends the feedback) excludes goog-remb: the box sends no REMB, and with
    /// transport-cc a browser and the Videobridge estimate from the feedback, not REMB
    /// (JVB `RemoteBandwidthEstimator.kt`); REMB stays only for a peer without transport-cc
    /// (aiortc), whose REMB caps the box's video.
    static func answeredFeedback(_ offered: [String], kinds: [String]) -> [String] {
        let accepted = kinds.filter(offered.contains)
        return accepted.contains("transport-cc") ? accepted.filter { $0 != "goog-remb" } : accepted
    }

    /// A fresh CNAME per session (RFC 7022), 16 characters long as browsers make them. The
    /// length matters: with a multiple of four, each SDES chunk ends in exactly two null octets,
    /// and some receivers (aiortc) read that end as a type/length pair and drop the whole
    /// compound packet, sender reports included, when there is only one (RFC 3550 allows one).
    static func sessionCNAME() -> String {
        "classbox-" + String(ICECredentials.random().ufrag.prefix(7))
    }

    /// The answer to `offer`, and the plan to send by. With `jitsiEndpoint`, our sources get
    /// the names and msids Jicofo validates (`<endpoint>-a0`, `<endpoint>-v0`, one msid per
    /// track, identical within the FID group; jitsi-protocol.md §7.1).
    static func answer(to offer: MediaSession, transport: MediaTransport, sends: Bool = true, receives: Bool = true,
                       msid: String = "classbox", jitsiEndpoint: String? = nil) -> (MediaSession, CallPlan) {
        let cname = sessionCNAME()
        var media: [MediaDescription] = []
        var audioPlan: CallPlan.Audio?
        var videoPlan: CallPlan.Video?
        var receivedAudio: CallPlan.ReceivedAudio?
        var receivedVideo: CallPlan.ReceivedVideo?
        var receivedTransportSequenceID: UInt8?
        for offered in offer.media {
            // The box writes and reads one-byte header extensions (RFC 8285 §4.2): ids 1–14 only.
            let extensions = offered.extensions.filter { supportedExtensions.contains($0.value) && (1...14).contains($0.key) }
            let direction = offered.direction.answer(sends: sends, receives: receives)
            var answer = MediaDescription(kind: offered.kind, mid: offered.mid, direction: direction, codecs: [], extensions: extensions)
            let ids = RTPHeaderExtensionIDs(audioLevel: offered.extensionID(ExtensionURI.audioLevel),
                                            absSendTime: offered.extensionID(ExtensionURI.absSendTime),
                                            transportWideSequence: offered.extensionID(ExtensionURI.transportWideCC))
            let sending = direction == .sendonly || direction == .sendrecv
            if let id = offered.extensionID(ExtensionURI.transportWideCC), direction == .recvonly || direction == .sendrecv {
                receivedTransportSequenceID = receivedTransportSequenceID ?? id
            }
            switch offered.kind {
            case .audio:
                guard let opus = offered.codec(named: "opus") else { answer.direction = .inactive; media.append(answer); continue }
                if direction == .recvonly || direction == .sendrecv {
                    receivedAudio = .init(payloadType: opus.payloadType, audioLevelID: ids.audioLevel)
                }
                answer.codecs = [Codec(payloadType: opus.payloadType, name: opus.name, clockRate: 48000, channels: 2,
                                       parameters: ["minptime": "10", "useinbandfec": "1"],
                                       feedback: answeredFeedback(opus.feedback, kinds: ["transport-cc"]))]
                if sending {
                    let ssrc = UInt32.random(in: 1...UInt32.max)
                    answer.sources = [MediaSource(ssrc: ssrc, cname: cname, msid: jitsiEndpoint.map { "\($0)-audio-0 \($0)-audio-track" } ?? "\(msid) \(msid)-audio",
                                                  name: jitsiEndpoint.map { "\($0)-a0" })]
                    audioPlan = .init(payloadType: opus.payloadType, ssrc: ssrc,
                                      extensions: RTPHeaderExtensionIDs(audioLevel: ids.audioLevel, transportWideSequence: ids.transportWideSequence))
                }
            case .video:
                guard let vp8 = offered.codec(named: "VP8") else { answer.direction = .inactive; media.append(answer); continue }
                answer.codecs = [Codec(payloadType: vp8.payloadType, name: "VP8", clockRate: 90000,
                                       feedback: answeredFeedback(vp8.feedback, kinds: videoFeedback))]
                let rtxType = offered.rtxPayloadType(for: vp8.payloadType)
                if direction == .recvonly || direction == .sendrecv {
                    receivedVideo = .init(payloadType: vp8.payloadType, rtxPayloadType: rtxType)
                }
                if let rtxType {
                    answer.codecs.append(Codec(payloadType: rtxType, name: "rtx", clockRate: 90000, parameters: ["apt": "\(vp8.payloadType)"]))
                }
                if sending {
                    let ssrc = UInt32.random(in: 1...UInt32.max), rtxSSRC = UInt32.random(in: 1...UInt32.max)
                    let track = jitsiEndpoint.map { "\($0)-video-0 \($0)-video-track" } ?? "\(msid) \(msid)-video"
                    let name = jitsiEndpoint.map { "\($0)-v0" }, videoType = jitsiEndpoint.map { _ in "camera" }
                    answer.sources = [MediaSource(ssrc: ssrc, cname: cname, msid: track, name: name, videoType: videoType)]
                    if rtxType != nil {
                        answer.sources.append(MediaSource(ssrc: rtxSSRC, cname: cname, msid: track, name: name, videoType: videoType))
                        answer.sourceGroups = [("FID", [ssrc, rtxSSRC])]
                    }
                    videoPlan = .init(payloadType: vp8.payloadType, ssrc: ssrc,
                                      rtx: rtxType.map { .init(ssrc: rtxSSRC, payloadType: $0) },
                                      extensions: RTPHeaderExtensionIDs(absSendTime: ids.absSendTime, transportWideSequence: ids.transportWideSequence))
                }
            }
            media.append(answer)
        }
        let setup = offer.setup.answer
        let local = MediaSession(ice: transport.localCredentials, candidates: transport.signalledCandidates,
                                 fingerprint: transport.certificate.fingerprint, setup: setup, media: media)
        let plan = CallPlan(audio: audioPlan, video: videoPlan, receivedAudio: receivedAudio, receivedVideo: receivedVideo,
                            receivedTransportSequenceID: receivedTransportSequenceID, iceRole: offer.iceLite ? .controlling : .controlled,
                            dtlsRole: setup == .active ? .client : .server, cname: cname)
        return (local, plan)
    }

    /// An offer of Opus and VP8 (+RTX), sending and receiving, our SSRCs included; the box is
    /// then ICE controlling.
    static func offer(transport: MediaTransport, msid: String = "classbox") -> MediaSession {
        let cname = sessionCNAME()
        let audioSSRC = UInt32.random(in: 1...UInt32.max), videoSSRC = UInt32.random(in: 1...UInt32.max), rtxSSRC = UInt32.random(in: 1...UInt32.max)
        let audio = MediaDescription(kind: .audio, mid: "0", direction: .sendrecv,
                                     codecs: [Codec(payloadType: 111, name: "opus", clockRate: 48000, channels: 2,
                                                    parameters: ["minptime": "10", "useinbandfec": "1"], feedback: ["transport-cc"])],
                                     extensions: [1: ExtensionURI.audioLevel, 5: ExtensionURI.transportWideCC],
                                     sources: [MediaSource(ssrc: audioSSRC, cname: cname, msid: "\(msid) \(msid)-audio")])
        let video = MediaDescription(kind: .video, mid: "1", direction: .sendrecv,
                                     codecs: [Codec(payloadType: 100, name: "VP8", clockRate: 90000, feedback: videoFeedback),
                                              Codec(payloadType: 96, name: "rtx", clockRate: 90000, parameters: ["apt": "100"])],
                                     extensions: [3: ExtensionURI.absSendTime, 5: ExtensionURI.transportWideCC],
                                     sources: [MediaSource(ssrc: videoSSRC, cname: cname, msid: "\(msid) \(msid)-video"),
                                               MediaSource(ssrc: rtxSSRC, cname: cname, msid: "\(msid) \(msid)-video")],
                                     sourceGroups: [("FID", [videoSSRC, rtxSSRC])])
        return MediaSession(ice: transport.localCredentials, candidates: transport.signalledCandidates,
                            fingerprint: transport.certificate.fingerprint, setup: .actpass, media: [audio, video])
    }

    /// The plan for our own `offer` once `answer` came back: what the answer accepts to receive.
    static func plan(offer: MediaSession, answer: MediaSession) -> CallPlan {
        let cname = offer.media.first?.sources.first?.cname ?? "classbox"
        var plan = CallPlan(audio: nil, video: nil, receivedAudio: nil, iceRole: .controlling, dtlsRole: answer.setup == .active ? .server : .client, cname: cname)
        // The answerer stamps what it sends with the id it accepted (for either m-line).
        plan.receivedTransportSequenceID = answer.media.lazy.filter { $0.direction == .sendonly || $0.direction == .sendrecv }
            .compactMap { $0.extensionID(ExtensionURI.transportWideCC) }.first
        if let audio = answer.media(.audio), audio.direction == .recvonly || audio.direction == .sendrecv,
           let opus = audio.codec(named: "opus"), let ssrc = offer.media(.audio)?.sources.first?.ssrc {
            plan.audio = .init(payloadType: opus.payloadType, ssrc: ssrc,
                               extensions: RTPHeaderExtensionIDs(audioLevel: audio.extensionID(ExtensionURI.audioLevel),
                                                                 transportWideSequence: audio.extensionID(ExtensionURI.transportWideCC)))
        }
        if let audio = answer.media(.audio), audio.direction == .sendonly || audio.direction == .sendrecv, let opus = audio.codec(named: "opus") {
            plan.receivedAudio = .init(payloadType: opus.payloadType, audioLevelID: audio.extensionID(ExtensionURI.audioLevel))
        }
        if let video = answer.media(.video), video.direction == .sendonly || video.direction == .sendrecv, let vp8 = video.codec(named: "VP8") {
            plan.receivedVideo = .init(payloadType: vp8.payloadType, rtxPayloadType: video.rtxPayloadType(for: vp8.payloadType))
        }
        if let video = answer.media(.video), video.direction == .recvonly || video.direction == .sendrecv,
           let vp8 = video.codec(named: "VP8"), let offered = offer.media(.video), let ssrc = offered.sources.first?.ssrc {
            let rtx = video.rtxPayloadType(for: vp8.payloadType).flatMap { type in
                offered.sources.dropFirst().first.map { VideoPacketOutput.RTX(ssrc: $0.ssrc, payloadType: type) }
            }
            plan.video = .init(payloadType: vp8.payloadType, ssrc: ssrc, rtx: rtx,
                               extensions: RTPHeaderExtensionIDs(absSendTime: video.extensionID(ExtensionURI.absSendTime),
                                                                 transportWideSequence: video.extensionID(ExtensionURI.transportWideCC)))
        }
        return plan
    }
}
