import JSON

/// `ssh update@<box> status`: the firmware, the slots and the last update, for district IT.
public enum UpdateStatusReport {
    public static func render(running: String, status: RAUC.Status, record: UpdateRecord?) -> String {
        // RAUC names the primary slot by its slot name (rootfs.1), the booted one by its bootname (B).
        let primary = status.slots.first { $0.name == status.primary }?.bootname ?? status.primary
        var lines = ["firmware \(running) (\(status.compatible)), booted from slot \(status.booted)"
                     + (primary.isEmpty ? "" : ", next boot: slot \(primary)")]
        for slot in status.slots {
            // RAUC knows the versions it installed; the rest were written with the image.
            let version = slot.bundleVersion ?? (slot.state == "booted" ? running
                : record.flatMap { $0.previousSlot == slot.bootname ? $0.previousVersion : nil } ?? "as first written")
            lines.append("  slot \(slot.bootname) (\(slot.name)): \(slot.state), \(bootStatus(slot)), version \(version)")
        }
        if let record {
            lines.append("last update: \(record.state.rawValue), version \(record.version) to slot \(record.slot)"
                         + " (from \(record.previousVersion) in slot \(record.previousSlot)) at \(utc(record.time))")
            if !record.message.isEmpty { lines.append("  \(record.message)") }
        } else {
            lines.append("last update: none since the image was written")
        }
        return lines.joined(separator: "\n")
    }

    /// The same for a fleet's table (`ssh update@box status --json`).
    public static func json(running: String, status: RAUC.Status, record: UpdateRecord?) -> JSONValue {
        let primary = status.slots.first { $0.name == status.primary }?.bootname ?? status.primary
        var members: [(String, JSONValue)] = [("firmware", .string(running)), ("booted", .string(status.booted)),
                                              ("next_boot", primary.isEmpty ? .null : .string(primary))]
        if let record {
            members.append(("last_update", .object([("state", .string(record.state.rawValue)), ("version", .string(record.version)),
                                                    ("slot", .string(record.slot)), ("at", .string(utc(record.time)))])))
        } else {
            members.append(("last_update", .null))
        }
        return .object(members)
    }

    /// RAUC's GRUB backend calls a slot good only when its try count is 0, so the slot that
    /// runs reads "bad" from power-on until `classbox health` marks it: say that instead. (A
    /// booted slot really marked bad is one whose trial failed; the box reboots at once.)
    static func bootStatus(_ slot: RAUC.Slot) -> String {
        switch (slot.state, slot.bootStatus) {
        case (_, ""): "no boot status"
        case ("booted", "bad"): "not marked good yet (the health check after each boot marks it)"
        default: slot.bootStatus
        }
    }

    /// `YYYY-MM-DD hh:mm:ss UTC` without Foundation.
    public static func utc(_ seconds: Int) -> String {
        let days = seconds / 86_400
        let rest = seconds % 86_400
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60)) UTC"
    }
}
