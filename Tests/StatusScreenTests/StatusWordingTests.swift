import Testing
import StatusScreen

struct StatusWordingTests {
    static let problems: [ScreenProblem] = [
        .wrongPassword(room: "Klasse 7b"), .serverUnreachable(server: "meet.schule.example", detail: "connect: timed out"),
        .serverUntrusted(server: "meet.schule.example", detail: "certificate verify failed"),
        .invalidProvisioning(detail: "/boot/classbox.toml:12: room.name: expected a string"),
        .lobby(room: "Klasse 7b"), .notAllowed(room: "Klasse 7b"), .roomFull(room: "Klasse 7b"),
        .conferenceServiceUnavailable, .removed(room: "Klasse 7b"), .other(detail: "stream closed"),
        .noTime(sources: "ntp.schule.example (NTP) or https://meet.schule.example", detail: "connect: timed out"),
    ]
    static let situations: [ScreenSituation] = [
        .starting, .connecting(server: "meet.schule.example"), .waiting(room: "Klasse 7b"),
        .inLesson(room: "Klasse 7b", others: 3), .reconnecting(seconds: 4), .ended,
    ] + problems.map { .problem($0) }

    /// Each state has its own title in each language, and the two languages differ.
    @Test(arguments: ScreenLanguage.allCases)
    func everyStateSaysSomethingOfItsOwn(language: ScreenLanguage) {
        let texts = Self.situations.map { StatusWording.text(for: $0, indicators: ScreenIndicators(), language: language) }
        for (situation, text) in zip(Self.situations, texts) {
            #expect(!text.title.isEmpty && !text.body.isEmpty, "\(situation)")
            let other = StatusWording.text(for: situation, indicators: ScreenIndicators(), language: language == .de ? .en : .de)
            #expect(other.body != text.body, "\(situation) is translated")
        }
        let problemTitles = texts.suffix(Self.problems.count).map(\.title)
        #expect(Set(problemTitles).count == problemTitles.count, "each problem its own title: \(problemTitles)")
    }

    @Test func problemsNameTheRoomOrServerAndCarryTheLogLine() {
        for problem in Self.problems {
            let text = StatusWording.text(for: .problem(problem), indicators: ScreenIndicators(), language: .de)
            switch problem {
            case .wrongPassword(let room), .lobby(let room), .notAllowed(let room), .roomFull(let room), .removed(let room):
                #expect(text.body.contains("„\(room)“"), "\(text.body)")
            case .serverUnreachable(let server, let detail), .serverUntrusted(let server, let detail):
                #expect(text.body.contains(server) && text.detail == detail)
            case .noTime(let sources, let detail):
                #expect(text.body.contains(sources) && text.detail == detail)
            case .invalidProvisioning(let detail), .other(let detail):
                #expect(text.detail == detail)
            case .conferenceServiceUnavailable:
                #expect(text.detail == nil)
            }
        }
    }

    /// What needs IT is an error; what resolves itself (or by someone in the call) is not.
    @Test func errorsAreWhatNeedsIT() {
        let tones = Self.problems.map { StatusWording.text(for: .problem($0), indicators: ScreenIndicators(), language: .en).tone }
        let errors = zip(Self.problems, tones).filter { $1 == .error }.map { "\($0.0)" }
        #expect(errors.count == 4, "\(errors)")
        #expect(StatusWording.text(for: .problem(.wrongPassword(room: "r")), indicators: ScreenIndicators(), language: .en).tone == .error)
        #expect(StatusWording.text(for: .problem(.roomFull(room: "r")), indicators: ScreenIndicators(), language: .en).tone == .attention)
        #expect(StatusWording.text(for: .inLesson(room: "r", others: 1), indicators: ScreenIndicators(), language: .en).tone == .calm)
        #expect(StatusWording.text(for: .connecting(server: "s"), indicators: ScreenIndicators(), language: .en).tone == .working)
    }

    @Test func theCameraAndMicrophoneAreSaidAsTheLEDsShowThem() {
        let live = StatusWording.text(for: .waiting(room: "r"), indicators: ScreenIndicators(cameraLive: true, microphoneMuted: true), language: .de)
        #expect(live.camera == "Kamera LIVE" && live.microphone == "Mikrofon stumm")
        let quiet = StatusWording.text(for: .waiting(room: "r"), indicators: ScreenIndicators(), language: .en)
        #expect(quiet.camera == "Camera private" && quiet.microphone == "Microphone on")
    }

    @Test func theLessonCountsTheOthersInBothLanguages() {
        #expect(StatusWording.text(for: .inLesson(room: "7b", others: 1), indicators: ScreenIndicators(), language: .en).body
                == "In the lesson with 1 other participant")
        #expect(StatusWording.text(for: .inLesson(room: "7b", others: 4), indicators: ScreenIndicators(), language: .en).body
                == "In the lesson with 4 other participants")
        #expect(StatusWording.text(for: .inLesson(room: "7b", others: 4), indicators: ScreenIndicators(), language: .de).body
                == "Im Unterricht mit 4 weiteren Teilnehmenden")
    }
}
