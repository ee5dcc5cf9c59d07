#if canImport(Glibc)
import Glibc
#endif
import Provisioning
import Runtime

/// A new provisioning file from district IT (`ssh config@box < classbox.toml`), or the last
/// good one back (`ssh config@box rollback`), without reflashing.
///
/// What arrives is the TOML file itself, or a tar of it with its secret files (room password,
/// token, TURN password: flat names, as the file refers to them). It is checked as a whole in
/// a staging directory next to the live one — the secrets it does not bring are the box's
/// current ones — and every problem goes back to IT as `classbox.toml:LINE: key: …`. Only a
/// valid file replaces the live one: the current files are saved as last-good first, then
/// each changed file is replaced durably (``DurableFile``: a power cut leaves the old or the
/// new contents, never half), the secrets before the TOML that names them. Nothing is echoed
/// of a secret. The caller restarts the box, which rejoins with the new file.
public struct ConfigInstaller {
    /// What became of a push.
    public enum Outcome: Equatable, Sendable {
        /// In place; the box must restart with it.
        case changed
        /// The same files the box has: nothing written, nothing to restart (safe to repeat,
        /// as a fleet tool pushes the same file again and again).
        case unchanged
        case refused
    }

    public let directory: String
    public let fileName: String
    let say: (String) -> Void

    /// At most this much arrives: a provisioning file and its secrets are a few KiB.
    public static let maximumSize = 1 << 20

    public init(directory: String = "/boot/classbox", fileName: String = "classbox.toml", say: @escaping (String) -> Void) {
        self.directory = directory
        self.fileName = fileName
        self.say = say
    }

    /// For the provisioning file at `configPath` (its directory holds the secrets and last-good).
    public init(configPath: String, say: @escaping (String) -> Void) {
        let slash = configPath.lastIndex(of: "/")
        self.init(directory: slash.map { String(configPath[..<$0]) } ?? ".",
                  fileName: String(configPath[(slash.map { configPath.index(after: $0) } ?? configPath.startIndex)...]), say: say)
    }

    var staging: String { directory + "/.incoming" }
    public var lastGood: String { directory + "/last-good" }

    /// Checks `bytes` and, when valid, makes them the box's provisioning; false with every
    /// problem said when not (and then nothing changed).
    public func install(_ bytes: [UInt8]) -> Outcome {
        let done = installIfValid(bytes)
        return done == nil ? .refused : done! ? .changed : .unchanged
    }

    /// nil: refused; false: valid and the same as the live files; true: replaced.
    func installIfValid(_ bytes: [UInt8]) -> Bool? {
        guard !bytes.isEmpty else { return refused("nothing arrived: ssh config@box < classbox.toml (or a tar of it with its secret files)") }
        guard bytes.count <= Self.maximumSize else { return refused("\(bytes.count) bytes is too much for a provisioning file (at most \(Self.maximumSize))") }
        defer { Self.removeTree(staging) }
        Self.removeTree(staging)
        guard mkdir(staging, 0o700) == 0 else { return refused("cannot make \(staging): \(String(cString: strerror(errno)))") }
        // The live files first, so a file that brings no secrets still finds the box's own.
        for name in Self.files(in: directory) {
            guard let contents = DurableFile.contents(of: directory + "/" + name), Self.write(contents, to: staging + "/" + name) else {
                return refused("cannot copy \(name) for the check")
            }
        }
        let pushed: [String]
        if Self.isTar(bytes) {
            guard let names = unpack(bytes) else { return nil }
            pushed = names
        } else {
            guard Self.write(bytes, to: staging + "/" + fileName) else { return refused("cannot store the file for the check") }
            pushed = [fileName]
        }
        guard pushed.contains(fileName) else { return refused("the tar holds no \(fileName)") }
        guard check(staging, label: fileName) else { return nil }
        let changed = pushed.filter { DurableFile.contents(of: staging + "/" + $0) != DurableFile.contents(of: directory + "/" + $0) }
        guard !changed.isEmpty else {
            say("ok: unchanged: the box has this \(fileName) already")
            return false
        }
        guard saveLastGood() else { return nil }
        guard apply(from: staging, names: changed) else {
            // Part of it may be in place (a full or failing card): the saved files go back.
            _ = apply(from: lastGood, names: Self.files(in: lastGood))
            return refused("the new files could not all be written; the previous ones were put back")
        }
        say("ok: \(fileName) replaced (\(changed.count) of \(pushed.count) file\(pushed.count == 1 ? "" : "s") changed); the previous one is kept for `rollback`; the box restarts with it")
        return true
    }

    /// What a power cut in the middle of a push can leave behind — the files being checked, a
    /// half-made last-good copy, a new file not yet renamed over the live one — removed at boot
    /// (`classbox ssh-setup`). The live files are whole either way (``DurableFile``). Returns
    /// the names removed.
    public func removeLeftovers() -> [String] {
        // Cut between removing last-good and renaming the fresh copy over it: the copy is whole
        // (each file was written durably before), so it becomes last-good instead of going.
        if access(lastGood, F_OK) != 0, access(lastGood + ".new", F_OK) == 0, rename(lastGood + ".new", lastGood) == 0 {
            Self.syncDirectory(directory)
        }
        let leftovers = Self.entries(in: directory).filter { $0 == ".incoming" || $0.hasSuffix(".new") }
            + Self.entries(in: lastGood).filter { $0.hasSuffix(".new") }.map { "last-good/" + $0 }
        for name in leftovers { Self.removeTree(directory + "/" + name) }
        if !leftovers.isEmpty { Self.syncDirectory(directory) }
        return leftovers
    }

    func refused(_ reason: String) -> Bool? {
        say("refused: \(reason)")
        return nil
    }

    /// The last good provisioning back (what was live before the last install).
    public func rollback() -> Bool {
        let names = Self.files(in: lastGood)
        guard names.contains(fileName) else { return refuse("there is no previous provisioning file to go back to") }
        guard check(lastGood, label: "last-good/" + fileName) else { return false }
        guard apply(from: lastGood, names: names) else { return false }
        say("ok: the previous \(fileName) is back; the box restarts with it")
        return true
    }

    /// The whole file checked as the box would load it; every problem said.
    func check(_ directory: String, label: String) -> Bool {
        guard let bytes = DurableFile.contents(of: directory + "/" + fileName) else { return refuse("cannot read \(label)") }
        switch ConfigLoader.check(bytes, file: label, directory: directory) {
        case .valid(let config, let warnings):
            for warning in warnings { say(warning.description) }
            // A file without update keys would lock IT out of the box for good.
            guard !config.update.authorizedKeys.isEmpty else {
                return refuse("\(label): update.authorized_keys is empty: with it IT could reach this box no more; refused")
            }
            return true
        case .invalid(let diagnostics):
            for diagnostic in diagnostics { say(diagnostic.description) }
            return refuse("\(label) has \(diagnostics.filter { $0.severity == .error }.count) error(s); nothing changed")
        case .unreadable(let reason):
            return refuse("\(label): \(reason)")
        }
    }

    /// A tar's members into staging: flat names only, regular files, owner-only.
    func unpack(_ bytes: [UInt8]) -> [String]? {
        let archive = staging + "/.pushed.tar"
        guard Self.write(bytes, to: archive) else { _ = refuse("cannot store the tar"); return nil }
        defer { unlink(archive) }
        var names: [String] = []
        // `tar -cf x.tar ./classbox.toml` lists "./classbox.toml": the same flat name.
        guard (try? ChildProcess.run("/bin/tar", ["-t", "-f", archive], line: { names.append($0.hasPrefix("./") ? String($0.dropFirst(2)) : $0) }))?.succeeded == true else {
            _ = refuse("the tar cannot be read"); return nil
        }
        for name in names where name.isEmpty || name.contains("/") || name.hasPrefix(".") || name.utf8.count > 64
            || name.hasPrefix("last-good") || name.hasSuffix(".new") {
            _ = refuse("the tar may hold only flat file names (\(fileName) and its secret files), not \"\(name.prefix(64))\""); return nil
        }
        for name in names {
            var info = stat()
            if lstat(directory + "/" + name, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
                _ = refuse("\(name) is not a file on the box; the tar cannot replace it"); return nil
            }
        }
        guard names.count <= 32, Set(names).count == names.count else { _ = refuse("the tar holds \(names.count) entries; at most 32 distinct files"); return nil }
        for name in names { unlink(staging + "/" + name) }  // the pushed ones replace the copies
        guard (try? ChildProcess.run("/bin/tar", ["-x", "-f", archive, "-C", staging, "--no-same-owner", "--no-same-permissions"]))?.succeeded == true else {
            _ = refuse("the tar cannot be unpacked"); return nil
        }
        for name in names {
            var info = stat()
            guard lstat(staging + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { _ = refuse("\(name) in the tar is not a plain file"); return nil }
            chmod(staging + "/" + name, 0o600)
        }
        return names
    }

    /// What is live now, into last-good (a fresh copy each time).
    func saveLastGood() -> Bool {
        let fresh = lastGood + ".new"
        Self.removeTree(fresh)
        guard mkdir(fresh, 0o700) == 0 else { return refuse("cannot make \(fresh): \(String(cString: strerror(errno)))") }
        for name in Self.files(in: directory) {
            guard let contents = DurableFile.contents(of: directory + "/" + name) else { return refuse("cannot read \(name)") }
            do { try DurableFile.replace(fresh + "/" + name, with: contents, mode: 0o600) } catch { return refuse("cannot save \(name): \(error)") }
        }
        Self.removeTree(lastGood)
        guard rename(fresh, lastGood) == 0 else { return refuse("cannot keep the last good file: \(String(cString: strerror(errno)))") }
        Self.syncDirectory(directory)
        return true
    }

    /// Each changed file of `source` over the live one, the provisioning file last.
    func apply(from source: String, names: [String]) -> Bool {
        for name in names.sorted(by: { ($0 == fileName ? 1 : 0, $0) < ($1 == fileName ? 1 : 0, $1) }) {
            guard let contents = DurableFile.contents(of: source + "/" + name) else { return refuse("cannot read \(name)") }
            if DurableFile.contents(of: directory + "/" + name) == contents { continue }
            do { try DurableFile.replace(directory + "/" + name, with: contents, mode: 0o600) } catch { return refuse("cannot replace \(name): \(error)") }
        }
        return true
    }

    func refuse(_ reason: String) -> Bool {
        say("refused: \(reason)")
        return false
    }

    static func isTar(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 512 && Array(bytes[257..<262]) == Array("ustar".utf8)
    }

    /// The plain files directly in `path` (not its subdirectories, not hidden ones).
    static func files(in path: String) -> [String] {
        entries(in: path).filter { name in
            var info = stat()
            return !name.hasPrefix(".") && lstat(path + "/" + name, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
        }.sorted()
    }

    /// Every name in `path` but `.` and `..`.
    static func entries(in path: String) -> [String] {
        guard let handle = opendir(path) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func write(_ bytes: [UInt8], to path: String) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return DurableFile.writeAll(descriptor, bytes, at: 0)
    }

    static func removeTree(_ path: String) {
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFDIR {
            unlink(path)
            return
        }
        for name in entries(in: path) { unlink(path + "/" + name) }  // hidden leftovers of an interrupted run too
        rmdir(path)
    }

    static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor >= 0 { fsync(descriptor); close(descriptor) }
    }
}
