import JSON
import Wire

/// What the box reads of a Jitsi token (a JWT, RFC 7519) without checking it.
///
/// Why: the conference server checks the token's signature and claims, and only when the box
/// logs in (at each reconnect and resume too, school-networks.md §6.2), so a token that runs
/// out makes a box fall out of its lessons at its next reconnect, perhaps weeks after IT put it
/// there. The box reads the times to warn IT in advance and to say why a login was refused;
/// the signature is the server's business (the box has no key to check it with).
public struct JitsiToken: Sendable, Equatable {
    /// `exp` and `nbf`, seconds since 1970 (RFC 7519 §4.1.4, §4.1.5).
    public var expiresAt: Int?
    public var notBefore: Int?
    /// Jitsi's `room` claim: the room the token opens, `*` for any.
    public var room: String?

    public init(expiresAt: Int?, notBefore: Int?, room: String?) {
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.room = room
    }

    /// Reads `header.payload.signature` (base64url without padding); nil when the text is not
    /// shaped like a JWT or its header or payload is not a JSON object.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }),
              let header = Self.json(parts[0]), header.members != nil, header["alg"]?.stringValue != nil,
              let payload = Self.json(parts[1]), payload.members != nil,
              Self.base64url(parts[2]) != nil else { return nil }
        expiresAt = payload["exp"]?.doubleValue.flatMap(Self.seconds)
        notBefore = payload["nbf"]?.doubleValue.flatMap(Self.seconds)
        room = payload["room"]?.stringValue
    }

    static func seconds(_ value: Double) -> Int? {
        value.isFinite && value >= 0 && value < 1e12 ? Int(value) : nil
    }

    static func json(_ part: Substring) -> JSONValue? {
        base64url(part).flatMap { JSONValue(parsing: String(decoding: $0, as: UTF8.self), maximumDepth: 8) }
    }

    /// RFC 4648 §5, padding optional.
    static func base64url(_ part: Substring) -> [UInt8]? {
        guard part.utf8.allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "=") }) else { return nil }
        var bytes = part.utf8.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "+") : $0 == UInt8(ascii: "_") ? UInt8(ascii: "/") : $0 }
        guard bytes.count % 4 != 1 else { return nil }
        bytes += [UInt8](repeating: UInt8(ascii: "="), count: (4 - bytes.count % 4) % 4)
        return Base64.decode(String(decoding: bytes, as: UTF8.self))
    }
}
