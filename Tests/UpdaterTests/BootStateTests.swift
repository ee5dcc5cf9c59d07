import Foundation
import Testing
@testable import Updater

/// The A/B state's meaning (RAUC's GRUB backend, rauc src/bootloaders/grub.c).
struct BootStateTests {
    static let freshImage = ["ORDER": "A B", "A_OK": "1", "A_TRY": "0", "B_OK": "0", "B_TRY": "0"]

    @Test func marksAndPrimaryMeanWhatRAUCsGrubBackendMeans() {
        var state = BootState(variables: Self.freshImage)
        #expect(state.primary == "A" && state.isGood("A") && !state.isGood("B"))
        state.makePrimary("B")  // the end of an install into B
        #expect(state.order == ["B", "A"] && state.isGood("B") && state.primary == "B")
        // GRUB started B once: a slot on trial is neither good nor primary.
        var variables = state.variables
        variables["B_TRY"] = "1"
        state = BootState(variables: variables)
        #expect(!state.isGood("B") && state.primary == "A")
        state.mark("B", good: true)
        #expect(state.isGood("B") && state.primary == "B")
        state.mark("B", good: false)
        #expect(!state.isGood("B") && state.primary == "A" && state.variables["B_TRY"] == "0")
        // A slot missing from ORDER is not good, whatever its marks say.
        #expect(!BootState(variables: ["ORDER": "A", "B_OK": "1", "B_TRY": "0"]).isGood("B"))
        #expect(BootState(variables: ["ORDER": "A B", "A_OK": "0", "B_OK": "0"]).primary == nil)
    }

    @Test func afterALossOnlyTheRunningSlotIsGood() {
        let state = BootState.afterLoss(booted: "B")
        #expect(state.order == ["B", "A"] && state.isGood("B") && !state.isComplete("A") && state.primary == "B")
        #expect(Set(state.variables.keys) == Set(BootState.names(bootnames: ["A", "B"])))
    }

    @Test func theListingAndTheKernelCommandLineAreRead() {
        #expect(BootState.variables(listing: "ORDER=B A\nA_OK=1\n=x\nnoise\nB_TRY=0") == ["ORDER": "B A", "A_OK": "1", "B_TRY": "0"])
        #expect(BootState.bootedSlot(commandLine: "root=PARTUUID=x ro rauc.slot=B quiet\n") == "B")
        #expect(BootState.bootedSlot(commandLine: "root=/dev/sda2 ro") == nil)
    }
}

/// The two copies on disk, through the real grub-editenv, and what a power cut leaves.
@Suite(.serialized) struct BootStateFilesTests {
    /// A directory with a freshly built image's two copies (Image/build.sh writes the same).
    final class Disk {
        let directory: String
        var files = BootStateFiles()

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("bootstate-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            files.primary = directory + "/grubenv"
            files.backup = directory + "/grubenv.backup"
            files.scratch = directory
            try files.store(BootState(variables: BootStateTests.freshImage))
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        func backend(booted: String? = "A") -> BootStateBackend { BootStateBackend(files: files, booted: booted) }
        func bytes(_ path: String) -> [UInt8] { DurableFile.contents(of: path) ?? [] }
        func put(_ bytes: [UInt8], _ path: String) { _ = FileManager.default.createFile(atPath: path, contents: Data(bytes)) }
        func inode(_ path: String) -> UInt64 { ((try? FileManager.default.attributesOfItem(atPath: path))?[.systemFileNumber] as? UInt64) ?? 0 }
        var loaded: [String: String]? { files.load(requiring: BootState.names(bootnames: ["A", "B"]))?.variables }
    }

    @Test func anInstallAndItsTrialGoThroughBothCopiesInPlace() throws {
        let disk = try Disk()
        let backend = disk.backend()
        let inodes = (disk.inode(disk.files.primary), disk.inode(disk.files.backup))
        // RAUC's install into B: marked bad before it is written, primary once it is complete.
        #expect(backend.handle(["set-state", "B", "bad"]) == .init())
        #expect(backend.handle(["set-primary", "B"]) == .init())
        #expect(backend.handle(["get-primary"]).output == "B")
        #expect(backend.handle(["get-state", "B"]).output == "good")
        let block = disk.bytes(disk.files.primary)
        #expect(block.count == 1024 && block == disk.bytes(disk.files.backup))
        #expect(String(decoding: block.prefix(25), as: UTF8.self) == "# GRUB Environment Block\n")
        // Written over the old blocks, not as new files (FAT's tables stay as they were).
        #expect((disk.inode(disk.files.primary), disk.inode(disk.files.backup)) == inodes)
        #expect(disk.files.list(disk.files.primary) == ["ORDER": "B A", "A_OK": "1", "A_TRY": "0", "B_OK": "1", "B_TRY": "0"])
    }

    @Test func aPowerCutAtAnyMomentOfAWriteLeavesTheOldOrTheNewState() throws {
        let disk = try Disk()
        let old = disk.bytes(disk.files.primary)
        var next = BootState(variables: BootStateTests.freshImage)
        next.mark("B", good: false)
        next.makePrimary("B")
        try disk.files.store(next)
        let new = disk.bytes(disk.files.primary)
        #expect(old != new && old.count == new.count)
        // While the primary is written the backup still holds the old state. In place the
        // sectors land whole or not at all; grub-editenv's rewrite truncates and may stop at
        // any byte; a lost sector reads as zeros.
        var torn: [[UInt8]] = [Array(new[..<512] + old[512...]), Array(old[..<512] + new[512...]), [], Array(repeating: 0, count: 512) + new[512...]]
        torn += stride(from: 0, to: new.count, by: 3).map { Array(new[..<$0]) }
        for primary in torn {
            disk.put(primary, disk.files.primary)
            disk.put(old, disk.files.backup)
            let loaded = disk.loaded
            #expect(loaded == next.variables || loaded == BootStateTests.freshImage, "primary of \(primary.count) octets read as \(String(describing: loaded))")
        }
        // The next mark writes both copies whole again, whatever was left.
        #expect(disk.backend(booted: "A").handle(["set-state", "A", "good"]).error == nil)
        #expect(disk.files.load(requiring: BootState.names(bootnames: ["A", "B"]))?.source == .primary)
        #expect(disk.bytes(disk.files.primary) == disk.bytes(disk.files.backup) && disk.bytes(disk.files.primary).count == 1024)
    }

    @Test func aTornPrimaryIsNamedAndTheBackupAnswers() throws {
        let disk = try Disk()
        disk.put([], disk.files.primary)
        let reply = disk.backend().handle(["get-primary"])
        #expect(reply.output == "A" && reply.error == nil)
        #expect(reply.warnings.count == 1 && reply.warnings[0].contains("cannot be read") && reply.warnings[0].contains("grubenv.backup"))
    }

    @Test func withNeitherCopyTheRunningSlotIsTheOnlyGoodOne() throws {
        let disk = try Disk()
        disk.put([], disk.files.primary)
        unlink(disk.files.backup)
        let backend = disk.backend(booted: "B")
        let primary = backend.handle(["get-primary"])
        #expect(primary.output == "B" && primary.warnings.first?.contains("neither") == true)
        #expect(backend.handle(["get-state", "A"]).output == "bad")
        // grub-editenv would have made the missing file while listing it: it must not.
        #expect(access(disk.files.backup, F_OK) != 0)
        #expect(backend.handle(["set-state", "B", "good"]).error == nil)
        #expect(disk.files.list(disk.files.backup) == ["ORDER": "B A", "A_OK": "0", "A_TRY": "0", "B_OK": "1", "B_TRY": "0"])
        #expect(disk.bytes(disk.files.primary) == disk.bytes(disk.files.backup))
        // Not even the running slot known: nothing is made up.
        disk.put([], disk.files.primary)
        disk.put([], disk.files.backup)
        #expect(disk.backend(booted: nil).handle(["get-primary"]).error?.contains("neither") == true)
    }

    @Test func badRequestsAreRefusedAndChangeNothing() throws {
        let disk = try Disk()
        let before = disk.bytes(disk.files.primary)
        let backend = disk.backend()
        for (arguments, expected) in [([], "no command"), (["frob"], "unknown command"), (["get-state"], "takes 1"),
                                      (["set-state", "C", "good"], "not a slot"), (["set-state", "A", "fine"], "good or bad")] {
            let error = backend.handle(arguments).error
            #expect(error?.contains(expected) == true, "\(arguments): \(String(describing: error))")
        }
        #expect(disk.bytes(disk.files.primary) == before)
        #expect(backend.handle(["get-current"]).output == "A")
    }
}
