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
}
