#if canImport(Glibc)
import Glibc
#endif
import Provisioning
import Runtime

/// Prepares sshd at boot (`classbox ssh-setup`, before `ssh.service`): the box's own host
/// key, made once on the data partition so it survives updates and no two boxes share one,
/// and the update user's keys from the provisioning file, in RAM.
public struct SSHSetup {
    public var hostKey = "/data/ssh/ssh_host_ed25519_key"
    public var keysDirectory = "/run/classbox-ssh"
    public var user = "update"
    public var configUser = "config"
    public var statusUser = "status"

    public init() {}

    static func fsyncFile(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Returns what it did, one line per step. Without a valid provisioning file (`config`
    /// nil) the host key is still made, and no update key is let in.
    public func run(config: ProvisioningConfig?) throws(UpdateError) -> [String] {
        var done: [String] = []
        // A key cut short by a power cut would keep sshd down for good: check it, make it anew.
        if access(hostKey, F_OK) == 0, (try? ChildProcess.output("/usr/bin/ssh-keygen", ["-y", "-f", hostKey])) == nil {
            unlink(hostKey)
            unlink(hostKey + ".pub")
            done.append("the SSH host key was damaged; making a new one")
        }
        if access(hostKey, F_OK) != 0 {
            let directory = String(hostKey[..<(hostKey.lastIndex(of: "/") ?? hostKey.endIndex)])
            mkdir(directory, 0o700)
            // Written under a temporary name first: a power cut leaves no half key behind.
            let temporary = hostKey + ".new"
            unlink(temporary)
            unlink(temporary + ".pub")
            do {
                _ = try ChildProcess.output("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "classbox", "-f", temporary])
            } catch {
                throw .failed(error.description)
            }
            Self.fsyncFile(temporary)
            Self.fsyncFile(temporary + ".pub")
            guard rename(temporary + ".pub", hostKey + ".pub") == 0, rename(temporary, hostKey) == 0 else {
                throw .system("cannot store the host key", errno: errno)
            }
            sync()
            done.append("made the SSH host key \(hostKey)")
        }
        mkdir(keysDirectory, 0o755)
        let update = config?.update ?? .init(authorizedKeys: [], allowFrom: [])
        // The same keys three times: as `update` (bundles, status), as `config` (the provisioning
        // file) and as `status` (only the status).
        for (user, command) in [(user, AuthorizedKeys.command), (configUser, AuthorizedKeys.configCommand),
                                (statusUser, AuthorizedKeys.statusCommand)] {
            let path = "\(keysDirectory)/\(user).keys"
            let bytes = Array(AuthorizedKeys.render(update, command: command).utf8)
            let fd = open(path + ".new", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .system("cannot write \(path)", errno: errno) }
            let written = write(fd, bytes, bytes.count)
            close(fd)
            guard written == bytes.count, rename(path + ".new", path) == 0 else {
                throw .system("cannot write \(path)", errno: errno)
            }
            done.append("\(update.authorizedKeys.count) key\(update.authorizedKeys.count == 1 ? "" : "s") for the user \(user)"
                        + (update.allowFrom.isEmpty ? "" : " from \(update.allowFrom.map(\.description).joined(separator: ", "))"))
        }
        return done
    }
}
