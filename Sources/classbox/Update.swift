import ArgumentParser
import Box
import JSON
import Provisioning
import Runtime
import Updater
#if canImport(Glibc)
import Glibc
#endif

/// `classbox ssh-setup`: run at boot before sshd (classbox-ssh.service).
struct SSHSetupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssh-setup",
        abstract: "Prepare sshd: the box's host key on the data partition, the update keys of the provisioning file.")

    @Option(name: .long, help: "The provisioning file.")
    var config = "/boot/classbox/classbox.toml"

    func run() throws {
        // A push the power cut short: its leftovers go, once per boot (a push restarts this
        // service too, and must not lose its own files to it); the live files are whole.
        let firstThisBoot = access(SSHSetup().keysDirectory, F_OK) != 0
        let leftovers = firstThisBoot ? ConfigInstaller(configPath: config, say: { _ in }).removeLeftovers() : []
        if !leftovers.isEmpty { print("classbox ssh-setup: removed what an interrupted provisioning push left: \(leftovers.joined(separator: ", "))") }
        var loaded: ProvisioningConfig?
        if case .valid(let valid, _) = ConfigLoader.load(path: config) {
            loaded = valid
        } else {
            // sshd still starts (with its host key), but no key is let in until the file is fixed.
            printError("classbox ssh-setup: \(config) is not valid (classbox check-config \(config)); no update keys")
        }
        do {
            for line in try SSHSetup().run(config: loaded) { print("classbox ssh-setup: \(line)") }
        } catch {
            printError("classbox ssh-setup: \(error)")
            throw ExitCode(3)
        }
    }
}

/// `classbox update`: the forced command of district IT's SSH keys (see `classbox ssh-setup`).
/// The request comes from `SSH_ORIGINAL_COMMAND` (what the admin typed after the host), the
/// bundle on standard input; the root side does the work (`classbox update-serve`).
struct UpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Install the update bundle on standard input (ssh update@box < bundle.raucb), or show the update status.",
        discussion: UpdateChannel.Request.usage)

    @Argument(help: "status, or install [--allow-downgrade] (default; over SSH taken from the command the admin typed).")
    var words: [String] = []

    func run() throws {
        let environment = ProcessEnvironment.current
        let typed = environment["SSH_ORIGINAL_COMMAND"] ?? words.joined(separator: " ")
        switch UpdateChannel.Request.parse(typed) {
        case .failure(let error):
            printError("classbox update: \(error)")
            throw ExitCode(2)
        case .success(let request):
            let status = UpdateChannel.relay(request)
            if status != 0 { throw ExitCode(status) }
        }
    }
}

/// `classbox update-serve`: the root side, one per connection of classbox-update.socket
/// (standard input and output are the connection).
struct UpdateServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update-serve", abstract: "Serve one update request on standard input/output (classbox-update@.service).")

    @Option(name: .long, help: "The provisioning file.")
    var config = "/boot/classbox/classbox.toml"

    func run() throws {
        let say: (String) -> Void = { UpdateChannel.writeAll(1, Array(($0 + "\n").utf8)) }
        var code: Int32 = 1
        defer { if code >= 0 { say(UpdateChannel.exitPrefix + String(code)) } }
        guard let line = UpdateChannel.readRequestLine(from: 0), case .success(let request) = UpdateChannel.Request.parse(line) else {
            say("classbox update: unreadable request; " + UpdateChannel.Request.usage)
            return
        }
        let paths = UpdatePaths()
        switch request {
        case .status:
            do {
                let report = UpdateStatusReport.render(running: UpdateInstaller.runningVersion(paths.versionFile), status: try RAUC().status(),
                                                       record: UpdateRecord.load(from: paths.record))
                // The update state, then the box itself (ssh status@box is IT's one look at a box).
                say(report + "\n\n" + StatusReport.text(StatusReport.collect(environment: ["CLASSBOX_RUNTIME_DIR": "/run/classbox"])))
                code = 0
            } catch {
                say("classbox status: \(error)")
            }
        case .statusJSON:
            do {
                let update = UpdateStatusReport.json(running: UpdateInstaller.runningVersion(paths.versionFile), status: try RAUC().status(),
                                                     record: UpdateRecord.load(from: paths.record))
                let box = StatusReport.collect(environment: ["CLASSBOX_RUNTIME_DIR": "/run/classbox"])
                say(JSONValue.object((box.members ?? []) + [("update", update)]).serialized)
                code = 0
            } catch {
                say("{\"error\":\(JSONValue.string("classbox status: \(error)").serialized)}")
            }
        case .config(let rollback):
            let installer = ConfigInstaller(configPath: config, say: say)
            let outcome: ConfigInstaller.Outcome
            if rollback {
                outcome = installer.rollback() ? .changed : .refused
            } else {
                var bytes: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65536)
                while bytes.count <= ConfigInstaller.maximumSize {
                    let count = read(0, &buffer, buffer.count)
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else { break }
                    bytes += buffer[..<count]
                }
                outcome = installer.install(bytes)
            }
            guard outcome != .refused else { return }
            code = 0
            guard outcome == .changed else { return }
            // The box rejoins with the new file (private again, as at every start); the SSH
            // keys follow the file's [update] section.
            // A push is not a crash: it must not count towards the unit's start limit (five
            // starts in five minutes reboot the box).
            _ = try? ChildProcess.run("/usr/bin/systemctl", ["reset-failed", "classbox.service"])
            // The clock follows the file too (network.ntp, the server): a box that started with an
            // invalid file has no time source until then, and would wait for the time for good.
            _ = try? ChildProcess.run("/usr/bin/systemctl", ["restart", "--no-block", "classbox-clock.service", "systemd-timesyncd.service",
                                                             "classbox-ssh.service", "classbox.service"])
        case .install(let allowDowngrade):
            var installer = UpdateInstaller(say: say)
            if case .valid(let loaded, _) = ConfigLoader.load(path: config) { installer.trialSeconds = loaded.update.trialSeconds }
            guard installer.install(from: 0, allowDowngrade: allowDowngrade) else { return }
            say(UpdateChannel.exitPrefix + "0")
            code = -1  // said already: the connection ends before the reboot
            shutdown(1, Int32(SHUT_RDWR))
            // A board may need an argument for the reboot into the new slot (the Pi: "0 tryboot").
            let argument = UpdateInstaller.firstLine(of: "/etc/classbox/reboot-argument")
            _ = try? ChildProcess.run("/usr/bin/systemctl", ["reboot", "--no-block"] + (argument.map { [$0] } ?? []))
        }
    }
}

/// `classbox health`: after each boot (classbox-health.service), marks the booted slot good,
/// or runs the trial of a freshly installed one and goes back when it fails.
struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "health", abstract: "Mark the booted slot good, or run a new slot's trial (classbox-health.service).")

    @Option(name: .long, help: "The provisioning file.")
    var config = "/boot/classbox/classbox.toml"

    func run() throws {
        var trialSeconds = 300
        var configValid = false
        if case .valid(let loaded, _) = ConfigLoader.load(path: config) {
            trialSeconds = loaded.update.trialSeconds
            configValid = true
        }
        let runner = SlotTrialRunner(trialSeconds: trialSeconds, probe: {
            guard configValid, case .success(let reply) = BoxControl.send("health", environment: ["CLASSBOX_RUNTIME_DIR": "/run/classbox"]) else {
                // "failed" only once systemd stopped restarting it ("activating" between restarts).
                let state = try? ChildProcess.output("/usr/bin/systemctl", ["show", "--property=ActiveState", "--value", "classbox.service"])
                return .init(serviceRunning: false, signalingConnected: false,
                             serviceGaveUp: state?.split(whereSeparator: \.isWhitespace).first == "failed")
            }
            return .init(serviceRunning: true, signalingConnected: reply.hasPrefix("healthy"))
        }, say: {
            print("classbox health: \($0)")
            fflush(nil)  // all streams: the console shows each step as it happens
        })
        do {
            if try !runner.run() {
                _ = try? ChildProcess.run("/usr/bin/systemctl", ["reboot"])
                throw ExitCode(1)
            }
        } catch let error as UpdateError {
            printError("classbox health: \(error)")
            throw ExitCode(3)
        }
    }
}

/// `classbox ssh-status`: the forced command of the `status` user (`ssh status@box [json]`; ssh
/// itself would take `--json` after the host for its own option): the status through the root
/// side, which alone can ask the running box; nothing else.
struct StatusSSHCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ssh-status", abstract: "Show the box's status over SSH (ssh status@box [json]).")

    func run() throws {
        let typed = ProcessEnvironment.current["SSH_ORIGINAL_COMMAND"] ?? ""
        let words = typed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init).filter { $0 != "classbox" && $0 != "status" }
        guard words.isEmpty || words == ["--json"] || words == ["json"] else {
            printError("classbox status: unknown command '\(typed.prefix(60))'; use: ssh status@<box> [json]")
            throw ExitCode(2)
        }
        let status = UpdateChannel.relay(words.isEmpty ? .status : .statusJSON)
        if status != 0 { throw ExitCode(status) }
    }
}

/// `classbox config`: the forced command of the `config` user (same keys as `update`):
/// `ssh config@box < classbox.toml` (or a tar of it with its secret files) checks and
/// installs a provisioning file, `ssh config@box rollback` brings the last good one back.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Install the provisioning file on standard input (ssh config@box < classbox.toml), or roll back to the last good one.",
        discussion: UpdateChannel.Request.usage)

    @Argument(help: "nothing (install from standard input) or rollback (over SSH taken from the command the admin typed).")
    var words: [String] = []

    func run() throws {
        let typed = ProcessEnvironment.current["SSH_ORIGINAL_COMMAND"] ?? words.joined(separator: " ")
        let words = typed.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init).filter { $0 != "classbox" && $0 != "config" }
        guard words.isEmpty || words == ["rollback"] else {
            printError("classbox config: unknown command '\(typed.prefix(60))'; use: ssh config@<box> < classbox.toml | ssh config@<box> rollback")
            throw ExitCode(2)
        }
        let status = UpdateChannel.relay(.config(rollback: words == ["rollback"]))
        if status != 0 { throw ExitCode(status) }
    }
}
