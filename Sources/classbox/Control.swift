import ArgumentParser
import Box

/// `classbox switch open|close`: the simulated board's privacy switch.
struct Switch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Flip the simulated board's privacy switch (test-pattern camera only; a real camera follows its physical switch).")

    enum Position: String, ExpressibleByArgument { case open, close }

    @Argument(help: "open (camera live) or close (camera private).")
    var position: Position

    func run() throws { try sendToBox("switch \(position.rawValue)") }
}

/// `classbox end`: the teacher ends the lesson.
struct End: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "End the lesson: as organiser the box ends the meeting for everyone, then it leaves and stays out until restarted.")

    func run() throws { try sendToBox("end") }
}

func sendToBox(_ command: String) throws {
    switch BoxControl.send(command, environment: ProcessEnvironment.current) {
    case .success(let reply):
        print(reply)
        if reply.hasPrefix("refused") { throw ExitCode(1) }
    case .failure(let error):
        printError("classbox: \(error)")
        throw ExitCode(2)
    }
}

/// `classbox mute`: the simulated board's mute button.
struct Mute: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Press the simulated board's mute button (toggles the microphone; a real box has a KEY_MICMUTE button).")

    func run() throws { try sendToBox("mute") }
}

/// `classbox status [--json]` (also `ssh status@box`): the box as IT needs to see it.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show firmware and slot, uptime, clock, network, conference, media, privacy and the last problems (--json for machines).")

    @Flag(name: .long, help: "Print JSON (one object) instead of the screen.")
    var json = false

    func run() throws {
        let report = StatusReport.collect(environment: ProcessEnvironment.current)
        print(json ? report.serialized : StatusReport.text(report))
    }
}
