import ICE
import Session
import XML

/// A Jingle request (XEP-0166) the box received, read into the session model.
public enum JingleAction: Sendable, Equatable {
    /// Jicofo invites us (or a browser offers P2P): the remote side of the media session.
    case sessionInitiate(JingleOffer)
    /// Sources of other participants that appeared or left (Jitsi's source-add/-remove).
    case sourceAdd([SourceUpdate])
    case sourceRemove([SourceUpdate])
    /// Trickled candidates or, with new credentials, an in-place ICE restart.
    case transportInfo(credentials: ICECredentials?, candidates: [ICECandidate])
    case sessionTerminate(reason: String, text: String?)
    /// Anything else (session-info, content-modify …): acknowledged, otherwise ignored.
    case other(String)
}

/// The sources of one content in a source-add/-remove.
public struct SourceUpdate: Sendable, Equatable {
    public var kind: MediaKind
    public var sources: [MediaSource]
    public var groups: [SourceGroup]

    public init(kind: MediaKind, sources: [MediaSource], groups: [SourceGroup] = []) {
        self.kind = kind
        self.sources = sources
        self.groups = groups
    }
}

public struct SourceGroup: Sendable, Equatable {
    public var semantics: String
    public var ssrcs: [UInt32]

    public init(semantics: String, ssrcs: [UInt32]) {
        self.semantics = semantics
        self.ssrcs = ssrcs
    }
}

/// A `session-initiate` as Jicofo builds it (jicofo `JingleOfferFactory`), read into the
/// session model plus what only Jitsi has.
public struct JingleOffer: Sendable, Equatable {
    public var sid: String
    public var initiator: String?
    /// Audio and video contents (content name = `mid`); sources carry `owner`.
    public var session: MediaSession
    /// Every content name in offer order, the data content included.
    public var contentNames: [String]
    /// The `data` content (the bridge channel over SCTP), if offered, and its SCTP port.
    public var dataContent: (name: String, sctpPort: Int?)?
    /// `bridge-session id`: echoed when asking Jicofo for a restart.
    public var bridgeSessionID: String?
    public var bridgeRegion: String?
    /// Colibri WebSocket URLs for the bridge channel (only when the JVB enables them).
    public var webSocketURLs: [String]
    /// Jicofo's advisory `startmuted`.
    public var startAudioMuted: Bool
    public var startVideoMuted: Bool

    public static func == (a: JingleOffer, b: JingleOffer) -> Bool {
        a.sid == b.sid && a.initiator == b.initiator && a.session == b.session && a.contentNames == b.contentNames
            && a.dataContent?.name == b.dataContent?.name && a.dataContent?.sctpPort == b.dataContent?.sctpPort
            && a.bridgeSessionID == b.bridgeSessionID && a.bridgeRegion == b.bridgeRegion && a.webSocketURLs == b.webSocketURLs
            && a.startAudioMuted == b.startAudioMuted && a.startVideoMuted == b.startVideoMuted
    }

    /// Sources of other participants, the bridge's own (`jvb`) excluded.
    public var participantSources: [MediaSource] {
        session.media.flatMap(\.sources).filter { $0.owner != "jvb" }
    }
}

/// Why a Jingle request could not be read; answered with `bad-request`.
public struct JingleError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The header of a Jingle IQ: who and which session.
public struct JingleHeader: Sendable, Equatable {
    public var action: String
    public var sid: String
    public var initiator: String?
    public var responder: String?

    /// Reads `<jingle action sid>` from an IQ set; nil when the IQ is not Jingle.
    public init?(_ iq: XMLElement) {
        guard let jingle = iq.element("jingle", namespace: Namespace.jingle), let action = jingle["action"], let sid = jingle["sid"],
              !sid.isEmpty else { return nil }
        self.action = action
        self.sid = sid
        initiator = jingle["initiator"]
        responder = jingle["responder"]
    }
}
