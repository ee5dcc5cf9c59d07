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

    public init() {}

    /// Returns what it did, one line per step.
    public func run(config: ProvisioningConfig) throws(UpdateError) -> [String] {
        var done: [String] = []
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
            guard rename(temporary + ".pub", hostKey + ".pub") == 0, rename(temporary, hostKey) == 0 else {
                throw .system("cannot store the host key", errno: errno)
            }
            sync()
            done.append("made the SSH host key \(hostKey)")
        }
        mkdir(keysDirectory, 0o755)
        let path = "\(keysDirectory)/\(user).keys"
        let text = AuthorizedKeys.render(config.update)
        let fd = open(path + ".new", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system("cannot write \(path)", errno: errno) }
        let bytes = Array(text.utf8)
        let written = write(fd, bytes, bytes.count)
        close(fd)
        guard written == bytes.count, rename(path + ".new", path) == 0 else {
            throw .system("cannot write \(path)", errno: errno)
        }
        done.append("\(config.update.authorizedKeys.count) update key\(config.update.authorizedKeys.count == 1 ? "" : "s") for the user \(user)"
                    + (config.update.allowFrom.isEmpty ? "" : " from \(config.update.allowFrom.map(\.description).joined(separator: ", "))"))
        return done
    }
}
