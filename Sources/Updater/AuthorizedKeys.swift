import Provisioning

/// The `authorized_keys` file of the box's `update` user, made from the provisioning file's
/// `[update]` section: every key may do one thing only, run the update command, and nothing
/// else an SSH login could offer (`restrict`: no shell, no forwarding, no pty).
public enum AuthorizedKeys {
    /// The forced command; sshd puts what the admin typed after the host into
    /// `SSH_ORIGINAL_COMMAND`, which `classbox update` reads as its sub-command.
    public static let command = "/usr/bin/classbox update"
    /// The `config` user's: a new provisioning file, or the last good one back.
    public static let configCommand = "/usr/bin/classbox config"
    /// The `status` user's: IT's one look at the box (`ssh status@box [json]`), nothing else.
    public static let statusCommand = "/usr/bin/classbox ssh-status"

    public static func render(_ update: ProvisioningConfig.Update, command: String = command) -> String {
        var options = "restrict,command=\"\(command)\""
        if !update.allowFrom.isEmpty {
            options += ",from=\"\(update.allowFrom.map(\.description).joined(separator: ","))\""
        }
        // Rendered from the parsed key, so nothing but type, key and comment reaches the line.
        return update.authorizedKeys.compactMap { line -> String? in
            guard case .success(let key) = SSHPublicKey.parse(line) else { return nil }
            return "\(options) \(key.type) \(key.base64)\(key.comment.isEmpty ? "" : " " + key.comment)\n"
        }.joined()
    }
}
