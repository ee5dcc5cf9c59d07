import Foundation
import ICE
import Testing
import Wire
@testable import Session

@Suite struct SDPTests {
    static var aiortcOffer: String {
        get throws {
            let url = try #require(Bundle.module.url(forResource: "aiortc-offer", withExtension: "sdp", subdirectory: "Fixtures"))
            return try String(contentsOf: url, encoding: .utf8)
        }
    }

    @Test func anAiortcOfferIsRead() throws {
        let session = try SDP.parse(try Self.aiortcOffer)
        #expect(session.setup == .actpass && !session.iceLite)
        #expect(!session.ice.ufrag.isEmpty && session.ice.password.count >= 22)
        #expect(session.fingerprint.algorithm == "sha-256" && session.fingerprint.digest.count == 32)
        #expect(session.candidates.count == 1, "BUNDLE: only the first section's candidates")
        #expect(session.candidates.first?.address.host == "127.0.0.1")
        let audio = try #require(session.media(.audio)), video = try #require(session.media(.video))
        #expect(audio.mid == "0" && audio.direction == .recvonly && audio.rtcpMux)
        #expect(audio.codec(named: "opus")?.clockRate == 48000 && audio.codec(named: "opus")?.channels == 2)
        #expect(audio.extensionID(ExtensionURI.audioLevel) != nil)
        let vp8 = try #require(video.codec(named: "VP8"))
        #expect(vp8.feedback.contains("nack") && vp8.feedback.contains("nack pli"))
        #expect(video.rtxPayloadType(for: vp8.payloadType) != nil)
        #expect(video.extensionID(ExtensionURI.absSendTime) != nil)
        #expect(video.sourceGroups.first?.semantics == "FID" && video.sourceGroups.first?.ssrcs.count == 2)
    }

    @Test func writtenSessionsReadBack() throws {
        let session = MediaSession(
            ice: ICECredentials(ufrag: "abcd", password: "0123456789abcdefghijkl"),
            candidates: [.host(SocketAddress(host: "10.0.0.2", port: 40000)!)],
            fingerprint: CertificateFingerprint(algorithm: "sha-256", digest: Array(0..<32)),
            setup: .active,
            media: [
                MediaDescription(kind: .audio, mid: "0", direction: .sendonly,
                                 codecs: [Codec(payloadType: 111, name: "opus", clockRate: 48000, channels: 2,
                                                parameters: ["minptime": "10", "useinbandfec": "1"])],
                                 extensions: [1: ExtensionURI.audioLevel], sources: [MediaSource(ssrc: 11, cname: "c", msid: "s a")]),
                MediaDescription(kind: .video, mid: "1", direction: .sendonly,
                                 codecs: [Codec(payloadType: 100, name: "VP8", clockRate: 90000, feedback: ["nack", "nack pli", "ccm fir"]),
                                          Codec(payloadType: 96, name: "rtx", clockRate: 90000, parameters: ["apt": "100"])],
                                 extensions: [3: ExtensionURI.absSendTime], sources: [MediaSource(ssrc: 22, cname: "c", msid: "s v"),
                                                                                      MediaSource(ssrc: 23, cname: "c", msid: "s v")],
                                 sourceGroups: [("FID", [22, 23])]),
            ])
        let text = SDP.write(session)
        #expect(text.contains("a=group:BUNDLE 0 1\r\n"))
        #expect(try SDP.parse(text) == session)
    }

    @Test func missingCredentialsOrFingerprintAreErrors() throws {
        let offer = try Self.aiortcOffer
        let noFingerprint = offer.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("a=fingerprint") }.joined(separator: "\n")
        #expect(throws: SDP.ParseError.missing("DTLS fingerprint")) { try SDP.parse(noFingerprint) }
        let noPassword = offer.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("a=ice-pwd") }.joined(separator: "\n")
        #expect(throws: SDP.ParseError.missing("ICE credentials")) { try SDP.parse(noPassword) }
        #expect(throws: SDP.ParseError.self) { try SDP.parse(offer.replacingOccurrences(of: "a=setup:actpass", with: "a=setup:sideways")) }
    }

    /// An extmap id outside RFC 8285's 1–255 is refused with its line, never taken (an id of 300
    /// would trap where the box narrows it to a byte).
    @Test func anExtensionIDOutOfRangeIsAnError() throws {
        let offer = try Self.aiortcOffer
        let line = try #require(offer.split(whereSeparator: \.isNewline).first { $0.hasPrefix("a=extmap:") })
        let id = line.dropFirst("a=extmap:".count).prefix { $0.isNumber }
        for bad in ["300", "0", "-1"] {
            let text = offer.replacingOccurrences(of: String(line), with: "a=extmap:\(bad)" + line.dropFirst("a=extmap:".count + id.count))
            #expect(throws: SDP.ParseError.self) { try SDP.parse(text) }
        }
        #expect(try SDP.parse(offer).media.allSatisfy { $0.extensions.keys.allSatisfy { (1...255).contains($0) } })
    }

    @Test func answerRoles() {
        #expect(DTLSSetup.actpass.answer == .active && DTLSSetup.active.answer == .passive && DTLSSetup.passive.answer == .active)
        #expect(MediaDirection.recvonly.answer(sends: true, receives: true) == .sendonly)
        #expect(MediaDirection.sendrecv.answer(sends: true, receives: false) == .sendonly)
        #expect(MediaDirection.sendonly.answer(sends: true, receives: false) == .inactive)
    }
}

/// Found by the fuzzer: a medium without a codec in common was written as an m-line without a
/// format, which no reader takes (ours neither). It is written rejected: port 0, one format,
/// outside the BUNDLE group, the candidates on the first medium of the group.
@Suite struct RejectedMediaTests {
    @Test func aMediumWithoutACodecIsWrittenRejectedAndReadsBack() throws {
        var session = try SDP.parse(try SDPTests.aiortcOffer)
        session.media[0].codecs = []
        let written = SDP.write(session)
        let lines = written.split(whereSeparator: \.isNewline)
        #expect(lines.contains { $0.hasPrefix("m=\(session.media[0].kind.rawValue) 0 UDP/TLS/RTP/SAVPF 0") })
        #expect(lines.first { $0.hasPrefix("a=group:BUNDLE") } == "a=group:BUNDLE \(session.media.dropFirst().map(\.mid).joined(separator: " "))")
        let again = try SDP.parse(written)
        #expect(again.candidates == session.candidates && again.media.count == session.media.count)
        #expect(again.media[0].codecs.isEmpty)
    }
}
