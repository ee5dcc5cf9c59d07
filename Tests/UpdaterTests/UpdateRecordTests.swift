#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Updater

struct UpdateRecordTests {
    @Test func roundTripsThroughItsFileAtomically() throws {
        let directory = "/tmp/classbox-record-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(directory, 0o700)
        defer { unlink(directory + "/last-update"); rmdir(directory) }
        let record = UpdateRecord(state: .rolledBack, version: "0.1.9", slot: "B", previousVersion: "0.1.8", previousSlot: "A",
                                  time: 1_790_000_000, message: "did not come up\nwithin 300 s")
        try record.store(at: directory + "/last-update")
        let loaded = try #require(UpdateRecord.load(from: directory + "/last-update"))
        #expect(loaded.state == .rolledBack && loaded.version == "0.1.9" && loaded.previousSlot == "A" && loaded.time == 1_790_000_000)
        #expect(loaded.message == "did not come up within 300 s", "a newline in a message cannot start a new field")
        #expect(access(directory + "/last-update.new", F_OK) != 0, "no temporary file is left behind")
    }

    @Test func aDamagedRecordReadsAsNone() {
        #expect(UpdateRecord(parsing: "") == nil)
        #expect(UpdateRecord(parsing: "state=exploded\nversion=1\nslot=A\n") == nil)
        #expect(UpdateRecord(parsing: "version=1\nslot=A\n") == nil)
        #expect(UpdateRecord.load(from: "/nonexistent/last-update") == nil)
    }

    @Test func versionsCompareByNumberNotByText() throws {
        let v = { (text: String) throws -> FirmwareVersion in try #require(FirmwareVersion(text)) }
        #expect(try v("0.1.10") > v("0.1.9"))
        #expect(try v("0.1.57.1") > v("0.1.57"))
        #expect(try v("1.0") == v("1.0.0"))
        #expect(try v("1.2.0-rc1") < v("1.2.0"))
        #expect(try v("1.2.0+g1234") == v("1.2.0"), "build metadata does not count")
        #expect(FirmwareVersion("") == nil && FirmwareVersion("1.x") == nil && FirmwareVersion("-1") == nil)
    }

    @Test func theStatusNamesSlotsVersionsAndTheLastUpdate() {
        let status = RAUC.Status(compatible: "classbox-x86_64", booted: "B", primary: "rootfs.1", slots: [
            RAUC.Slot(name: "rootfs.0", bootname: "A", state: "inactive", bootStatus: "good", bundleVersion: nil),
            RAUC.Slot(name: "rootfs.1", bootname: "B", state: "booted", bootStatus: "bad", bundleVersion: "0.1.9"),
        ])
        let record = UpdateRecord(state: .installed, version: "0.1.9", slot: "B", previousVersion: "0.1.8", previousSlot: "A",
                                  time: 1_795_737_599, message: "")
        let lines = UpdateStatusReport.render(running: "0.1.9", status: status, record: record).split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines.first == "firmware 0.1.9 (classbox-x86_64), booted from slot B, next boot: slot B")
        #expect(lines.dropFirst().first == "  slot A (rootfs.0): inactive, good, version 0.1.8", "the version the record remembers")
        #expect(lines.dropFirst(2).first?.hasPrefix("  slot B (rootfs.1): booted, not marked good yet") == true, "\(lines)")
        #expect(lines.last == "last update: installed, version 0.1.9 to slot B (from 0.1.8 in slot A) at 2026-11-26 23:59:59 UTC")
        let json = UpdateStatusReport.json(running: "0.1.9", status: status, record: record)
        #expect(json.serialized == #"{"firmware":"0.1.9","booted":"B","next_boot":"B","last_update":{"state":"installed","version":"0.1.9","slot":"B","at":"2026-11-26 23:59:59 UTC"}}"#)
        let fresh = UpdateStatusReport.render(running: "0.1.8", status: RAUC.Status(compatible: "classbox-x86_64", booted: "A", primary: "",
            slots: [RAUC.Slot(name: "rootfs.0", bootname: "A", state: "booted", bootStatus: "good", bundleVersion: nil)]), record: nil)
        #expect(fresh == "firmware 0.1.8 (classbox-x86_64), booted from slot A\n  slot A (rootfs.0): booted, good, version 0.1.8\n"
                + "last update: none since the image was written")
    }

    @Test func timesPrintInUTC() {
        #expect(UpdateStatusReport.utc(0) == "1970-01-01 00:00:00 UTC")
        #expect(UpdateStatusReport.utc(951_782_400) == "2000-02-29 00:00:00 UTC")
        #expect(UpdateStatusReport.utc(1_795_737_599) == "2026-11-26 23:59:59 UTC")
    }
}
