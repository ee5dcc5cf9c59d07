#if canImport(Glibc)
import Glibc
#endif

/// Small files read whole, and replaced so that a power cut leaves the old or the new
/// contents under the name, never half (a new file beside it, fsync, rename, fsync of the
/// directory): the update record and a boot-state copy that cannot be written in place.
public enum DurableFile {
    /// The whole file, or nil when it cannot be read.
    public static func contents(of path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return bytes }
            bytes += buffer[..<count]
        }
    }

    public static func replace(_ path: String, with bytes: [UInt8], mode: mode_t) throws(UpdateError) {
        let temporary = path + ".new"
        let fresh = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fresh >= 0 else { throw .system("creating \(temporary)", errno: errno) }
        let written = writeAll(fresh, bytes, at: 0) && fsync(fresh) == 0
        let failure = errno
        close(fresh)
        guard written else { unlink(temporary); throw .system("writing \(temporary)", errno: failure) }
        guard rename(temporary, path) == 0 else {
            let failure = errno
            unlink(temporary)
            throw .system("renaming \(temporary) to \(path)", errno: failure)
        }
        // On FAT the file's directory entry is part of the file, not of the directory: write it
        // too, before anything else (the old contents' clusters being freed) can reach the disk.
        let renamed = open(path, O_RDONLY | O_CLOEXEC)
        if renamed >= 0 { fsync(renamed); close(renamed) }
        let slash = path.lastIndex(of: "/")
        let directory = open(slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 { fsync(directory); close(directory) }
    }

    /// All of `bytes` at `offset`, across short writes and interruptions.
    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], at offset: Int) -> Bool {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress! + done, bytes.count - done, off_t(offset + done)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            done += count
        }
        return true
    }
}
