import StatusScreen
import Synchronization

/// What the box is doing, for the live status line and systemd's STATUS=: no names, JIDs
/// or addresses of anyone else, only counts.
struct ConferenceSnapshot: Sendable, Equatable {
    var state = "starting"
    /// The same for the classroom screen, in a form it can say in German or English.
    var situation = ScreenSituation.starting
    var inRoom = false
    var others = 0
    var cameraLive = false
    var micMuted = false
    var mediaConnected = false
    var videoPackets = 0
    var videoBytes = 0
    var audioPackets = 0
    var audioBytes = 0
    var receivedPackets = 0
    var retransmissions = 0
    /// Remote sources whose sound the box played in the last second, and the level it
    /// played at (dBFS, nil: silence): how a teacher's "can you hear them?" is answered
    /// over SSH, without saying who.
    var heardSources = 0
    var playbackLevel: Int?
    /// Remote videos decoded in the last second, and all pictures decoded so far (the
    /// status line's frame rate): "can the class see them?" — counts, no names.
    var seenSources = 0
    var decodedFrames = 0
    /// The bridge channel of this call: nil without one, else whether it is open.
    var bridgeChannelOpen: Bool?
    /// The most lines anybody watches the camera at (SenderSourceConstraints; −1: not said,
    /// 0: nobody — the camera is live but nothing is sent): why a live camera sends nothing.
    var watchedLines = -1
    /// The video's target rate, what the delay-based estimate says the path carries (0: no
    /// transport-cc feedback) and whether it sees the queue grow: why the video is sent at
    /// the rate it is (kbit/s).
    var videoTargetKbps = 0
    var pathEstimateKbps = 0
    var pathOverused = false
    /// "direct" or "TURN relay (udp) via SERVER": whether the school's firewall sends the
    /// call through the district's TURN server (nil before ICE chose a pair).
    var mediaPath: String?
    /// From the far end's reports on our video: round trip (ms) and the share lost (%); nil before one came.
    var roundTripMs: Int?
    var reportedLossPercent: Int?
    /// How often the box had to join again (connection lost, server restarted).
    var rejoins = 0
    /// "token runs out in 3 days" / "token expired": a week ahead (``ConferenceClient/checkTokenExpiry(now:)``).
    var tokenNote: String?
    /// How often a lost signalling connection was resumed (XEP-0198) without leaving the room.
    var resumes = 0
    /// The signalling connection is gone and the box is resuming it (the call goes on).
    var signallingInterrupted = false
    /// The last attempt failed in a way that needs a person (password, TLS, server gone).
    var failed = false
    /// The box has signed in to the conference server at least once since it started: the
    /// health check of a freshly installed system asks for this.
    var signedInOnce = false
}

/// The snapshot shared between the conference thread and whoever prints it.
final class ConferenceStatus: Sendable {
    private let snapshot = Mutex(ConferenceSnapshot())

    var current: ConferenceSnapshot { snapshot.withLock { $0 } }

    func update(_ body: (inout ConferenceSnapshot) -> Void) {
        snapshot.withLock { body(&$0) }
    }

    /// A status that stays in the lesson with `others` others, the camera live (a screen
    /// without a conference behind it: the call bench's, the screen's tests).
    static func inLesson(room: String, others: Int) -> ConferenceStatus {
        let status = ConferenceStatus()
        status.update {
            $0.situation = .inLesson(room: room, others: others)
            $0.inRoom = true
            $0.others = others
            $0.cameraLive = true
        }
        return status
    }

    /// One status line; bitrates from the byte counters since `previous`.
    static func line(_ now: ConferenceSnapshot, since previous: ConferenceSnapshot?, seconds: Double) -> String {
        var parts = [now.state == "in call" ? "in call in the room" : now.state]
        if now.inRoom { parts.append(now.others == 1 ? "1 other participant" : "\(now.others) other participants") }
        parts.append(now.cameraLive ? "camera LIVE" : "camera private")
        if now.micMuted { parts.append("microphone muted") }
        if now.mediaConnected {
            let kbps = { (bytes: Int, before: Int?) -> Int in
                guard let before, seconds > 0 else { return 0 }
                return max(0, Int(Double(bytes - before) * 8 / 1000 / seconds))
            }
            parts.append("video \(kbps(now.videoBytes, previous?.videoBytes)) kbit/s, audio \(kbps(now.audioBytes, previous?.audioBytes)) kbit/s")
            if now.videoTargetKbps > 0 {
                parts.append("video target \(now.videoTargetKbps) kbit/s" + (now.pathEstimateKbps > 0
                    ? " (the path carries ~\(now.pathEstimateKbps) kbit/s\(now.pathOverused ? ", its queue growing" : ""))" : ""))
            }
            if let path = now.mediaPath { parts.append("media \(path)") }
            parts.append("sent \(now.videoPackets + now.audioPackets) packets, received \(now.receivedPackets)")
            parts.append(now.heardSources == 0 ? "hearing nobody"
                         : "hearing \(now.heardSources) at \(now.playbackLevel.map { "\($0) dBFS" } ?? "silence")")
            let fps = previous.map { seconds > 0 ? Int((Double(now.decodedFrames - $0.decodedFrames) / seconds).rounded()) : 0 } ?? 0
            parts.append(now.seenSources == 0 ? "seeing no video" : "seeing \(now.seenSources) video\(now.seenSources == 1 ? "" : "s") at \(max(0, fps)) frames/s")
            if let open = now.bridgeChannelOpen { parts.append(open ? "bridge channel open" : "bridge channel not open") }
            if now.cameraLive && now.watchedLines == 0 { parts.append("nobody watches the camera, so it sends nothing") }
            if now.cameraLive && now.watchedLines > 0 { parts.append("watched at up to \(now.watchedLines) lines") }
        }
        if let note = now.tokenNote { parts.append(note) }
        if now.signallingInterrupted { parts.append("signalling connection lost, resuming") }
        if now.resumes > 0 { parts.append("signalling resumed \(now.resumes)×") }
        if now.rejoins > 0 { parts.append("rejoined \(now.rejoins)×") }
        return parts.joined(separator: " · ")
    }
}
