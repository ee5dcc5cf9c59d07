import ICE
import Session
import XML

/// What the box needs to know to join one Jitsi room.
public struct ConferenceConfiguration: Sendable {
    /// `room@muc-domain`.
    public var room: JID
    /// Where the conference request goes (`focus.<domain>`).
    public var focus: JID
    /// The display name: a room label such as "Klasse 4b", never a person's name.
    public var label: String
    public var password: String?
    /// The box owns the room: it sets the password and start-muted policy and ends the
    /// meeting for everyone when the lesson ends.
    public var organiser: Bool
    public var startAudioMuted: Bool
    public var startVideoMuted: Bool
    public var capabilities = Capabilities.classbox
    /// Random per boot: Jicofo wants a machine id, the box gives nothing stable away.
    public var machineUID: String
    public var statsID: String
    /// The first pause before asking the focus again (`ready='false'`, an error, no answer);
    /// it doubles up to 30 s, as lib-jitsi-meet's `moderator.js` does from 1 s.
    public var focusRetry: UInt64 = 1_000_000_000
    /// Ask the domain for its STUN/TURN servers (XEP-0215) after signing in
    /// (`network.turn_from_server`).
    public var askExternalServices = false

    public init(room: JID, focus: JID, label: String, password: String?, organiser: Bool, startAudioMuted: Bool = false,
                startVideoMuted: Bool = false, machineUID: String, statsID: String) {
        self.room = room
        self.focus = focus
        self.label = label
        self.password = password
        self.organiser = organiser
        self.startAudioMuted = startAudioMuted
        self.startVideoMuted = startVideoMuted
        self.machineUID = machineUID
        self.statsID = statsID
    }
}

/// Why joining failed, as a person should read it; `retryAfter` bounds the next attempt.
public struct JoinFailure: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case wrongPassword, lobby, membersOnly, roomFull, notAllowed, focusUnavailable, kicked, roomDestroyed, streamFailed, loginRefused, other
    }

    public var kind: Kind
    public var description: String
    public var retryAfter: UInt64

    public init(_ kind: Kind, _ description: String, retryAfter: UInt64) {
        self.kind = kind
        self.description = description
        self.retryAfter = retryAfter
    }
}

/// Another participant, as far as the box needs to know. The display name is kept in memory
/// only for the name plate on the classroom screen, as every Jitsi client shows it; it is
/// never logged, stored or sent on. No addresses are kept.
public struct Participant: Sendable, Equatable {
    public var endpoint: String
    public var audioMuted: Bool
    public var videoMuted: Bool
    /// From the presence's `<nick xmlns='http://jabber.org/protocol/nick'>` (lib-jitsi-meet
    /// `ChatRoom` sends it), cleaned by ``displayName(from:)``; nil when none or empty.
    public var displayName: String?

    public init(endpoint: String, audioMuted: Bool, videoMuted: Bool, displayName: String? = nil) {
        self.endpoint = endpoint
        self.audioMuted = audioMuted
        self.videoMuted = videoMuted
        self.displayName = displayName
    }

    /// The longest name shown, in Unicode scalars (jitsi-meet caps display names at 50 too).
    public static let maxDisplayNameLength = 50

    /// A name as a screen can show it: control and format characters (line breaks, bidi
    /// overrides) dropped, runs of white space made one space, trimmed, at most
    /// ``maxDisplayNameLength`` scalars; nil when nothing is left.
    public static func displayName(from raw: String?) -> String? {
        guard let raw else { return nil }
        var cleaned = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in raw.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !cleaned.isEmpty
                continue
            }
            switch scalar.properties.generalCategory {
            case .format where scalar.value == 0x200D: break  // the joiner inside emoji sequences stays
            case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator: continue
            default: break
            }
            if pendingSpace { cleaned.append(" ") }
            pendingSpace = false
            cleaned.append(scalar)
            if cleaned.count >= maxDisplayNameLength { break }
        }
        return cleaned.isEmpty ? nil : String(cleaned)
    }
}

/// The box in one Jitsi conference, without I/O, on top of ``XMPPStream``: the conference
/// request to the focus, the MUC join with the password, Jitsi's presence, answers to
/// Jicofo's disco and Jingle, the organiser's duties, and leaving. Elements and time in;
/// elements to send and what happened out. A new instance per connection: after any loss
/// the box starts from scratch with a new endpoint id (jitsi-protocol.md §11).
public struct ConferenceSession {
    public enum Output: Sendable, Equatable {
        /// Write as one WebSocket frame.
        case send(XMLElement)
        case status(String)
        /// In the room; `endpoint` is our nick and endpoint id.
        case joined(endpoint: String)
        case participants([Participant])
        /// Jicofo invites us: start media for this offer, then call ``accept(offer:local:now:)``.
        case offer(JingleOffer)
        case sourcesAdded([SourceUpdate])
        case sourcesRemoved([SourceUpdate])
        case transportUpdate(credentials: ICECredentials?, candidates: [ICECandidate])
        /// The media session ended (Jicofo moved us, idle, or our own request); media stops.
        case sessionEnded(reason: String)
        /// Jicofo asks us to mute (force-mute by a moderator); we comply, never unmute.
        case muteRequested(video: Bool)
        /// Joining did not work or we were removed; try again after `retryAfter`.
        case failed(JoinFailure)
        /// We left (and, as organiser, ended the meeting); the stream is closing.
        case left
        /// The connection is gone, the session is not (XEP-0198): open a new connection with
        /// ``resumptionID`` and call ``resume(now:)``; the call's media goes on meanwhile.
        case connectionInterrupted(String)
        /// Resumed on the new connection: still in the room, nothing lost.
        case connectionResumed
    }

    enum Phase: Equatable {
        case connecting
        case requestingFocus(attempt: Int)
        case waitingToAskFocus(until: UInt64, attempt: Int)
        case joining
        case joined
        case leaving(deadline: UInt64)
        case done
    }

    enum Purpose: Equatable {
        case domainDisco, externalServices, conference, sessionAccept(sid: String), ownerConfig, destroy, other
    }

    public let configuration: ConferenceConfiguration
    public internal(set) var stream: XMPPStream
    var phase = Phase.connecting

    /// The XMPP stream is up: authenticated and bound (whatever the room said since).
    public var isSignedIn: Bool { phase != .connecting }
    var purposes: [String: Purpose] = [:]
    public internal(set) var endpoint: String?
    public internal(set) var isOwner = false
    var configuredRoom = false
    var endConferenceComponent: JID?
    var roomMetadataComponent: JID?
    var participants: [String: Participant] = [:]
    /// The Jingle session with Jicofo, once invited.
    public internal(set) var currentOffer: JingleOffer?
    var audioMuted = false
    var videoMuted = true
    var sentJoinPresence = false
    /// The deployment's STUN/TURN servers from its XEP-0215 answer (with
    /// ``ConferenceConfiguration/askExternalServices``); empty until it came.
    public internal(set) var externalServices: [ExternalService] = []
    /// Stanzas the box refused (bad Jingle, unknown senders) and counted.
    public internal(set) var rejectedStanzas = 0

    public init(configuration: ConferenceConfiguration, stream: XMPPStream.Configuration) {
        self.configuration = configuration
        self.stream = XMPPStream(configuration: stream)
    }

    /// The focus's occupant address in the room: Jingle comes from there.
    public var focusOccupant: JID { configuration.room.with(resource: "focus") }

    public var ourOccupant: JID? { endpoint.map { configuration.room.with(resource: $0) } }

    public var nextDeadline: UInt64? {
        var deadlines = [stream.nextDeadline].compactMap { $0 }
        if case .waitingToAskFocus(let until, _) = phase { deadlines.append(until) }
        if case .leaving(let deadline) = phase { deadlines.append(deadline) }
        return deadlines.min()
    }

    public mutating func start(now: UInt64) -> [Output] {
        wrap(stream.start(now: now), now: now)
    }

    public mutating func receive(_ element: XMLElement, now: UInt64) -> [Output] {
        wrap(stream.receive(element, now: now), now: now)
    }

    /// Whether a lost connection would be resumed rather than end the session.
    public var canResume: Bool { stream.canResume }

    /// The id to put as `previd=` into the new connection's URL (lib-jitsi-meet does; Jitsi's
    /// Prosody auth modules give the new login the old session's name by it).
    public var resumptionID: String? { stream.resumptionID }

    /// The socket closed or broke: ``Output/connectionInterrupted(_:)`` when the session can
    /// be resumed, else the stream's failure.
    public mutating func connectionLost(_ reason: String, now: UInt64) -> [Output] {
        wrap(stream.connectionLost(reason, now: now), now: now)
    }

    /// A new connection is open: resume the session over it.
    public mutating func resume(now: UInt64) -> [Output] {
        wrap(stream.resume(now: now), now: now)
    }

    public mutating func tick(now: UInt64) -> [Output] {
        var outputs = wrap(stream.tick(now: now), now: now)
        switch phase {
        case .waitingToAskFocus(let until, let attempt) where now >= until:
            outputs += requestConference(now: now, attempt: attempt)
        case .leaving(let deadline) where now >= deadline:
            outputs += finishLeaving()
        default: break
        }
        return outputs
    }

    /// Turns the stream's outputs into ours.
    mutating func wrap(_ outputs: [XMPPStream.Output], now: UInt64) -> [Output] {
        var result: [Output] = []
        for output in outputs {
            switch output {
            case .send(let element): result.append(.send(element))
            case .ready(let jid): result += ready(jid, now: now)
            case .stanza(let stanza): result += handle(stanza, now: now)
            case .response(let id, let stanza):
                let purpose = purposes.removeValue(forKey: id) ?? .other
                result += response(purpose, stanza, now: now)
            case .failed(let reason):
                phase = .done
                // A refused login (an account's password, a token) needs a person: ask again slowly.
                result.append(.failed(stream.loginRefused ? JoinFailure(.loginRefused, reason, retryAfter: 60_000_000_000)
                                                          : JoinFailure(.streamFailed, reason, retryAfter: 0)))
            case .closed:
                phase = .done
                result.append(.left)
            case .interrupted(let reason): result.append(.connectionInterrupted(reason))
            case .resumed: result.append(.connectionResumed)
            }
        }
        return result
    }

    /// Sends an IQ request and remembers what its answer is for.
    mutating func request(_ iq: XMLElement, _ purpose: Purpose, now: UInt64, timeout: UInt64? = nil) -> [Output] {
        let (id, outputs) = stream.sendRequest(iq, now: now, timeout: timeout)
        purposes[id] = purpose
        return wrap(outputs, now: now)
    }

    mutating func ready(_ jid: JID, now: UInt64) -> [Output] {
        // jitsi-protocol.md §4.1: the nick is the endpoint id, the first 8 characters of the bound local part.
        let local = jid.local ?? jid.resource ?? "classbox"
        let candidate = String(local.filter { $0.isLetter || $0.isNumber }.prefix(8)).lowercased()
        endpoint = candidate.isEmpty ? "classbox" : candidate
        var outputs: [Output] = [.status("signed in to \(stream.configuration.domain)")]
        let disco = XMLElement("iq", namespace: Namespace.client, attributes: ["type": "get", "to": stream.configuration.domain],
                               children: [XMLElement("query", namespace: Namespace.discoInfo)])
        outputs += request(disco, .domainDisco, now: now, timeout: 5_000_000_000)
        // Before the conference request: the answer is back long before Jicofo's invitation,
        // and the relays are allocated when the invitation comes.
        outputs += askForExternalServices(now: now)
        return outputs + requestConference(now: now, attempt: 0)
    }

    /// Asks the domain for its STUN/TURN servers (when provisioned to): after signing in, and
    /// again whenever a media session ends, as the credentials are short-lived and coturn
    /// checks their expiry only when the next session allocates.
    mutating func askForExternalServices(now: UInt64) -> [Output] {
        guard configuration.askExternalServices else { return [] }
        return request(ExternalService.request(to: stream.configuration.domain), .externalServices, now: now, timeout: 5_000_000_000)
    }
}
