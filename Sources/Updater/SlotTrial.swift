/// What the box does about its slots after a boot (`classbox health`, run by
/// classbox-health.service), decided from the update record and the slot GRUB booted.
///
/// GRUB sets `<slot>_TRY=1` whenever it starts a slot and passes over a tried slot that was
/// never marked good. So an ordinary boot must mark its slot good (else the next boot would
/// switch slots), while the first boot of a new slot is a trial: it is marked good only when
/// the box has really come up; if it does not within the trial time, it is marked bad and
/// the box reboots into the previous slot.
public enum SlotTrial {
    public enum Decision: Equatable, Sendable {
        /// Nothing pending: mark the booted slot good.
        case confirm
        /// The booted slot is the new one: wait for health, then mark it good, or mark it
        /// bad and reboot.
        case trial(version: String)
        /// The new slot never came up (crash, hang, power cut before it was marked good) and
        /// GRUB went back: record the rollback, mark the new slot bad, keep the booted one.
        case fellBack(newSlot: String, version: String)
        /// An install was cut short before RAUC switched slots: the booted slot is still
        /// the old, good one.
        case interrupted(version: String)
        /// The slot that failed its trial booted again (its bad mark did not take): mark it
        /// bad again and go back, if the other slot is good.
        case failedSlotBooted(version: String)
    }

    public static func decide(record: UpdateRecord?, booted: String) -> Decision {
        guard let record else { return .confirm }
        switch record.state {
        case .installed where record.slot == booted:
            return .trial(version: record.version)
        case .installed:
            return .fellBack(newSlot: record.slot, version: record.version)
        case .installing where record.slot == booted:
            // RAUC makes a slot primary only after writing it completely.
            return .trial(version: record.version)
        case .installing:
            return .interrupted(version: record.version)
        case .rolledBack where record.slot == booted:
            return .failedSlotBooted(version: record.version)
        case .good, .rolledBack, .refused, .failed:
            return .confirm
        }
    }

    /// What counts as "really come up" for a new slot: the box's service runs with a valid
    /// provisioning file and, where a server is configured, has signed in to it.
    public struct Health: Equatable, Sendable {
        public var serviceRunning: Bool
        public var signalingConnected: Bool
        /// systemd gave up on the service (it ended with a status that forbids a restart, such
        /// as an unreadable provisioning file, or used up its restarts): waiting out the rest of
        /// the trial would only keep the classroom offline longer.
        public var serviceGaveUp: Bool

        public init(serviceRunning: Bool, signalingConnected: Bool, serviceGaveUp: Bool = false) {
            self.serviceRunning = serviceRunning
            self.signalingConnected = signalingConnected
            self.serviceGaveUp = serviceGaveUp && !serviceRunning
        }

        public var isHealthy: Bool { serviceRunning && signalingConnected }

        /// The trial's outcome is known: healthy, or a service that will not come back.
        public var isSettled: Bool { isHealthy || serviceGaveUp }

        /// What is missing, for the rollback message.
        public var missing: String {
            if serviceGaveUp { return "the classbox service failed and systemd gave up on it (see `journalctl -u classbox`)" }
            if !serviceRunning { return "the classbox service did not run (see `journalctl -u classbox`)" }
            if !signalingConnected { return "the box did not sign in to the conference server" }
            return "nothing"
        }
    }
}
