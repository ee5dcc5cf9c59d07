#if canImport(Glibc)
import Glibc
#endif

/// The few file operations configuration checks need, on plain POSIX calls.
enum FileAccess {
    struct Failure: Error, Equatable {
        var errno: Int32
        var reason: String { String(cString: strerror(errno)) }
    }

    /// Reads a whole file of at most `limit` bytes.
    static func read(_ path: String, limit: Int = 1 << 20) -> Result<[UInt8], Failure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Failure(errno: errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(Failure(errno: errno)) }
        if info.st_mode & S_IFMT == S_IFDIR { return .failure(Failure(errno: EISDIR)) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count <= limit {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(Failure(errno: errno))
            }
            if count == 0 { return .success(bytes) }
            bytes += chunk[0..<count]
        }
        return .failure(Failure(errno: EFBIG))
    }

    static func status(_ path: String) -> stat? {
        var info = stat()
        return stat(path, &info) == 0 ? info : nil
    }

    static func exists(_ path: String) -> Bool { status(path) != nil }

    /// `path` itself when absolute, else joined to `directory` (where the config file is).
    static func resolve(_ path: String, relativeTo directory: String) -> String {
        if path.hasPrefix("/") || directory.isEmpty { return path }
        return directory.hasSuffix("/") ? directory + path : "\(directory)/\(path)"
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// Reads secrets (passwords) from files of their own, so that the provisioning file can
/// be shown and copied around without them, and checks the file is private.
enum SecretFile {
    static let maximumSize = 1024

    /// The secret, or a sentence saying what is wrong with the file.
    static func load(_ path: String) -> Result<Secret, SecretProblem> {
        guard let info = FileAccess.status(path) else {
            return .failure(.init(message: "secret file \(path) \(errno == ENOENT ? "does not exist" : "cannot be read: \(String(cString: strerror(errno)))")",
                                  expected: "a file holding only the secret, mode 0600"))
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            return .failure(.init(message: "secret file \(path) is not a regular file", expected: "a file holding only the secret, mode 0600"))
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            return .failure(.init(message: "secret file \(path) is accessible by group or others (mode \(octal(mode)))",
                                  expected: "mode 0600 or 0400: chmod 600 \(path)"))
        }
        let bytes: [UInt8]
        switch FileAccess.read(path, limit: maximumSize) {
        case .success(let read): bytes = read
        case .failure(let failure):
            return .failure(.init(message: "secret file \(path) cannot be read: \(failure.reason)",
                                  expected: "a readable file of at most \(maximumSize) bytes"))
        }
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\r\n") { text.removeLast() } else if text.hasSuffix("\n") { text.removeLast() }
        guard !text.isEmpty else {
            return .failure(.init(message: "secret file \(path) is empty", expected: "the secret on one line"))
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            return .failure(.init(message: "secret file \(path) has more than one line or control characters",
                                  expected: "the secret on one line"))
        }
        return .success(Secret(path: path, value: text))
    }

    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

struct SecretProblem: Error {
    var message: String
    var expected: String
}
