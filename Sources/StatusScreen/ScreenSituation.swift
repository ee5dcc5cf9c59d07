/// The languages the classroom screen speaks (`display.language`).
public enum ScreenLanguage: String, Sendable, Equatable, CaseIterable {
    case de, en
}

/// What the box is doing, as the classroom screen tells a teacher: the state, never anyone
/// else's name (the room label is the district's, set in the provisioning file).
public enum ScreenSituation: Sendable, Equatable {
    /// Power-on until the provisioning file is read and the network is up.
    case starting
    /// Signing in to the district's conference server.
    case connecting(server: String)
    /// In the room, nobody else there yet (or the call not yet set up).
    case waiting(room: String)
    /// In the lesson with `others` other participants: the screen shows their videos and a
    /// status bar, not a full status screen.
    case inLesson(room: String, others: Int)
    /// The connection was lost; the next attempt in `seconds`.
    case reconnecting(seconds: Int)
    /// The box cannot join and a person must act (or wait): the screen says why.
    case problem(ScreenProblem)
    /// A moderator ended the lesson for the box; a power cycle starts the next one.
    case ended

    public var isProblem: Bool {
        if case .problem = self { return true }
        return false
    }
}

/// Why the box cannot join, in the terms IT acts on. `detail` is the one line the log has
/// for it (without secrets: the log never holds them), shown small under the explanation.
public enum ScreenProblem: Sendable, Equatable {
    /// The room refused the password of the provisioning file.
    case wrongPassword(room: String)
    /// The box has no time it can trust yet (no battery clock; NTP and the server's `Date` did
    /// not answer): it cannot check certificates, so it waits for `sources`.
    case noTime(sources: String, detail: String)
    /// The server did not answer (DNS, routing, firewall, the server down).
    case serverUnreachable(server: String, detail: String)
    /// The server answered, but its certificate was not trusted (wrong CA bundle, expired,
    /// another name): the box will not talk to it.
    case serverUntrusted(server: String, detail: String)
    /// The provisioning file is invalid; `detail` is its first error, `FILE:LINE: key: …`.
    case invalidProvisioning(detail: String)
    /// The room has a lobby and nobody let the box in (yet).
    case lobby(room: String)
    /// The room admits only its members, or the server refused the box.
    case notAllowed(room: String)
    case roomFull(room: String)
    /// The server's conference focus (Jicofo) does not answer.
    case conferenceServiceUnavailable
    /// A moderator removed the box from the room.
    case removed(room: String)
    /// Anything else: the log's line.
    case other(detail: String)
}

/// The two things a teacher must always see, matching the box's LEDs.
public struct ScreenIndicators: Sendable, Equatable {
    public var cameraLive: Bool
    public var microphoneMuted: Bool

    public init(cameraLive: Bool = false, microphoneMuted: Bool = false) {
        self.cameraLive = cameraLive
        self.microphoneMuted = microphoneMuted
    }
}
