#if canImport(Glibc)
import Glibc
#endif
import Runtime

/// Carries out ``SlotTrial``'s decision on the box: RAUC's good/bad marks, the update
/// record, and the reboot back into the previous slot when a new one fails its trial.
public struct SlotTrialRunner {
    public var rauc = RAUC()
    public var paths = UpdatePaths()
    public var trialSeconds: Int
    /// Asks the running box how it is (its control socket).
    public let probe: () -> SlotTrial.Health
    public let say: (String) -> Void

    public init(trialSeconds: Int, probe: @escaping () -> SlotTrial.Health, say: @escaping (String) -> Void) {
        self.trialSeconds = trialSeconds
        self.probe = probe
        self.say = say
    }

    /// Returns false when the box must reboot (a failed trial).
    public func run() throws(UpdateError) -> Bool {
        let (keepRunning, outcome) = try decide()
        // What was decided (the leftover's removal, the record, RAUC's marks in grubenv on the
        // FAT boot partition) must survive a power cut right after: ext4 commits its journal
        // only every few seconds and FAT has none. The outcome line comes after, so whoever
        // reads it (the admin, the image test) knows it holds.
        sync()
        say(outcome)
        return keepRunning
    }

    private func decide() throws(UpdateError) -> (keepRunning: Bool, outcome: String) {
        // A bundle left behind by a transfer or install that a power cut stopped: no update
        // runs this early (none is taken before the booted slot is marked good below).
        var leftover = stat()
        if stat(paths.incoming, &leftover) == 0 {
            unlink(paths.incoming)
            say("removed a bundle left over from an interrupted update (\(UpdateInstaller.mebibytes(Int(leftover.st_size))))")
        }
        let status = try rauc.status()
        let booted = status.booted
        var record = UpdateRecord.load(from: paths.record)
        let running = UpdateInstaller.runningVersion(paths.versionFile)
        switch SlotTrial.decide(record: record, booted: booted) {
        case .confirm:
            try rauc.mark("mark-good", "booted")
            // After a rollback the failed slot may still be first in GRUB's order (marked bad,
            // so passed over); the system that runs is the one to boot next. Asked after the
            // mark: RAUC does not count a slot GRUB is still trying as primary.
            let after = try rauc.status()
            if let primary = after.slots.first(where: { $0.name == after.primary }), primary.bootname != booted {
                try rauc.mark("mark-active", "booted")
            }
            return (true, "slot \(booted) (\(running)) marked good")
        case .failedSlotBooted(let version):
            let otherGood = status.slots.contains { $0.bootname != booted && !$0.bootname.isEmpty && $0.bootStatus == "good" }
            guard otherGood else {
                try rauc.mark("mark-good", "booted")
                return (true, "\(version) in slot \(booted) failed its trial before, but the other slot is not good either: staying on it")
            }
            try? rauc.mark("mark-bad", "booted")
            return (false, "\(version) in slot \(booted) failed its trial before; going back to the other slot")
        case .interrupted(let version):
            record?.state = .failed
            record?.message = "the install of \(version) was interrupted (power cut?); \(running) in slot \(booted) kept running"
            try record?.store(at: paths.record)
            try rauc.mark("mark-good", "booted")
            return (true, record?.message ?? "")
        case .fellBack(let newSlot, let version):
            try rauc.mark("mark-good", "booted")
            try rauc.mark("mark-active", "booted")
            if let other = status.slots.first(where: { $0.bootname == newSlot }) { try? rauc.mark("mark-bad", other.name) }
            record?.state = .rolledBack
            record?.time = Int(time(nil))
            record?.message = "\(version) in slot \(newSlot) did not come up (it crashed or hung before its health check); back on \(running) in slot \(booted)"
            try record?.store(at: paths.record)
            return (true, "rolled back: \(record?.message ?? "")")
        case .trial(let version):
            say("slot \(booted) runs the new version \(version) on trial: it has \(trialSeconds) s to come up healthy")
            let start = Monotonic.nanoseconds()
            var health = probe()
            while !health.isSettled && Monotonic.nanoseconds() - start < UInt64(trialSeconds) * 1_000_000_000 {
                usleep(2_000_000)
                health = probe()
            }
            record?.time = Int(time(nil))
            if health.isHealthy {
                try rauc.mark("mark-good", "booted")
                record?.state = .good
                record?.message = "\(version) in slot \(booted) came up healthy and was marked good"
                try record?.store(at: paths.record)
                return (true, record?.message ?? "")
            }
            let previous = (record?.previousVersion ?? "the previous version", record?.previousSlot ?? "the other slot")
            // Whatever fails here, the box reboots: GRUB passes over a slot that is never marked good.
            var marked = true
            do { try rauc.mark("mark-bad", "booted") } catch { marked = false }
            record?.state = .rolledBack
            let waited = (Monotonic.nanoseconds() - start) / 1_000_000_000
            record?.message = "\(version) in slot \(booted) did not come up healthy "
                + (health.serviceGaveUp ? "(after \(waited) s of its \(trialSeconds) s trial)" : "within \(trialSeconds) s") + ": \(health.missing); "
                + "back to \(previous.0) in slot \(previous.1)" + (marked ? "" : " (marking the slot bad failed; GRUB's try count takes it out)")
            try? record?.store(at: paths.record)
            return (false, "trial failed: \(record?.message ?? "")")
        }
    }
}
