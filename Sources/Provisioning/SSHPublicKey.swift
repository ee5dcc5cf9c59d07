import Wire

/// An OpenSSH public key line (`ssh-ed25519 AAAAC3... it@district`), as it goes into
/// `authorized_keys`. Options such as `from=` or `command=` are not accepted here:
/// classbox writes its own (`restrict`, the forced update command, `update.allow_from`).
public struct SSHPublicKey: Sendable, Equatable {
    public static let acceptedTypes = [
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-rsa",
    ]

    public var type: String
    public var base64: String
    public var comment: String

    /// Parses the line, or says what is wrong with it.
    public static func parse(_ line: String) -> Result<SSHPublicKey, SSHKeyProblem> {
        // A line break in a key would start a second authorized_keys line without 'restrict'.
        guard !line.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) else {
            return .failure(.init("the key contains a line break or another control character"))
        }
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let type = fields.first.map(String.init) else { return .failure(.init("the key is empty")) }
        guard acceptedTypes.contains(type) else {
            if type.contains("=") || type == "restrict" || type.hasPrefix("no-") {
                return .failure(.init("authorized_keys options are not allowed here; classbox adds 'restrict' and the update command itself"))
            }
            return .failure(.init("'\(type.prefix(32))' is not an SSH public key type"))
        }
        guard fields.count >= 2, fields[1] != "=", let blob = Base64.decode(String(fields[1])), !blob.isEmpty else {
            return .failure(.init("the key data after '\(type)' is missing or not base64"))
        }
        // RFC 4253 §6.6: the blob starts with the key type as a length-prefixed string.
        guard blob.count > 4 else { return .failure(.init("the key data is too short")) }
        let length = blob[0..<4].reduce(0) { $0 << 8 | Int($1) }
        guard length <= blob.count - 4, String(decoding: blob[4..<(4 + length)], as: UTF8.self) == type else {
            return .failure(.init("the key data does not hold a \(type) key"))
        }
        if type == "ssh-rsa" && blob.count < 256 {
            return .failure(.init("the RSA key is shorter than 2048 bits"))
        }
        return .success(SSHPublicKey(type: type, base64: String(fields[1]), comment: fields.dropFirst(2).joined(separator: " ")))
    }
}

public struct SSHKeyProblem: Error, Equatable {
    public var message: String
    init(_ message: String) { self.message = message }
}
