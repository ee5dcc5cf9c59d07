#if canImport(Glibc)
import Glibc
#endif
import Logging
import Media
import Runtime
import SCTP
import Session
import Signaling
import StatusScreen
import Synchronization
import Transport
import XML

/// One connection's life: the conference session driven by the socket and the clock, and
/// the call media it asks for. Runs on the conference thread.
final class ConferenceRun {
    unowned let client: ConferenceClient
    /// nil while the connection is lost and the session waits to be resumed.
    var connection: SignalingConnection?
    var session: ConferenceSession
    var media: CallMedia?
    var joined = false
    var signedIn = false
    var outcome: ConferenceClient.Outcome?
    /// When we asked Jicofo for a new session after ICE failed; no new call in time means rejoin.
    var restartRequestedAt: UInt64?
    var leavingSince: UInt64?
    var lastStatsUpdate: UInt64 = 0
    var sourceOwners = RemoteSourceOwners()
    /// What the box asks the bridge to forward; lives across calls, each call's channel attached.
    lazy var videoStage = RemoteVideoStage(maxParticipants: client.config.display.maxParticipants, board: client.screenPlan)
    var lastReceiveLog: UInt64 = 0
    /// Resuming a lost connection (``ConferenceRun+Resumption``): since when, the next try, how many so far.
    var interruptedSince: UInt64?
    var nextResumeAttempt: UInt64?
    var resumeAttempts = 0

    init(client: ConferenceClient, connection: SignalingConnection, session: ConferenceSession) {
        self.client = client
        self.connection = connection
        self.session = session
    }

    var logger: Logger { client.logger }

    func loop() -> ConferenceClient.Outcome {
        let wake = client.wake
        _ = session.setMuted(audio: client.privacy.isMicMuted, video: !client.privacy.isCameraLive)
        apply(session.start(now: Monotonic.nanoseconds()))
        while outcome == nil {
            let now = Monotonic.nanoseconds()
            let deadline = [session.nextDeadline, nextResumeAttempt, now + 1_000_000_000].compactMap { $0 }.min()!
            if connection?.hasBufferedInput != true {
                var entries = [pollfd(fd: wake.descriptor, events: Int16(POLLIN), revents: 0), pollfd(fd: connection?.fd ?? -1, events: Int16(POLLIN), revents: 0)]
                _ = poll(&entries, 2, Int32(max(0, Int64(deadline) - Int64(now)) / 1_000_000 + 1))
                wake.drain()
            }
            for incoming in connection?.readAvailable() ?? [] {
                switch incoming {
                case .element(let element):
                    apply(session.receive(element, now: Monotonic.nanoseconds()))
                    if session.isSignedIn && !signedIn {
                        signedIn = true
                        client.status.update { $0.signedInOnce = true }
                    }
                case .closed(let reason): lose(reason)
                }
                if outcome != nil { break }
            }
            for command in client.takeCommands() where outcome == nil {
                handle(command)
            }
            guard outcome == nil else { break }
            let later = Monotonic.nanoseconds()
            apply(session.tick(now: later))
            if outcome == nil, connection == nil, let at = nextResumeAttempt, later >= at { reconnect() }
            if let asked = restartRequestedAt, later > asked + 15_000_000_000 {
                finish(lost: "no new session from the focus after ICE failed")
            }
            if let since = leavingSince, later > since + 4_000_000_000 { outcome = .stopped }
            if later > lastStatsUpdate + 1_000_000_000 {
                lastStatsUpdate = later
                updateMediaStatus()
                client.checkTokenExpiry()
            }
        }
        stopMedia()
        connection?.close()
        if interruptedSince != nil { client.status.update { $0.signallingInterrupted = false } }  // joining anew, not resuming
        return outcome!
    }

    func handle(_ command: ConferenceClient.Command) {
        let now = Monotonic.nanoseconds()
        switch command {
        case .stop(let endForAll):
            client.stopped.store(true, ordering: .relaxed)
            leavingSince = now
            client.status.update { $0.state = endForAll && client.config.room.organiser ? "ending the lesson" : "leaving" }
            apply(session.leave(endForAll: endForAll, now: now))
            // Without a connection the leave (and the organiser's end for all) is held for the
            // resumption: try it now, within the 4 s the stop allows, not after the pause.
            if connection == nil, interruptedSince != nil { nextResumeAttempt = now }
        case .privacyChanged:
            let (live, muted) = (client.privacy.isCameraLive, client.privacy.isMicMuted)
            media?.setCameraLive(live)
            media?.setMicMuted(muted)
            apply(session.setMuted(audio: muted, video: !live))
        case .networkChanged(let changes):
            logger.info("network changed: \(changes.map(\.description).joined(separator: ", "))", metadata: ["event": "network.change"])
            // The signalling socket's address is gone: it is dead, though TCP would take minutes
            // to say so. Resume over a new connection now (school-networks.md §4).
            if let fd = connection?.fd, let local = LocalAddresses.address(ofSocket: fd), LocalAddresses.isGone(local) {
                lose("the network changed: address \(local.host) is gone")
            }
            // The address under the media path is gone: the path is dead, whatever ICE consent
            // would say in up to 30 s. A new session gathers on the addresses there are now.
            guard let media, let base = media.transport.pathBaseAddress,
                  LocalAddresses.isGone(base) else { return }
            handle(.mediaFailed("the network changed: address \(base.host) is gone"))
        case .mediaFailed(let reason):
            guard media != nil, restartRequestedAt == nil else { return }
            logger.warning("media failed (\(reason)); asking the focus for a new session", metadata: ["event": "call.restart"])
            stopMedia()
            restartRequestedAt = now
            apply(session.requestRestart(now: now))
        }
    }

    func apply(_ outputs: [ConferenceSession.Output]) {
        for output in outputs {
            guard outcome == nil || leavingSince != nil else { return }
            switch output {
            case .send(let element):
                // Without a connection the stream holds its stanzas for the resumption.
                do { try connection?.send(element) } catch { lose(error.description) }
            case .status(let text):
                logger.info("\(text)", metadata: ["event": "conference"])
                if !joined { client.status.update { $0.state = text } }  // in the room, the room and call state say more
            case .joined:
                joined = true
                client.status.update {
                    $0.inRoom = true
                    $0.failed = false
                    $0.state = "in room \(client.config.room.name), waiting for the call"
                    $0.situation = .waiting(room: client.config.room.label)
                }
            case .participants(let others):
                client.status.update { $0.others = others.count }
                videoStage.participantsChanged(others)
                let gone = sourceOwners.occupantsChanged(others.map(\.endpoint))
                if !gone.isEmpty {
                    media?.remoteAudio.removeSources(gone)
                    media?.remoteVideo.removeSources(gone)
                    videoStage.remove(gone)
                    logger.debug("a participant left: \(gone.count) source(s) no longer played or asked for")
                }
            case .offer(let offer):
                startMedia(for: offer)
            case .sessionEnded(let reason):
                if media != nil { logger.info("call ended: \(reason)", metadata: ["event": "call.end"]) }
                stopMedia()
                if joined && leavingSince == nil {
                    client.status.update {
                        $0.state = "in room \(client.config.room.name), waiting for the call"
                        $0.situation = .waiting(room: client.config.room.label)
                    }
                }
            case .sourcesAdded(let updates):
                let audio = updates.filter { $0.kind == .audio }.flatMap(\.sources)
                sourceOwners.add(updates.flatMap(\.sources))
                media?.remoteAudio.addSources(audio.map(\.ssrc))
                let video = updates.filter { $0.kind == .video }
                media?.remoteVideo.addSources(video.flatMap(\.sources), groups: video.flatMap(\.groups).map { ($0.semantics, $0.ssrcs) })
                videoStage.add(video.flatMap(\.sources))
                logger.debug("remote sources added: \(updates.reduce(0) { $0 + $1.sources.count })")
            case .sourcesRemoved(let updates):
                let audio = updates.filter { $0.kind == .audio }.flatMap(\.sources).map(\.ssrc)
                sourceOwners.remove(updates.flatMap(\.sources).map(\.ssrc))
                media?.remoteAudio.removeSources(audio)
                let video = updates.filter { $0.kind == .video }.flatMap(\.sources).map(\.ssrc)
                media?.remoteVideo.removeSources(video)
                videoStage.remove(video)
                logger.debug("remote sources removed: \(updates.reduce(0) { $0 + $1.sources.count })")
            case .transportUpdate:
                break  // Jicofo's in-place ICE restart is not advertised, so not expected
            case .muteRequested(let video):
                logger.notice("a moderator muted the box's \(video ? "camera" : "microphone")", metadata: ["event": "conference.mute"])
                if video { client.privacy.moderatorMutedCamera() } else { client.privacy.setMicMuted(true) }
            case .failed(var failure):
                if failure.kind == .loginRefused, let note = client.tokenValidity() { failure.description += "; \(note)" }
                logger.warning("\(failure.description)", metadata: ["event": "conference.failed", "kind": "\(failure.kind.rawValue)"])
                client.status.update {
                    $0.state = failure.description
                    $0.failed = true
                    // A connection lost in the lesson is not a problem for IT: the reconnect
                    // loop shows "reconnecting" (a problem screen would stay until the next join).
                    if let problem = Self.problem(failure, room: client.config.room.label, joined: joined) { $0.situation = .problem(problem) }
                }
                if leavingSince != nil { outcome = .stopped } else { outcome = joined && failure.kind == .streamFailed ? .joinedThenLost(failure.description) : .failed(failure) }
            case .left:
                outcome = .stopped
            case .connectionInterrupted(let reason): interrupted(reason)
            case .connectionResumed: resumed()
            }
        }
    }

    /// A join failure as the classroom screen explains it.
    /// nil: nothing for the screen to explain — the stream broke after joining, or the
    /// meeting was ended (the box joins again and waits in the room).
    static func problem(_ failure: JoinFailure, room: String, joined: Bool) -> ScreenProblem? {
        switch failure.kind {
        case .wrongPassword: .wrongPassword(room: room)
        case .lobby: .lobby(room: room)
        case .membersOnly, .notAllowed: .notAllowed(room: room)
        case .roomFull: .roomFull(room: room)
        case .focusUnavailable: .conferenceServiceUnavailable
        case .kicked: .removed(room: room)
        case .roomDestroyed: nil
        case .streamFailed: joined ? nil : .other(detail: failure.description)
        case .loginRefused: .other(detail: failure.description)
        case .other: .other(detail: failure.description)
        }
    }

    func finish(lost reason: String) {
        guard outcome == nil else { return }
        if leavingSince != nil {
            outcome = .stopped
            return
        }
        logger.warning("lost the conference: \(reason)", metadata: ["event": "signalling.lost"])
        outcome = joined ? .joinedThenLost(reason) : .lost(reason)
    }

    // MARK: Media

    func startMedia(for offer: JingleOffer) {
        stopMedia()
        restartRequestedAt = nil
        let now = Monotonic.nanoseconds()
        var offer = offer
        let (allowed, refused) = MediaDestinations(config: client.config).filter(offer.session.candidates)
        if !refused.isEmpty {
            logger.warning("refused \(refused.count) bridge candidate(s) outside the district's networks: \(refused.map(\.address.host).joined(separator: ", "))",
                           metadata: ["event": "privacy.destination"])
        }
        offer.session.candidates = allowed
        do {
            let transport = try MediaSetup.makeTransport(client.config, externalServices: session.externalServices, logger: logger)
            var (local, plan) = Negotiation.answer(to: offer.session, transport: transport, jitsiEndpoint: session.endpoint)
            // Jicofo offers the data content to clients that advertise dtls-sctp; the box
            // always takes it: without the bridge channel a real bridge forwards no video.
            plan.bridgeChannel = offer.dataContent != nil
            // The answer repeats the offer's port (JingleWriter), and the association uses it.
            plan.sctpPort = offer.dataContent?.sctpPort.flatMap { $0 > 0 ? UInt16(exactly: $0) : nil } ?? SCTPAssociation.defaultPort
            plan.videoSourceName = session.endpoint.map { "\($0)-v0" }
            let media = CallMedia(transport: transport, plan: plan, sources: MediaSetup.sources(client.config), logger: logger,
                                  cameraLive: client.privacy.isCameraLive, micMuted: client.privacy.isMicMuted, permits: client.privacy)
            media.onStateChange = { [weak client] state in
                switch state {
                case .failed(let reason): client?.command(.mediaFailed(reason))
                case .connected:
                    guard let client else { break }
                    client.status.update { $0.mediaConnected = true; $0.state = "in call"; $0.situation = .inLesson(room: client.config.room.label, others: $0.others) }
                default: break
                }
            }
            let stage = videoStage
            media.onBridgeMessage = { message in
                if case .dominantSpeakerChange(let change) = message { stage.dominantSpeakerChanged(change) }
            }
            sourceOwners.reset((offer.session.media(.audio)?.sources ?? []) + (offer.session.media(.video)?.sources ?? []))
            videoStage.setOwnEndpoint(session.endpoint)
            videoStage.reset(offer.session.media(.video)?.sources ?? [])
            videoStage.attach(media.bridgeChannel)
            if let sink = client.videoSink {
                media.videoSink = sink
                media.selfView = sink as? any SelfViewSink
            }
            try media.start(remote: offer.session)
            self.media = media
            apply(session.accept(offer: offer, local: local, now: now))
            let channel = plan.bridgeChannel ? "with the bridge channel" : "without a bridge channel"
            logger.info("call started: answering with \(plan.audio != nil ? "Opus" : "no audio") and \(plan.video != nil ? "VP8" : "no video"), \(channel)",
                        metadata: ["event": "call.start"])
        } catch {
            videoStage.attach(nil)
            logger.error("cannot start the call: \(error)", metadata: ["event": "call.start"])
            apply(session.requestRestart(now: now))
        }
    }

    func stopMedia() {
        guard let media else { return }
        videoStage.attach(nil)
        // No call, no videos: the screen shows the room again until the next call (or the
        // restart) connects; the reconnect loop says more if the connection is gone too.
        client.status.update { if case .inLesson(let room, _) = $0.situation { $0.situation = .waiting(room: room) } }
        media.stop()
        if let link = media.bridgeChannel {
            logger.info("bridge channel: \(link.summary) (call ended)", metadata: ["event": "bridge_channel.summary"])
        }
        if media.plan.receivedAudio != nil {
            logger.info("received audio: \(media.playback.summary) (call ended)", metadata: ["event": "audio.receive"])
        }
        self.media = nil
        client.status.update {
            $0.mediaConnected = false
            $0.bridgeChannelOpen = nil
            $0.seenSources = 0
            $0.watchedLines = -1
            $0.roundTripMs = nil
            $0.reportedLossPercent = nil
        }
    }

    func updateMediaStatus() {
        guard let media else { return }
        let now = Monotonic.nanoseconds()
        if media.plan.receivedAudio != nil && now >= lastReceiveLog + 5_000_000_000 {
            lastReceiveLog = now
            logger.info("received audio: \(media.playback.summary)", metadata: ["event": "audio.receive"])
        }
        let control = media.control
        client.status.update {
            $0.videoPackets = control.videoPackets.load(ordering: .relaxed)
            $0.videoBytes = control.videoBytes.load(ordering: .relaxed)
            $0.audioPackets = control.audioPackets.load(ordering: .relaxed)
            $0.audioBytes = control.audioBytes.load(ordering: .relaxed)
            $0.retransmissions = control.retransmissions.load(ordering: .relaxed)
            $0.receivedPackets = media.receivedPackets.load(ordering: .relaxed)
            $0.heardSources = media.playback.heardSources.load(ordering: .relaxed)
            let level = media.playback.levelDeciBel.load(ordering: .relaxed)
            $0.playbackLevel = level <= -900 ? nil : Int((Double(level) / 10).rounded())
            $0.seenSources = media.videoReceived.seenSources.load(ordering: .relaxed)
            $0.decodedFrames = media.videoReceived.decodedFrames.load(ordering: .relaxed)
            $0.bridgeChannelOpen = media.bridgeChannel?.isOpen
            $0.watchedLines = control.bridgeMaxHeight.load(ordering: .relaxed)
            $0.videoTargetKbps = media.plan.video != nil ? control.videoBitrateKbps.load(ordering: .relaxed) : 0
            $0.pathEstimateKbps = media.delayBasedKbps.load(ordering: .relaxed)
            $0.pathOverused = media.delayUsage.load(ordering: .relaxed) > 0
            $0.mediaPath = media.transport.mediaPath
            let roundTrip = control.roundTripNanoseconds.load(ordering: .relaxed), lost = control.reportedFractionLost.load(ordering: .relaxed)
            $0.roundTripMs = roundTrip > 0 ? roundTrip / 1_000_000 : nil
            $0.reportedLossPercent = lost >= 0 ? (lost * 100 + 128) / 256 : nil
        }
    }
}
