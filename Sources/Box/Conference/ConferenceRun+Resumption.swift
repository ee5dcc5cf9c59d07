import Logging
import Runtime
import SecureSocket

/// A lost signalling connection under a call (XEP-0198 resumption, school-networks.md §3).
///
/// Why: a school's network drops a WebSocket now and then (a proxy's idle timer, a Wi-Fi
/// roam, a firewall's state table). The conference server keeps the box's session for a
/// while, so the box opens a new connection and resumes it: it stays in the room, the others
/// see nothing, and the media — which never went over this connection — goes on untouched.
/// Only when the server refuses the resumption, or it does not succeed within the server's
/// window, does the box join anew (``ConferenceClient``'s loop).
extension ConferenceRun {
    /// The socket closed or broke: resume when the session allows it, else the run ends.
    func lose(_ reason: String) {
        guard outcome == nil else { return }
        guard leavingSince == nil, session.canResume else { return finish(lost: reason) }
        apply(session.connectionLost(reason, now: Monotonic.nanoseconds()))
    }

    func interrupted(_ reason: String) {
        let now = Monotonic.nanoseconds()
        connection?.close()
        connection = nil
        if interruptedSince == nil {
            interruptedSince = now
            resumeAttempts = 0
            logger.warning("the signalling connection was lost (\(reason)); resuming the session, the call goes on", metadata: ["event": "signalling.interrupted"])
            client.status.update { $0.signallingInterrupted = true }
            nextResumeAttempt = now  // at once: the server may have closed only this connection
        } else {
            // A new connection broke before the resumption was through: pause as after a refused connect.
            resumeAttempts += 1
            let pause = resumePause
            nextResumeAttempt = now + pause
            logger.info("resuming: the new connection was lost too (\(reason)); again in \(pause / 1_000_000) ms", metadata: ["event": "signalling.resume_attempt"])
        }
    }

    /// 0.5 s, doubling up to 2 s, ±25 %: the window is the server's (a minute at most), and a
    /// district's boxes cut off together by a server restart are spread by the jitter.
    var resumePause: UInt64 {
        UInt64(Double(min(UInt64(2_000_000_000), 250_000_000 << UInt64(min(resumeAttempts, 3)))) * Double.random(in: 0.75...1.25))
    }

    func resumed() {
        let since = interruptedSince ?? Monotonic.nanoseconds()
        let milliseconds = (Monotonic.nanoseconds() - since) / 1_000_000
        logger.info("signalling resumed after \(milliseconds) ms (\(resumeAttempts + 1) connection\(resumeAttempts == 0 ? "" : "s")): still in the room",
                    metadata: ["event": "signalling.resumed", "ms": "\(milliseconds)"])
        interruptedSince = nil
        nextResumeAttempt = nil
        client.status.update {
            $0.signallingInterrupted = false
            $0.resumes += 1
        }
    }

    /// One try at a new connection; the next after 0.5 s, doubling up to 2 s, until the
    /// stream's window runs out (its tick then fails, and the box joins anew).
    func reconnect() {
        nextResumeAttempt = nil
        let config = client.config
        do {
            connection = try SignalingConnection(url: config.server.websocketURL, room: config.room.name, token: config.server.token?.reveal(), resumptionID: session.resumptionID,
                                                 caBundle: config.server.caBundle, timeout: 3_000_000_000)
            apply(session.resume(now: Monotonic.nanoseconds()))
        } catch {
            resumeAttempts += 1
            let pause = resumePause
            nextResumeAttempt = Monotonic.nanoseconds() + pause
            logger.info("resuming: cannot reach the conference server yet (\(error)); again in \(pause / 1_000_000) ms",
                        metadata: ["event": "signalling.resume_attempt"])
        }
    }
}
