import DTLS
import ICE
import Session
import Testing
import Transport
@testable import Box

/// What the box answers and offers about congestion control: transport-cc where the peer has
/// it (the box sends the feedback), REMB only for a peer without it.
@Suite struct NegotiationTests {
    static func transport() throws -> MediaTransport {
        var configuration = MediaTransport.Configuration()
        configuration.loopback = true
        configuration.ipv6 = false
        return try MediaTransport(configuration: configuration, certificate: try DTLSCertificate())
    }

    /// An offer as a browser or the bridge makes it, with or without transport-cc.
    static func offer(transportCC: Bool) throws -> MediaSession {
        let remote = try transport()
        let videoFeedback = ["goog-remb", "nack", "nack pli", "ccm fir"] + (transportCC ? ["transport-cc"] : [])
        let audio = MediaDescription(kind: .audio, mid: "0", direction: .sendrecv,
                                     codecs: [Codec(payloadType: 111, name: "opus", clockRate: 48000, channels: 2,
                                                    feedback: transportCC ? ["transport-cc"] : [])],
                                     extensions: [1: ExtensionURI.audioLevel].merging(transportCC ? [3: ExtensionURI.transportWideCC] : [:]) { $1 })
        let video = MediaDescription(kind: .video, mid: "1", direction: .sendrecv,
                                     codecs: [Codec(payloadType: 96, name: "VP8", clockRate: 90000, feedback: videoFeedback),
                                              Codec(payloadType: 97, name: "rtx", clockRate: 90000, parameters: ["apt": "96"])],
                                     extensions: [2: ExtensionURI.absSendTime].merging(transportCC ? [3: ExtensionURI.transportWideCC] : [:]) { $1 })
        return MediaSession(ice: remote.localCredentials, candidates: [], fingerprint: remote.certificate.fingerprint, setup: .actpass,
                            media: [audio, video])
    }

    @Test func withTransportCCTheBoxAnswersItAndNoREMB() throws {
        let (answer, plan) = Negotiation.answer(to: try Self.offer(transportCC: true), transport: try Self.transport())
        let video = try #require(answer.media(.video)?.codec(named: "VP8"))
        #expect(video.feedback == ["nack", "nack pli", "ccm fir", "transport-cc"])
        #expect(answer.media(.audio)?.codec(named: "opus")?.feedback == ["transport-cc"])
        #expect(answer.media(.video)?.extensionID(ExtensionURI.transportWideCC) == 3)
        #expect(answer.media(.audio)?.extensionID(ExtensionURI.transportWideCC) == 3)
        #expect(plan.receivedTransportSequenceID == 3)
    }

    @Test func withoutTransportCCTheBoxKeepsREMBAndSendsNoFeedback() throws {
        let (answer, plan) = Negotiation.answer(to: try Self.offer(transportCC: false), transport: try Self.transport())
        #expect(answer.media(.video)?.codec(named: "VP8")?.feedback == ["nack", "nack pli", "ccm fir", "goog-remb"])
        #expect(answer.media(.video)?.extensionID(ExtensionURI.transportWideCC) == nil)
        #expect(plan.receivedTransportSequenceID == nil)
    }

    /// The box's own offer asks for transport-cc; the answerer's id is what it stamps with.
    @Test func theBoxsOfferAsksForTransportCCAndFollowsTheAnswer() throws {
        let transport = try Self.transport()
        let offer = Negotiation.offer(transport: transport)
        #expect(offer.media.allSatisfy { $0.extensionID(ExtensionURI.transportWideCC) == 5 })
        #expect(offer.media(.video)?.codec(named: "VP8")?.feedback.contains("transport-cc") == true)
        var answer = try Self.offer(transportCC: true)
        answer.setup = .active
        #expect(Negotiation.plan(offer: offer, answer: answer).receivedTransportSequenceID == 3)
        #expect(Negotiation.plan(offer: offer, answer: try Self.offer(transportCC: false)).receivedTransportSequenceID == nil)
    }
}
