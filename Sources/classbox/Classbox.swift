import ArgumentParser
import Box
import Provisioning

#if canImport(Glibc)
import Glibc
#endif

@main
struct Classbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Firmware of the classroom video-conference box.",
        subcommands: [Run.self, CheckConfig.self, Status.self, Switch.self, Mute.self, End.self, Probe.self, Send.self, UpdateCommand.self, ConfigCommand.self, StatusSSHCommand.self, UpdateServeCommand.self, HealthCommand.self, SSHSetupCommand.self, ClockCommand.self, ShowProblem.self, BootStateCommand.self, Version.self])
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the box: join the provisioned room until stopped.")

    @Option(name: .long, help: "The provisioning file.")
    var config = "/boot/classbox/classbox.toml"

    func run() async throws {
        let environment = ProcessEnvironment.current
        BoxRunner.bootstrapLogging(environment: environment)
        let code = await BoxRunner.run(configPath: config, environment: environment)
        if code != .ok { throw ExitCode(code.rawValue) }
    }
}

struct ShowProblem: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show-problem",
        abstract: "Show on the screen why the provisioning file keeps the box from starting, until stopped.",
        discussion: "systemd runs this when classbox.service gives up on an invalid or unreadable file. A valid file shows nothing.")

    @Option(name: .long, help: "The provisioning file.")
    var config = "/boot/classbox/classbox.toml"

    func run() async throws {
        let environment = ProcessEnvironment.current
        BoxRunner.bootstrapLogging(environment: environment)
        let code = await ProblemScreen.run(configPath: config, environment: environment)
        if code != .ok { throw ExitCode(code.rawValue) }
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a provisioning file; print each problem as FILE:LINE: key: problem (expected).",
        discussion: "Exit status: 0 valid (warnings may be printed), 1 invalid, 2 the file cannot be read.")

    @Argument(help: "The provisioning file.")
    var file: String

    func run() throws {
        switch ConfigLoader.load(path: file) {
        case .unreadable(let reason):
            printError("classbox: cannot read \(file): \(reason)")
            throw ExitCode(BoxRunner.ExitCode.unreadableConfig.rawValue)
        case .invalid(let diagnostics):
            diagnostics.forEach { print($0) }
            let errors = diagnostics.filter { $0.severity == .error }.count
            printError("\(file): invalid, \(errors) error\(errors == 1 ? "" : "s")")
            throw ExitCode(BoxRunner.ExitCode.invalidConfig.rawValue)
        case .valid(let config, let warnings):
            warnings.forEach { print($0) }
            printError("\(file): valid (room \(config.room.name) on \(config.server.host))")
        }
    }
}

struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the cameras, ALSA PCMs, input devices and LEDs this machine offers.")

    func run() {
        print(ProbeReport.render(), terminator: "")
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the firmware version.")

    func run() {
        print("classbox \(ClassboxVersion.current)")
    }
}

func printError(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

enum ProcessEnvironment {
    static var current: [String: String] {
        var result: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            cursor += 1
        }
        return result
    }
}
