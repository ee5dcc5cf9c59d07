/// The A/B boot state GRUB acts on (Board/x86/grub.cfg): `ORDER`, the slots in order of
/// preference, and per slot `<bootname>_OK` (it holds a complete system) and `<bootname>_TRY`
/// (how often GRUB started it since it was last marked good). The names and what RAUC's
/// good/bad/primary mean are those of RAUC's own GRUB backend (rauc src/bootloaders/grub.c),
/// so `rauc status` reads the same as it did with `bootloader=grub`; only where the state is
/// stored changed (``BootStateFiles``).
public struct BootState: Equatable, Sendable {
    public private(set) var variables: [String: String]
    /// The slots' bootnames as system.conf names them, in that order.
    public let bootnames: [String]

    public init(variables: [String: String], bootnames: [String] = ["A", "B"]) {
        self.variables = variables
        self.bootnames = bootnames
    }

    /// The state a box takes on when neither copy of the environment can be read: the system
    /// that runs is good and first; every other slot is bad, as nothing says whether a write
    /// into it was complete. GRUB itself falls back to grub.cfg's defaults then; the first
    /// write after this puts the safe state back on the disk.
    public static func afterLoss(booted: String, bootnames: [String] = ["A", "B"]) -> BootState {
        var state = BootState(variables: [:], bootnames: bootnames)
        for name in bootnames { state.mark(name, good: false) }
        state.makePrimary(booted)
        return state
    }

    /// Every variable a whole block holds: `ORDER` and each slot's `_OK` and `_TRY`.
    public static func names(bootnames: [String]) -> [String] {
        ["ORDER"] + bootnames.flatMap { ["\($0)_OK", "\($0)_TRY"] }
    }

    /// `ORDER`; a missing one reads as grub.cfg's default, the bootnames in their order.
    public var order: [String] {
        guard let value = variables["ORDER"] else { return bootnames }
        return value.split(separator: " ").map(String.init)
    }

    /// A missing `_OK` reads as 1 and a missing `_TRY` as 0: grub.cfg's defaults.
    public func isComplete(_ bootname: String) -> Bool { (variables["\(bootname)_OK"] ?? "1") == "1" }
    public func tries(_ bootname: String) -> Int { Int(variables["\(bootname)_TRY"] ?? "0") ?? 0 }

    /// Good: in the order, complete, and not on trial (RAUC's `r_grub_get_state`).
    public func isGood(_ bootname: String) -> Bool {
        order.contains(bootname) && isComplete(bootname) && tries(bootname) == 0
    }

    /// The first good slot in the order (RAUC's `r_grub_get_primary`): a slot GRUB is still
    /// trying is not primary yet.
    public var primary: String? { order.first { isGood($0) } }

    /// `rauc status mark-good|mark-bad`: the slot is complete or not, and its tries start over.
    public mutating func mark(_ bootname: String, good: Bool) {
        variables["\(bootname)_OK"] = good ? "1" : "0"
        variables["\(bootname)_TRY"] = "0"
    }

    /// `rauc status mark-active` and the end of an install: the slot first, the others after
    /// it in system.conf's order, and the slot complete with no tries.
    public mutating func makePrimary(_ bootname: String) {
        variables["ORDER"] = ([bootname] + bootnames.filter { $0 != bootname }).joined(separator: " ")
        mark(bootname, good: true)
    }

    /// `KEY=value` pairs for `grub-editenv set`, sorted so a block is the same each time.
    public var assignments: [String] { variables.keys.sorted().map { "\($0)=\(variables[$0]!)" } }

    /// The variables of `grub-editenv FILE list` output (`KEY=value` lines; others are skipped).
    public static func variables(listing: String) -> [String: String] {
        var variables: [String: String] = [:]
        for line in listing.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "="), equals != line.startIndex else { continue }
            variables[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return variables
    }

    /// `rauc.slot=` from a kernel command line (/proc/cmdline).
    public static func bootedSlot(commandLine: String) -> String? {
        for word in commandLine.split(whereSeparator: \.isWhitespace) where word.hasPrefix("rauc.slot=") {
            return String(word.dropFirst("rauc.slot=".count))
        }
        return nil
    }
}
