import ArgumentParser
import Runtime
import Updater
#if canImport(Glibc)
import Glibc
#endif

/// `classbox boot-state`: RAUC's custom bootloader backend (Board/x86/system.conf, through
/// /usr/lib/classbox/rauc-bootloader), and district IT's way to read the A/B state by hand.
struct BootStateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot-state",
        abstract: "Read or set the A/B boot state in GRUB's environment, written power-safe (RAUC's bootloader backend).",
        discussion: BootStateBackend.usage)

    @Option(name: .long, help: "The primary copy of GRUB's environment.")
    var primary = "/boot/grub/grubenv"

    @Option(name: .long, help: "Its backup copy.")
    var backup = "/boot/grub/grubenv.backup"

    @Option(name: .long, help: "The slot that runs (default: rauc.slot= from /proc/cmdline).")
    var booted: String?

    @Argument(help: "The command and its operands, as RAUC passes them.")
    var words: [String] = []

    func run() throws {
        var files = BootStateFiles()
        files.primary = primary
        files.backup = backup
        let commandLine = DurableFile.contents(of: "/proc/cmdline").map { String(decoding: $0, as: UTF8.self) } ?? ""
        let backend = BootStateBackend(files: files, booted: booted ?? BootState.bootedSlot(commandLine: commandLine))
        let reply = backend.handle(words)
        for warning in reply.warnings { printError("classbox boot-state: \(warning)") }
        if let output = reply.output { print(output) }
        if let error = reply.error {
            printError("classbox boot-state: \(error)")
            throw ExitCode(1)
        }
    }
}
