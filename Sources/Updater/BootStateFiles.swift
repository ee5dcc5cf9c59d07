#if canImport(Glibc)
import Glibc
#endif
import Runtime

/// Where the boot state lives: two copies of GRUB's environment block on the FAT boot
/// partition, the primary (`grub/grubenv`) and its backup (`grub/grubenv.backup`), so that a
/// power cut at any moment leaves a whole copy that GRUB and RAUC agree on.
///
/// `grub-editenv` (what RAUC's GRUB backend calls) rewrites the file by truncating it first:
/// a power cut in that moment left an empty grubenv, GRUB booted grub.cfg's defaults and RAUC
/// could neither read nor mark a slot again (seen in the image test's power-cut campaign).
/// Here the block is composed by `grub-editenv` in scratch space, then copied over each copy
/// in place: same size, same clusters, so the allocation table is not touched; what changes
/// is the first sector of the block, where all the variables are, and the time in the file's
/// directory entry. (That entry shares a sector of `grub/` with grub.cfg's: storage that can
/// tear a sector, as some SD cards do, could still hurt both; writing the block through the
/// block device instead, as U-Boot's environment tools do, would avoid even that.) The primary is written (and
/// synced) before the backup: whichever moment the power goes, the primary is either whole
/// (the newest state) or unreadable, and then the backup holds the state before. GRUB reads
/// them in the same order (Board/x86/grub.cfg), and so does ``load()``.
public struct BootStateFiles: Sendable {
    public var primary = "/boot/grub/grubenv"
    public var backup = "/boot/grub/grubenv.backup"
    public var editenv = "/usr/bin/grub-editenv"
    /// Where the block is composed (a tmpfs); never the boot partition.
    public var scratch = "/run"

    public init() {}

    public enum Source: Equatable, Sendable { case primary, backup }

    /// The first whole copy, primary before backup, and which one it was; nil when neither
    /// is. A copy that is missing, that `grub-editenv` cannot read (a torn block) or that
    /// lacks one of `names` (a block cut short by a writer that truncates first still reads,
    /// without the variables after the cut) does not count, as in grub.cfg's `load_state`.
    public func load(requiring names: [String]) -> (variables: [String: String], source: Source)? {
        for (path, source) in [(primary, Source.primary), (backup, .backup)] {
            // Present and not empty, as grub.cfg's `[ -n ... ]` asks.
            if let variables = list(path), names.allSatisfy({ !(variables[$0] ?? "").isEmpty }) { return (variables, source) }
        }
        return nil
    }

    /// Writes `state` into both copies, primary first, each read back before going on.
    public func store(_ state: BootState) throws(UpdateError) {
        let block = try compose(state)
        for path in [primary, backup] {
            try write(block, to: path)
            guard list(path) == state.variables else {
                throw .failed("the boot state written to \(path) does not read back as written")
            }
        }
    }

    /// `grub-editenv FILE list`, or nil when the file is missing or not a valid block. The
    /// check for the file comes first: grub-editenv creates a missing file, even to list it.
    func list(_ path: String) -> [String: String]? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        var lines: [String] = []
        guard let exit = try? ChildProcess.run(editenv, [path, "list"], line: { lines.append($0) }), exit.succeeded else { return nil }
        return BootState.variables(listing: lines.joined(separator: "\n"))
    }

    /// The block as GRUB's own tool lays it out (its header, `KEY=value` lines, `#` padding).
    private func compose(_ state: BootState) throws(UpdateError) -> [UInt8] {
        let path = "\(scratch)/classbox-grubenv.\(getpid())"
        unlink(path)
        defer { unlink(path) }
        for arguments in [[path, "create"], [path, "set"] + state.assignments] {
            do { _ = try ChildProcess.output(editenv, arguments) } catch { throw .failed("composing the boot state: \(error)") }
        }
        guard let block = DurableFile.contents(of: path), !block.isEmpty else { throw .system("reading \(path)", errno: errno) }
        return block
    }

    /// Over the old block in place when the file has the block's size; otherwise (a missing
    /// backup on a box built before there was one, a truncated copy) as a new file renamed
    /// over the old name, which FAT cannot do atomically but which leaves the other copy alone.
    private func write(_ block: [UInt8], to path: String) throws(UpdateError) {
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        if descriptor >= 0 {
            defer { close(descriptor) }
            var info = stat()
            if fstat(descriptor, &info) == 0 && Int(info.st_size) == block.count {
                guard DurableFile.writeAll(descriptor, block, at: 0), fsync(descriptor) == 0 else { throw .system("writing \(path)", errno: errno) }
                return
            }
        }
        try DurableFile.replace(path, with: block, mode: 0o600)
    }
}
