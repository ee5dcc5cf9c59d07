#if canImport(Glibc)
import Glibc
#endif
import Runtime

/// Where the updater keeps its files on the box.
public struct UpdatePaths: Sendable {
    /// The bundle while it arrives and is installed: on the data partition (a tmpfs would hold
    /// it in RAM, and /tmp is private to each service); deleted afterwards.
    public var incoming = "/data/update/incoming.raucb"
    public var record = "/data/classbox/last-update"
    /// The running system's version, written into each root filesystem by the image build.
    public var versionFile = "/etc/classbox-version"

    public init() {}
}

/// Takes a bundle from a stream (the admin's `ssh update@box < bundle.raucb`), checks it,
/// installs it into the other slot with RAUC and hands over to the new slot's trial. Runs
/// as root behind `classbox-update.socket`; every line of `say` reaches the admin's terminal.
/// A refused or failed bundle leaves the running system and its slot as they were.
public struct UpdateInstaller {
    public var rauc = RAUC()
    public var paths = UpdatePaths()
    /// How long the new slot has to come up healthy; only for the message.
    public var trialSeconds = 300
    /// How long the bundle may stop arriving before the transfer counts as stalled.
    public var idleSeconds = 120
    public let say: (String) -> Void

    public init(say: @escaping (String) -> Void) { self.say = say }

    /// Installs the bundle read from `input` until end of file. Returns true when it is
    /// installed and the box should reboot into it.
    public func install(from input: Int32, allowDowngrade: Bool) -> Bool {
        let status: RAUC.Status
        do { status = try rauc.status() } catch {
            say("classbox update: \(error)")
            return false
        }
        let booted = status.booted
        let target = status.slots.first { !$0.bootname.isEmpty && $0.bootname != booted }?.bootname ?? "?"
        let running = Self.runningVersion(paths.versionFile)
        defer { unlink(paths.incoming) }
        // One update at a time: while the last one is being installed or is on trial, the slot
        // that runs is the only known-good one, and the other is the one being checked.
        if let pending = UpdateRecord.load(from: paths.record), pending.state == .installing || pending.state == .installed {
            say("classbox update: refused: the box is still checking the last update (\(pending.version) in slot \(pending.slot), "
                + "\(pending.state.rawValue)); try again once `ssh update@<box> status` shows its result")
            return false
        }
        if let running = status.slots.first(where: { $0.bootname == booted }), running.bootStatus != "good" {
            say("classbox update: refused: the running slot \(booted) is not marked good yet; try again in a minute")
            return false
        }
        var record = UpdateRecord(state: .failed, version: "?", slot: target, previousVersion: running, previousSlot: booted,
                                  time: Int(time(nil)), message: "")
        do throws(UpdateError) {
            let bytes = try receive(from: input)
            say("classbox update: received \(Self.mebibytes(bytes)); checking the signature")
            let info: RAUC.BundleInfo
            do { info = try rauc.info(bundle: paths.incoming) } catch {
                throw UpdateError.refused("the bundle is not signed with a key this box trusts, or is damaged (\(error))")
            }
            record.version = info.version
            guard info.compatible == status.compatible else {
                throw UpdateError.refused("the bundle is for '\(info.compatible)', this box is '\(status.compatible)'")
            }
            if let new = FirmwareVersion(info.version), let current = FirmwareVersion(running), new < current {
                guard allowDowngrade else {
                    throw UpdateError.refused("version \(info.version) is older than the running \(running); "
                                              + "to go back on purpose: ssh update@<box> update --allow-downgrade < bundle")
                }
                say("classbox update: going back from \(running) to the older \(info.version), as asked (--allow-downgrade)")
            }
            say("classbox update: version \(info.version) for \(info.compatible), signature valid; installing into slot \(target) (running: \(running) in slot \(booted))")
            record.state = .installing
            record.time = Int(time(nil))
            try record.store(at: paths.record)
            try rauc.install(bundle: paths.incoming) { line in say("  \(line)") }
            // RAUC made the new slot primary: from here on nothing may stop the reboot into it.
            unlink(paths.incoming)
            record.state = .installed
            record.time = Int(time(nil))
            record.message = "installed; on trial until it comes up healthy"
            do { try record.store(at: paths.record) } catch {
                say("classbox update: warning: the update record could not be written (\(error)); the new slot is tried all the same")
            }
            say("classbox update: version \(info.version) is installed in slot \(target); rebooting into it. "
                + "It must come up healthy within \(trialSeconds) s, else the box goes back to \(running) in slot \(booted).")
            return true
        } catch {
            if case .refused = error { record.state = .refused } else { record.state = .failed }
            record.time = Int(time(nil))
            record.message = error.description
            try? record.store(at: paths.record)
            say("classbox update: \(error); the running system (\(running), slot \(booted)) is unchanged")
            return false
        }
    }

    /// Copies the stream into `paths.incoming`, telling the admin every 16 MiB.
    func receive(from input: Int32) throws(UpdateError) -> Int {
        let directory = String(paths.incoming[..<(paths.incoming.lastIndex(of: "/") ?? paths.incoming.startIndex)])
        mkdir(directory, 0o700)
        let fd = open(paths.incoming, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system("cannot store the bundle at \(paths.incoming)", errno: errno) }
        defer { close(fd) }
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        var nextReport = 16 << 20
        while true {
            // A forgotten `< bundle` or a dead connection must not hold the update service.
            var entry = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
            let ready = poll(&entry, 1, Int32(idleSeconds * 1000))
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else {
                throw ready == 0 ? .failed("no data for \(idleSeconds) s after \(Self.mebibytes(total)); the transfer stalled")
                                 : .system("waiting for the bundle", errno: errno)
            }
            let count = read(input, buffer, chunk)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw .system("reading the bundle", errno: errno) }
            if count == 0 { break }
            var offset = 0
            while offset < count {
                let written = write(fd, buffer + offset, count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else {
                    throw errno == ENOSPC ? .failed("the data partition is full after \(Self.mebibytes(total)); the bundle is too large")
                                          : .system("storing the bundle", errno: errno)
                }
                offset += written
            }
            total += count
            if total >= nextReport {
                say("classbox update: received \(Self.mebibytes(total))")
                nextReport += 16 << 20
            }
        }
        guard total > 0 else { throw .refused("no bundle arrived; send one on standard input: ssh update@<box> update < bundle.raucb") }
        guard fsync(fd) == 0 else { throw .system("storing the bundle", errno: errno) }
        return total
    }

    static func mebibytes(_ bytes: Int) -> String {
        let tenths = bytes * 10 / (1 << 20)
        return "\(tenths / 10).\(tenths % 10) MiB"
    }

    /// The version in the running root filesystem, or "unknown".
    public static func runningVersion(_ path: String) -> String {
        firstLine(of: path).map { String($0.filter { !$0.isWhitespace }) }?.nonEmpty ?? "unknown"
    }

    /// The first line of a small file without its line end; nil when it is missing or empty.
    public static func firstLine(of path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "\n").first.map(String.init)?.nonEmpty
    }
}
