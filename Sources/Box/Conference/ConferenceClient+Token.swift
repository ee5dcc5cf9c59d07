#if canImport(Glibc)
import Glibc
#endif
import Logging
import Provisioning
import Runtime
import Updater

/// Jitsi's token authentication, as far as the box can see it (``JitsiToken``).
///
/// Why: the server checks the token only when the box logs in — at power-on, and at every
/// reconnect and resume — so an expired token goes unnoticed until the box falls out of a
/// lesson. The box warns IT a week ahead, once a day, in its log and status line, and a
/// refused login names the token's times (never its content).
extension ConferenceClient {
    /// How long before the expiry the warnings start.
    static let tokenWarningAhead = 7 * 86_400

    /// The token's validity as IT reads it; nil without a token login.
    func tokenValidity(now: Int = Int(time(nil))) -> String? {
        guard config.server.login == .token, let claims = config.server.tokenClaims, let file = config.server.token?.path else { return nil }
        if let start = claims.notBefore, now < start { return "the token in \(file) is valid only from \(UpdateStatusReport.utc(start)) (is the box's clock right?)" }
        guard let end = claims.expiresAt else { return "the token in \(file) has no expiry; the server refused it" }
        return now >= end ? "the token in \(file) expired at \(UpdateStatusReport.utc(end))" : "the token in \(file) is valid until \(UpdateStatusReport.utc(end))"
    }

    /// From a week before the expiry on: a warning once a day and a word in the status line.
    func checkTokenExpiry(now: Int = Int(time(nil))) {
        guard config.server.login == .token, let end = config.server.tokenClaims?.expiresAt, let file = config.server.token?.path else { return }
        let left = end - now
        let note: String? = left <= 0 ? "token expired" : left < Self.tokenWarningAhead ? "token runs out in \(Self.roughly(left))" : nil
        status.update { $0.tokenNote = note }
        guard note != nil else { return }
        let clock = Monotonic.nanoseconds()
        if let last = lastTokenWarning, clock < last + 86_400_000_000_000 { return }
        lastTokenWarning = clock
        let when = UpdateStatusReport.utc(end)
        logger.warning(left <= 0 ? "the box's token expired at \(when): the server will refuse its next login (a reconnect, a restart) until IT puts a new token in \(file)"
                                 : "the box's token runs out at \(when), in \(Self.roughly(left)): IT must put a new token in \(file) before then",
                       metadata: ["event": "token.expiry"])
    }

    static func roughly(_ seconds: Int) -> String {
        seconds >= 2 * 86_400 ? "\(seconds / 86_400) days" : seconds >= 2 * 3600 ? "\(seconds / 3600) hours" : "\(max(1, seconds / 60)) minutes"
    }
}
