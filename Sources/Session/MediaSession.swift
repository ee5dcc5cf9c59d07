import ICE
import Wire

/// One side of a media session: everything the transport and the RTP layer need, whatever
/// the signalling (Jitsi's Jingle fills it; the interop tests write and read it as SDP).
public struct MediaSession: Sendable, Equatable {
    public var ice: ICECredentials
    public var candidates: [ICECandidate]
    public var fingerprint: CertificateFingerprint
    public var setup: DTLSSetup
    /// The ICE agent of this side is lite (the other side then controls).
    public var iceLite = false
    public var media: [MediaDescription]

    public init(ice: ICECredentials, candidates: [ICECandidate], fingerprint: CertificateFingerprint, setup: DTLSSetup,
                media: [MediaDescription]) {
        self.ice = ice
        self.candidates = candidates
        self.fingerprint = fingerprint
        self.setup = setup
        self.media = media
    }

    public func media(_ kind: MediaKind) -> MediaDescription? { media.first { $0.kind == kind } }
}

/// RFC 4145/5763 `a=setup`: who starts the DTLS handshake.
public enum DTLSSetup: String, Sendable, Equatable {
    case active, passive, actpass

    /// What the answerer takes given the offer's value (RFC 5763 §5: answer active to actpass).
    public var answer: DTLSSetup {
        switch self {
        case .actpass, .passive: return .active
        case .active: return .passive
        }
    }
}

public enum MediaKind: String, Sendable, Equatable {
    case audio, video
}

public enum MediaDirection: String, Sendable, Equatable {
    case sendrecv, sendonly, recvonly, inactive

    /// The direction an answer takes to this offer, for a side that `sends`/`receives`.
    public func answer(sends: Bool, receives: Bool) -> MediaDirection {
        let canSend = sends && (self == .sendrecv || self == .recvonly)
        let canReceive = receives && (self == .sendrecv || self == .sendonly)
        switch (canSend, canReceive) {
        case (true, true): return .sendrecv
        case (true, false): return .sendonly
        case (false, true): return .recvonly
        case (false, false): return .inactive
        }
    }
}

/// A payload type and what it carries (`a=rtpmap`, `a=fmtp`, `a=rtcp-fb`).
public struct Codec: Sendable, Equatable {
    public var payloadType: UInt8
    /// Encoding name as signalled (`opus`, `VP8`, `rtx`).
    public var name: String
    public var clockRate: UInt32
    public var channels: Int?
    public var parameters: [String: String]
    /// rtcp-fb values: `nack`, `nack pli`, `ccm fir`, `goog-remb`, `transport-cc`.
    public var feedback: [String]

    public init(payloadType: UInt8, name: String, clockRate: UInt32, channels: Int? = nil, parameters: [String: String] = [:],
                feedback: [String] = []) {
        self.payloadType = payloadType
        self.name = name
        self.clockRate = clockRate
        self.channels = channels
        self.parameters = parameters
        self.feedback = feedback
    }

    public func `is`(_ other: String) -> Bool { name.lowercased() == other.lowercased() }

    /// For an `rtx` codec: the payload type it retransmits (`apt`).
    public var associatedPayloadType: UInt8? { parameters["apt"].flatMap { UInt8($0) } }
}

/// An RTP stream a side sends, with the names browsers and Jitsi use for it.
public struct MediaSource: Sendable, Equatable {
    public var ssrc: UInt32
    public var cname: String?
    /// `stream-id track-id`.
    public var msid: String?
    /// Jitsi's source name, `<endpoint>-a0` / `<endpoint>-v0`.
    public var name: String?
    /// Jitsi's `ssrc-info owner`: the endpoint id of the participant sending it, or `jvb`.
    public var owner: String?
    /// Jitsi's `videoType`: `camera` or `desktop`.
    public var videoType: String?

    public init(ssrc: UInt32, cname: String? = nil, msid: String? = nil, name: String? = nil, owner: String? = nil, videoType: String? = nil) {
        self.ssrc = ssrc
        self.cname = cname
        self.msid = msid
        self.name = name
        self.owner = owner
        self.videoType = videoType
    }
}

/// One m-line / Jingle content.
public struct MediaDescription: Sendable, Equatable {
    public var kind: MediaKind
    public var mid: String
    public var direction: MediaDirection
    public var codecs: [Codec]
    /// Header extensions by negotiated id (`a=extmap`).
    public var extensions: [Int: String]
    public var sources: [MediaSource]
    /// `a=ssrc-group` lines, e.g. ("FID", [media, rtx]).
    public var sourceGroups: [(semantics: String, ssrcs: [UInt32])]
    public var rtcpMux: Bool

    public init(kind: MediaKind, mid: String, direction: MediaDirection, codecs: [Codec], extensions: [Int: String] = [:],
                sources: [MediaSource] = [], sourceGroups: [(semantics: String, ssrcs: [UInt32])] = [], rtcpMux: Bool = true) {
        self.kind = kind
        self.mid = mid
        self.direction = direction
        self.codecs = codecs
        self.extensions = extensions
        self.sources = sources
        self.sourceGroups = sourceGroups
        self.rtcpMux = rtcpMux
    }

    public static func == (a: MediaDescription, b: MediaDescription) -> Bool {
        a.kind == b.kind && a.mid == b.mid && a.direction == b.direction && a.codecs == b.codecs && a.extensions == b.extensions
            && a.sources == b.sources && a.rtcpMux == b.rtcpMux
            && a.sourceGroups.map(\.semantics) == b.sourceGroups.map(\.semantics) && a.sourceGroups.map(\.ssrcs) == b.sourceGroups.map(\.ssrcs)
    }

    public func codec(named name: String) -> Codec? { codecs.first { $0.is(name) } }

    /// The id negotiated for an extension URI.
    public func extensionID(_ uri: String) -> UInt8? {
        extensions.first { $0.value == uri }.flatMap { UInt8(exactly: $0.key) }
    }

    /// The RTX payload type retransmitting `payloadType`, if negotiated.
    public func rtxPayloadType(for payloadType: UInt8) -> UInt8? {
        codecs.first { $0.is("rtx") && $0.associatedPayloadType == payloadType }?.payloadType
    }
}

/// Header extension URIs the box understands.
public enum ExtensionURI {
    public static let audioLevel = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
    public static let absSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    public static let transportWideCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    public static let mid = "urn:ietf:params:rtp-hdrext:sdes:mid"
}
