/// RAUC's custom bootloader backend (system.conf: `bootloader=custom`, run as
/// `classbox boot-state COMMAND [BOOTNAME] [good|bad]`; rauc src/bootloaders/custom.c): the
/// same good/bad/primary as RAUC's GRUB backend, kept in ``BootStateFiles`` instead of one
/// grubenv rewritten by truncation.
///
/// When neither copy can be read, the answers come from ``BootState/afterLoss(booted:bootnames:)``
/// and the next mark writes that state: the health check's mark-good after every boot
/// repairs the environment by itself, and each such answer says so on standard error
/// (RAUC's journal).
public struct BootStateBackend: Sendable {
    public var files: BootStateFiles
    public var bootnames: [String]
    /// The slot that runs (`rauc.slot=` on the kernel command line), when known.
    public var booted: String?

    public init(files: BootStateFiles = BootStateFiles(), bootnames: [String] = ["A", "B"], booted: String?) {
        self.files = files
        self.bootnames = bootnames
        self.booted = booted
    }

    public struct Reply: Equatable, Sendable {
        public var output: String?
        public var warnings: [String] = []
        public var error: String?
    }

    public static let usage = "get-primary | get-state BOOTNAME | set-primary BOOTNAME | set-state BOOTNAME good|bad | get-current"

    public func handle(_ arguments: [String]) -> Reply {
        var reply = Reply()
        guard let command = arguments.first else { reply.error = "no command; \(Self.usage)"; return reply }
        let operands = Array(arguments.dropFirst())
        if command == "get-current" {
            if let booted { reply.output = booted } else { reply.error = "the kernel command line names no rauc.slot" }
            return reply
        }
        let expected = ["get-primary": 0, "get-state": 1, "set-primary": 1, "set-state": 2][command]
        guard let expected else { reply.error = "unknown command '\(command)'; \(Self.usage)"; return reply }
        guard operands.count == expected else { reply.error = "\(command) takes \(expected) operand(s); \(Self.usage)"; return reply }
        if let bootname = operands.first, !bootnames.contains(bootname) {
            reply.error = "'\(bootname)' is not a slot's bootname (\(bootnames.joined(separator: ", ")))"
            return reply
        }
        guard var state = current(&reply) else { return reply }
        switch command {
        case "get-primary":
            if let primary = state.primary { reply.output = primary } else { reply.error = "no good slot in ORDER '\(state.order.joined(separator: " "))'" }
            return reply
        case "get-state":
            reply.output = state.isGood(operands[0]) ? "good" : "bad"
            return reply
        case "set-primary":
            state.makePrimary(operands[0])
        default:
            guard operands[1] == "good" || operands[1] == "bad" else { reply.error = "set-state takes good or bad, not '\(operands[1])'"; return reply }
            state.mark(operands[0], good: operands[1] == "good")
        }
        do { try files.store(state) } catch { reply.error = error.description }
        return reply
    }

    private func current(_ reply: inout Reply) -> BootState? {
        if let (variables, source) = files.load(requiring: BootState.names(bootnames: bootnames)) {
            if source == .backup {
                reply.warnings.append("\(files.primary) cannot be read (a power cut while it was written?); the state comes from \(files.backup) and the next mark rewrites both")
            }
            return BootState(variables: variables, bootnames: bootnames)
        }
        guard let booted, bootnames.contains(booted) else {
            reply.error = "neither \(files.primary) nor \(files.backup) can be read, and the kernel command line names no slot that runs"
            return nil
        }
        reply.warnings.append("neither \(files.primary) nor \(files.backup) can be read; slot \(booted), which runs, is taken as the only good one until the next mark writes that down")
        return .afterLoss(booted: booted, bootnames: bootnames)
    }
}
