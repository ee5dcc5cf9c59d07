import Foundation
import Testing
@testable import Updater

/// `ssh config@box`: a provisioning file (or a tar with its secrets) checked whole and only
/// then put in place, the previous one kept for rollback; nothing changes on any refusal.
@Suite struct ConfigInstallerTests {
    static let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDbCLr9uU4EdX+VSCVNpZNLtE1U2Dpq2hV7PdITk9hc4 it@district"

    static func file(room: String = "klasse-4b", keys: String = "[\"\(key)\"]", password: String = "room-password") -> String {
        """
        config_version = 1
        [server]
        host = "meet.schule.example"
        [room]
        name = "\(room)"
        password_file = "\(password)"
        label = "Klasse 4b"
        [camera]
        device = "test-pattern"
        [privacy]
        switch = "simulated"
        [network]
        district_domains = ["schule.example"]
        [update]
        authorized_keys = \(keys)

        """
    }

    /// A live directory as the box has it: the file and its room password.
    final class Box {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("boot-\(UUID().uuidString)").path
        var said: [String] = []
        lazy var installer = ConfigInstaller(directory: directory, say: { [unowned self] in self.said.append($0) })

        init() throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try write("classbox.toml", ConfigInstallerTests.file())
            try write("room-password", "geheim-4b\n")
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        func write(_ name: String, _ text: String, in subdirectory: String? = nil) throws {
            let path = (subdirectory.map { directory + "/" + $0 } ?? directory) + "/" + name
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, 0o600)
        }

        func read(_ name: String) -> String? { try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) }

        /// The tree below the directory, names and contents, to compare before and after.
        var tree: [String: String] {
            var result: [String: String] = [:]
            for name in (FileManager.default.subpaths(atPath: directory) ?? []) {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: directory + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue {
                    result[name] = read(name) ?? ""
                }
            }
            return result
        }
    }

    /// A tar made by the tar tool, as IT would make it.
    static func tar(_ files: [String: String], names: [String]? = nil) throws -> [UInt8] {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("tar-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        for (name, text) in files {
            try FileManager.default.createDirectory(atPath: work + "/" + (name.split(separator: "/").dropLast().joined(separator: "/")), withIntermediateDirectories: true)
            try text.write(toFile: work + "/" + name, atomically: false, encoding: .utf8)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/tar")
        process.arguments = ["-c", "-f", work + "/out.tar", "-C", work] + (names ?? files.keys.sorted())
        try process.run()
        process.waitUntilExit()
        return Array(try Data(contentsOf: URL(fileURLWithPath: work + "/out.tar")))
    }

    @Test func aValidFileReplacesTheLiveOneAndTheOldIsKept() throws {
        let box = try Box()
        #expect(box.installer.install(Array(Self.file(room: "klasse-4c").utf8)) == .changed, "\(box.said)")
        #expect(box.read("classbox.toml")?.contains("klasse-4c") == true)
        #expect(box.read("last-good/classbox.toml")?.contains("klasse-4b") == true && box.read("last-good/room-password") == "geheim-4b\n")
        #expect(box.said.last?.hasPrefix("ok: classbox.toml replaced") == true)
        #expect(!box.said.joined().contains("geheim-4b"), "no secret echoed")
        #expect(!FileManager.default.fileExists(atPath: box.directory + "/.incoming"), "no staging left")

        // The same file again (a fleet tool pushes it on every run): nothing written, no restart.
        let before = box.tree
        #expect(box.installer.install(Array(Self.file(room: "klasse-4c").utf8)) == .unchanged)
        #expect(box.said.last == "ok: unchanged: the box has this classbox.toml already" && box.tree == before, "last-good stays the older file")

        box.said = []
        #expect(box.installer.rollback(), "\(box.said)")
        #expect(box.read("classbox.toml")?.contains("klasse-4b") == true)
    }

    @Test func theInstallerFindsItsDirectoryFromTheConfigPath() {
        let boot = ConfigInstaller(configPath: "/boot/classbox/classbox.toml", say: { _ in })
        #expect(boot.directory == "/boot/classbox" && boot.fileName == "classbox.toml")
        let here = ConfigInstaller(configPath: "box.toml", say: { _ in })
        #expect(here.directory == "." && here.fileName == "box.toml")
    }

    /// What a power cut during a push leaves (the staging directory, a half-made last-good copy,
    /// a new file not yet renamed) goes at the next boot; the live files stay as they are.
    @Test func theLeftoversOfAnInterruptedPushAreRemovedAtBoot() throws {
        let box = try Box()
        #expect(box.installer.install(Array(Self.file(room: "klasse-4c").utf8)) == .changed)
        let live = box.tree
        try FileManager.default.createDirectory(atPath: box.directory + "/.incoming", withIntermediateDirectories: true)
        try box.write("classbox.toml", Self.file(room: "klasse-4d"), in: ".incoming")
        try FileManager.default.createDirectory(atPath: box.directory + "/last-good.new", withIntermediateDirectories: true)
        try box.write("room-password", "geheim-4b\n", in: "last-good.new")
        try box.write("classbox.toml.new", "config_version = 1\n[server]\nhost = \"meet.sch")
        try box.write("room-password.new", "", in: "last-good")
        #expect(box.installer.removeLeftovers().sorted() == [".incoming", "classbox.toml.new", "last-good.new", "last-good/room-password.new"])
        #expect(box.tree == live, "the live files and last-good as they were")
        #expect(box.installer.removeLeftovers().isEmpty, "nothing the second time")
        // Cut between removing last-good and renaming its fresh copy: the copy becomes last-good.
        try FileManager.default.moveItem(atPath: box.directory + "/last-good", toPath: box.directory + "/last-good.new")
        #expect(box.installer.removeLeftovers().isEmpty && box.tree == live, "last-good kept for rollback")
    }

    @Test func aBrokenFileIsRefusedWithItsLinesAndNothingChanges() throws {
        let box = try Box()
        let before = box.tree
        let broken = Self.file(room: "Klasse 4c").replacingOccurrences(of: "[camera]", with: "[camera]\nfsp = 30")
        #expect(box.installer.install(Array(broken.utf8)) == .refused)
        #expect(box.said.contains { $0.hasPrefix("classbox.toml:5: room.name:") }, "\(box.said)")
        #expect(box.said.contains { $0.hasPrefix("classbox.toml:9: camera.fsp:") }, "\(box.said)")
        #expect(box.said.last == "refused: classbox.toml has 2 error(s); nothing changed")
        #expect(box.tree == before, "nothing changed, not even last-good")

        // A file that would shut IT out, a missing secret, nothing at all: refused too.
        for (bytes, reason) in [(Array(Self.file(keys: "[]").utf8), "update.authorized_keys is empty"),
                                (Array(Self.file(password: "other-password").utf8), "room.password_file"),
                                ([UInt8](), "nothing arrived")] {
            box.said = []
            #expect(box.installer.install(bytes) == .refused)
            #expect(box.said.contains { $0.contains(reason) }, "\(reason): \(box.said)")
            #expect(box.tree == before)
        }
        #expect(!box.installer.rollback() && box.said.last == "refused: there is no previous provisioning file to go back to")
    }

    @Test func aTarBringsTheFileWithItsSecrets() throws {
        let box = try Box()
        let pushed = try Self.tar(["classbox.toml": Self.file(room: "klasse-4c", password: "password-4c"), "password-4c": "neu-4c\n"])
        #expect(box.installer.install(pushed) == .changed, "\(box.said)")
        #expect(box.read("password-4c") == "neu-4c\n" && box.read("classbox.toml")?.contains("password-4c") == true)
        var info = stat()
        #expect(stat(box.directory + "/password-4c", &info) == 0 && info.st_mode & 0o077 == 0, "secrets stay owner-only")
        #expect(box.read("room-password") == "geheim-4b\n", "files it did not bring stay")

        let before = box.tree
        for (files, names, reason) in [(["sub/classbox.toml": Self.file()], ["sub/classbox.toml"], "flat file names"),
                                       (["room-password": "x\n"], nil, "holds no classbox.toml"),
                                       ([".hidden": "x", "classbox.toml": Self.file()], nil, "flat file names"),
                                       (["last-good": "x", "classbox.toml": Self.file()], nil, "flat file names"),
                                       (["classbox.toml.new": "x", "classbox.toml": Self.file()], nil, "flat file names")] {
            box.said = []
            #expect(box.installer.install(try Self.tar(files, names: names)) == .refused)
            #expect(box.said.last?.contains(reason) == true, "\(reason): \(box.said)")
            #expect(box.tree == before)
        }
    }
}
