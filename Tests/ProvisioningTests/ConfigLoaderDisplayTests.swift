import Foundation
import Testing
@testable import Provisioning

/// The display table read alone from a file broken elsewhere: the problem screen's place and
/// language.
@Suite struct ConfigLoaderDisplayTests {
    static func file(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("display-\(UUID().uuidString).toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theDisplayTableIsReadFromAFileBrokenElsewhere() throws {
        let broken = try Self.file("config_version = 1\n[room]\nname = \"Klasse 4b!\"\n[display]\nlanguage = \"en\"\ndevice = \"/dev/dri/card1\"\n")
        guard case .invalid = ConfigLoader.load(path: broken) else { Issue.record("the file is invalid"); return }
        let display = try #require(ConfigLoader.display(path: broken))
        #expect(display.language == .en && display.device == .card(path: "/dev/dri/card1"))
    }

    @Test func aBrokenDisplayTableOrFileGivesNothingAndTheSnapshotStaysForTheTestPattern() throws {
        #expect(ConfigLoader.display(path: try Self.file("[display]\nlanguage = \"fr\"\n")) == nil)
        #expect(ConfigLoader.display(path: "/nonexistent/classbox.toml") == nil)
        let real = try #require(ConfigLoader.display(path: try Self.file("[camera]\ndevice = \"/dev/video0\"\n[display]\ndevice = \"snapshot\"\n")))
        #expect(real.device == .none, "a real camera's box writes no snapshot")
        let simulated = try #require(ConfigLoader.display(path: try Self.file("[camera]\ndevice = \"test-pattern\"\n[display]\ndevice = \"snapshot\"\n")))
        #expect(simulated.device == .snapshot)
        #expect(ConfigLoader.display(path: try Self.file("")) == ProvisioningConfig.Display.defaults)
    }
}
