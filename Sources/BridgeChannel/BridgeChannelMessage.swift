import JSON

/// One message on the bridge channel: a JSON object whose `colibriClass` names its kind
/// (JVB `message/BridgeChannelMessage.kt`, lib-jitsi-meet `modules/RTC/BridgeChannel.ts`).
/// The kinds the box acts on or sends are typed; anything else is `.other`, kept by class
/// name so it can be counted and ignored, as lib-jitsi-meet passes unknown classes on.
public enum BridgeChannelMessage: Sendable, Equatable {
    /// Client → bridge at the start; the bridge answers `serverHello`.
    case clientHello
    /// The bridge's answer, with its version when it tells it.
    case serverHello(version: String?)
    /// Box → bridge: which video the box wants.
    case receiverVideoConstraints(ReceiverVideoConstraints)
    /// Box → bridge: the type of one of the box's video sources.
    case sourceVideoType(sourceName: String, videoType: VideoType)
    /// Client → bridge (older clients): how many video streams at most.
    case lastNChanged(lastN: Int)
    /// Bridge → box: the dominant speaker changed; the earlier ones follow, most recent first.
    /// `silence`: the bridge detected silence (nobody speaks) rather than a new speaker.
    case dominantSpeakerChange(DominantSpeakerChange)
    /// Bridge → box: the video sources it forwards to the box now.
    case forwardedSources([String])
    /// Bridge → box (bridges before 2022): the endpoints whose video it forwards.
    case lastNEndpointsChange([String])
    /// Bridge → box: how many lines anybody watches of the box's source (0: nobody).
    case senderSourceConstraints(sourceName: String, maxHeight: Int)
    /// Bridge → box: the bridge's media from `endpoint` stopped (false) or came back (true).
    case endpointConnectivityStatus(endpoint: String, active: Bool)
    /// Bridge → box: what the bridge estimates the box can receive.
    case connectionStats(estimatedDownlinkBandwidth: Int)
    /// Any other class (EndpointMessage, EndpointStats, VideoSourcesMap …): ignored.
    case other(colibriClass: String)
}

public struct DominantSpeakerChange: Sendable, Equatable {
    public var dominantSpeakerEndpoint: String
    public var previousSpeakers: [String]
    public var silence: Bool

    public init(dominantSpeakerEndpoint: String, previousSpeakers: [String] = [], silence: Bool = false) {
        self.dominantSpeakerEndpoint = dominantSpeakerEndpoint
        self.previousSpeakers = previousSpeakers
        self.silence = silence
    }
}

/// JVB `org.jitsi.nlj.VideoType` as clients send it (`camera`, `desktop`; JVB reads any case).
public enum VideoType: String, Sendable, Equatable {
    case camera
    case desktop
    case none
}

/// Why a received message was dropped.
public enum BridgeChannelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not one well-formed JSON value (RFC 8259), or nested too deep.
    case malformedJSON
    /// Valid JSON, but not an object with a string `colibriClass`.
    case notAMessage
    /// A known class with a required field missing or of the wrong type.
    case invalidField(colibriClass: String, field: String)

    public var description: String {
        switch self {
        case .malformedJSON: "not well-formed JSON"
        case .notAMessage: "not a bridge-channel message (no colibriClass)"
        case .invalidField(let colibriClass, let field): "\(colibriClass): field \(field) missing or of the wrong type"
        }
    }
}
