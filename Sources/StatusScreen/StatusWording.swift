/// What a status screen says: a title, a short explanation, the log's line for IT when there
/// is one, and the camera and microphone as the LEDs show them.
public struct StatusText: Sendable, Equatable {
    /// How the screen looks: busy, all well, needs patience, needs IT.
    public enum Tone: Sendable, Equatable {
        case working, calm, attention, error
    }

    public var title: String
    public var body: String
    /// The log's line, shown small (nil: none).
    public var detail: String?
    public var tone: Tone
    public var camera: String
    public var microphone: String
}

/// The words of the classroom screen in German and English, for a teacher who has no manual
/// and for IT, who needs the one line the log has. No names but the room's label and the
/// district's server (both from the provisioning file).
public enum StatusWording {
    public static func text(for situation: ScreenSituation, indicators: ScreenIndicators, language: ScreenLanguage) -> StatusText {
        let words = language == .de ? german(situation) : english(situation)
        let camera = indicators.cameraLive ? (language == .de ? "Kamera LIVE" : "Camera LIVE")
                                           : (language == .de ? "Kamera privat" : "Camera private")
        let microphone = indicators.microphoneMuted ? (language == .de ? "Mikrofon stumm" : "Microphone muted")
                                                    : (language == .de ? "Mikrofon an" : "Microphone on")
        return StatusText(title: words.title, body: words.body, detail: words.detail, tone: tone(of: situation),
                          camera: camera, microphone: microphone)
    }

    static func tone(of situation: ScreenSituation) -> StatusText.Tone {
        switch situation {
        case .starting, .connecting, .waiting, .reconnecting: .working
        case .inLesson, .ended: .calm
        case .problem(let problem):
            switch problem {
            case .wrongPassword, .serverUntrusted, .invalidProvisioning, .notAllowed: .error
            case .noTime, .serverUnreachable, .lobby, .roomFull, .conferenceServiceUnavailable, .removed, .other: .attention
            }
        }
    }

    private typealias Words = (title: String, body: String, detail: String?)

    private static func german(_ situation: ScreenSituation) -> Words {
        let tellIT = "Bitte die IT der Schule informieren."
        switch situation {
        case .starting: return ("Classbox startet", "Einen Moment bitte.", nil)
        case .connecting(let server): return ("Verbindung wird aufgebaut", "Anmeldung bei \(server) …", nil)
        case .waiting(let room): return (room, "Im Raum. Warten auf die anderen …", nil)
        case .inLesson(let room, let others): return (room, "Im Unterricht mit \(others) weiteren Teilnehmenden", nil)
        case .reconnecting(let seconds): return ("Verbindung unterbrochen", "Neuer Versuch in \(seconds) s.", nil)
        case .ended: return ("Unterricht beendet", "Zum nächsten Start die Box aus- und wieder einschalten.", nil)
        case .problem(let problem):
            switch problem {
            case .wrongPassword(let room):
                return ("Falsches Raumpasswort", "Der Raum „\(room)“ hat das Passwort der Box abgelehnt. \(tellIT) "
                        + "Das Passwort steht in der Konfigurationsdatei der Box.", nil)
            case .noTime(let sources, let detail):
                return ("Warten auf die Uhrzeit", "Die Box hat keine Uhr mit Batterie und wartet auf die Uhrzeit von \(sources). "
                        + "Ohne sie kann sie dem Server nicht vertrauen. Bleibt es so, bitte die IT der Schule informieren (NTP, Firewall).",
                        detail.isEmpty ? nil : detail)
            case .serverUnreachable(let server, let detail):
                return ("Server nicht erreichbar", "\(server) antwortet nicht. Die Box versucht es weiter. "
                        + "Bleibt es so, bitte die IT der Schule informieren (Netzwerk, Firewall).", detail)
            case .serverUntrusted(let server, let detail):
                return ("Server nicht vertrauenswürdig", "Das Zertifikat von \(server) wurde nicht anerkannt, "
                        + "darum verbindet sich die Box nicht. \(tellIT)", detail)
            case .invalidProvisioning(let detail):
                return ("Konfigurationsdatei fehlerhaft", "Die Box kann so nicht starten. \(tellIT)", detail)
            case .lobby(let room):
                return ("Im Warteraum", "Der Raum „\(room)“ hat einen Warteraum. Die Box wartet, bis jemand sie einlässt.", nil)
            case .notAllowed(let room):
                return ("Kein Zutritt", "Der Raum „\(room)“ lässt die Box nicht ein. \(tellIT)", nil)
            case .roomFull(let room):
                return ("Raum voll", "Der Raum „\(room)“ ist voll. Die Box versucht es weiter.", nil)
            case .conferenceServiceUnavailable:
                return ("Konferenzdienst nicht bereit", "Der Server antwortet, sein Konferenzdienst aber nicht. Die Box versucht es weiter.", nil)
            case .removed(let room):
                return ("Aus dem Raum entfernt", "Die Moderation hat die Box aus dem Raum „\(room)“ entfernt.", nil)
            case .other(let detail):
                return ("Verbindung nicht möglich", "Die Box versucht es weiter.", detail)
            }
        }
    }

    private static func english(_ situation: ScreenSituation) -> Words {
        let tellIT = "Please tell the school's IT."
        switch situation {
        case .starting: return ("Classbox is starting", "One moment, please.", nil)
        case .connecting(let server): return ("Connecting", "Signing in to \(server) …", nil)
        case .waiting(let room): return (room, "In the room. Waiting for the others …", nil)
        case .inLesson(let room, let others):
            return (room, "In the lesson with \(others) other participant\(others == 1 ? "" : "s")", nil)
        case .reconnecting(let seconds): return ("Connection lost", "Trying again in \(seconds) s.", nil)
        case .ended: return ("Lesson ended", "Switch the box off and on to start the next one.", nil)
        case .problem(let problem):
            switch problem {
            case .wrongPassword(let room):
                return ("Wrong room password", "The room “\(room)” refused the box's password. \(tellIT) "
                        + "The password is set in the box's provisioning file.", nil)
            case .noTime(let sources, let detail):
                return ("Waiting for the time", "The box has no battery clock and waits for the time from \(sources). "
                        + "Without it, it cannot trust the server. If this persists, please tell the school's IT (NTP, firewall).",
                        detail.isEmpty ? nil : detail)
            case .serverUnreachable(let server, let detail):
                return ("Server unreachable", "\(server) does not answer. The box keeps trying. "
                        + "If this persists, please tell the school's IT (network, firewall).", detail)
            case .serverUntrusted(let server, let detail):
                return ("Server not trusted", "The certificate of \(server) was not accepted, so the box does not connect. \(tellIT)", detail)
            case .invalidProvisioning(let detail):
                return ("Provisioning file invalid", "The box cannot start like this. \(tellIT)", detail)
            case .lobby(let room):
                return ("In the lobby", "The room “\(room)” has a lobby. The box waits until someone lets it in.", nil)
            case .notAllowed(let room):
                return ("Not admitted", "The room “\(room)” does not admit the box. \(tellIT)", nil)
            case .roomFull(let room):
                return ("Room full", "The room “\(room)” is full. The box keeps trying.", nil)
            case .conferenceServiceUnavailable:
                return ("Conference service not ready", "The server answers, but its conference service does not. The box keeps trying.", nil)
            case .removed(let room):
                return ("Removed from the room", "A moderator removed the box from the room “\(room)”.", nil)
            case .other(let detail):
                return ("Cannot join", "The box keeps trying.", detail)
            }
        }
    }
}
