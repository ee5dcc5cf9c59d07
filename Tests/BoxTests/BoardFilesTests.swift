import ClassboxTestSupport
import Foundation
import Testing

/// The Raspberry Pi reference design's files are consistent: the overlay compiles with the
/// real dtc and declares the kernel codes the firmware reads, and the example provisioning
/// file names exactly the LEDs the overlay creates and passes check-config.
struct BoardFilesTests {
    static let board = ClassboxProcess.packageRoot.appendingPathComponent("Board/rpi").path

    @Test(.enabled(if: ExternalProcess.which("dtc") != nil, "needs dtc (device-tree-compiler; make deps installs it)"))
    func theOverlayCompilesAndDeclaresTheSwitchButtonAndLEDs() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("classbox-\(UUID().uuidString).dtbo").path
        let compile = try SpawnedProcess(ExternalProcess.which("dtc")!, ["-@", "-I", "dts", "-O", "dtb", "-o", output, Self.board + "/classbox-overlay.dts"],
                                         environment: ProcessInfo.processInfo.environment)
        #expect(compile.wait(timeout: 30).status == 0, "\(compile.stderr)")
        let back = try SpawnedProcess(ExternalProcess.which("dtc")!, ["-I", "dtb", "-O", "dts", output], environment: ProcessInfo.processInfo.environment)
        #expect(back.wait(timeout: 30).status == 0)
        let source = back.stdout
        #expect(source.contains("compatible = \"gpio-keys\"") && source.contains("compatible = \"gpio-leds\""))
        #expect(source.contains("linux,input-type = <0x05>") && source.contains("linux,code = <0x09>"), "EV_SW / SW_CAMERA_LENS_COVER")
        #expect(source.contains("linux,code = <0xf8>"), "KEY_MICMUTE")
        let config = try String(contentsOfFile: Self.board + "/classbox.toml", encoding: .utf8)
        for led in ["classbox:camera", "classbox:mic", "classbox:status"] {
            #expect(source.contains("label = \"\(led)\"") && config.contains("\"\(led)\""), "LED \(led) in the overlay and the config")
        }
    }

    @Test func theExampleProvisioningFileIsValid() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rpi-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.board + "/classbox.toml", toPath: directory + "/classbox.toml")
        try "a-room-password\n".write(toFile: directory + "/room-password", atomically: false, encoding: .utf8)
        chmod(directory + "/room-password", 0o600)
        let result = try ClassboxProcess.run(["check-config", directory + "/classbox.toml"])
        #expect(result.status == 0, "valid (warnings for hardware this machine lacks are fine): \(result.stdout)\(result.stderr)")
    }

    /// RAUC's custom backend for the Pi's tryboot A/B, against an autoboot.txt of our own:
    /// an update makes the other slot the one-time trial, passing the trial commits it,
    /// and a slot marked bad is never tried again.
    @Test func theTrybootBackendTriesCommitsAndRefusesSlots() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tryboot-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "[all]\ntryboot_a_b=1\nboot_partition=2\n".write(toFile: directory + "/autoboot.txt", atomically: false, encoding: .utf8)
        func boot(from partition: UInt8) throws { try Data([0, 0, 0, partition]).write(to: URL(fileURLWithPath: directory + "/partition")) }
        var environment = ProcessInfo.processInfo.environment
        environment["CLASSBOX_AUTOBOOT"] = directory + "/autoboot.txt"
        environment["CLASSBOX_TRYBOOT_MARKS"] = directory + "/bad"
        environment["CLASSBOX_BOOTED_PARTITION"] = directory + "/partition"
        func backend(_ arguments: String...) throws -> String {
            let child = try SpawnedProcess(Self.board + "/rauc-tryboot.sh", arguments, environment: environment)
            let exit = child.wait(timeout: 20)
            #expect(exit.status == 0, "rauc-tryboot.sh \(arguments): \(child.stderr)")
            return child.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func autoboot() throws -> String { try String(contentsOfFile: directory + "/autoboot.txt", encoding: .utf8) }

        try boot(from: 2)
        #expect(try backend("get-current") == "A" && backend("get-primary") == "A")
        _ = try backend("set-primary", "B")  // RAUC after writing slot B
        #expect(try backend("get-primary") == "B")
        #expect(try autoboot().hasSuffix("[tryboot]\nboot_partition=3\n") && autoboot().contains("[all]\ntryboot_a_b=1\nboot_partition=2\n"),
                "only the one-time trial boots B; a power cut brings back A")
        try boot(from: 3)  // the trial boot
        _ = try backend("set-state", "B", "good")  // classbox health: the trial passed
        #expect(try autoboot().contains("[all]\ntryboot_a_b=1\nboot_partition=3\n"), "committed")
        _ = try backend("set-primary", "A")
        _ = try backend("set-state", "A", "bad")  // the trial of A failed
        #expect(try backend("get-state", "A") == "bad" && backend("get-primary") == "B")
        #expect(try autoboot().hasSuffix("[tryboot]\nboot_partition=3\n"), "a bad slot is not tried again")
    }
}
