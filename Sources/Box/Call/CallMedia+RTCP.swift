#if canImport(Glibc)
import Glibc
#endif
import Congestion
import RTCP
import RTP
import Runtime
import Transport
import Wire

extension CallMedia {
    /// Feedback from the peer (network thread).
    func handle(_ packets: [RTCPPacket], now: UInt64) {
        let video = plan.video?.ssrc
        for packet in packets {
            switch packet {
            case .nack(let nack) where nack.media == video:
                nacksReceived.wrappingAdd(1, ordering: .relaxed)
                videoOutputForRetransmission?.retransmit(nack.lostSequenceNumbers, now: now)
            case .pictureLossIndication(_, let media) where media == video:
                requestKeyframe(now: now)
            case .fullIntraRequest(_, let entries) where entries.contains(where: { $0.ssrc == video }):
                requestKeyframe(now: now)
            case .receiverReport(let report):
                adapt(report.reports, now: now)
            case .senderReport(let report):
                adapt(report.reports, now: now)
                updateReceived(report.ssrc) { $0.senderReport(ntpTimestamp: report.ntpTimestamp, now: now) }
            case .remb(let remb):
                setREMB(Int(min(remb.bitrate / 1000, UInt64(Int.max))))
            case .transportCC(let feedback):
                joinTransportFeedback(feedback, now: now)
            default:
                break
            }
        }
    }

    /// The peer's transport-cc feedback on the box's packets, joined with what left, read by
    /// the delay-based estimator; the video follows its estimate at once.
    private func joinTransportFeedback(_ feedback: TransportCCFeedback, now: UInt64) {
        control.transportHistory.withLock { feedbackAdapter.process(feedback, history: &$0) }
        let before = delayBased.estimate
        let wasOverusing = before.usage == .overusing
        let estimate = delayBased.process(feedbackAdapter.results, at: Int64(now / 1000))
        if estimate.bps < before.bps * 9 / 10 {
            // Rare (an overuse, a path that got narrower): why the picture changes, for IT.
            logger.info("congestion: the path's queue grows; estimate \(before.bps / 1000) → \(estimate.bps / 1000) kbit/s, acknowledged \((estimate.acknowledgedBps ?? 0) / 1000) kbit/s",
                        metadata: ["event": "congestion.decrease"])
        }
        if let rate = estimate.acknowledgedBps { acknowledgedKbps.store(rate / 1000, ordering: .relaxed) }
        delayUsage.store(estimate.usage == .overusing ? 1 : estimate.usage == .underusing ? -1 : 0, ordering: .relaxed)
        if estimate.usage == .overusing && !wasOverusing { overuses.wrappingAdd(1, ordering: .relaxed) }
        delayBasedChanged(kbps: estimate.bps / 1000)
        let statistics = feedbackAdapter.statistics
        peerFeedback.withLock { $0 = statistics }
    }

    private func requestKeyframe(now: UInt64) {
        keyframeRequests.wrappingAdd(1, ordering: .relaxed)
        if allowKeyframe(now: now) { control.keyframeRequested.store(true, ordering: .relaxed) }
    }

    /// Loss in the peer's reports about our video steers its bitrate (REMB caps it).
    private func adapt(_ reports: [ReceptionReport], now: UInt64) {
        guard let video = plan.video?.ssrc, let report = reports.first(where: { $0.ssrc == video }) else { return }
        // The same clock as the NTP time of our sender reports, which the report echoes.
        var realtime = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        let arrival = MediaClock.ntp(unixNanoseconds: UInt64(realtime.tv_sec) * 1_000_000_000 + UInt64(realtime.tv_nsec))
        control.reportedFractionLost.store(Int(report.fractionLost), ordering: .relaxed)
        if let roundTrip = report.roundTrip(arrivalNTPMiddle: UInt32(truncatingIfNeeded: arrival >> 16)) {
            control.roundTripNanoseconds.store(Int(roundTrip), ordering: .relaxed)
            delayBased.setRoundTrip(microseconds: Int64(roundTrip / 1000))
        }
        updateBitrate(report: report, now: now)
    }

    /// A decrypted RTP packet from the peer (network thread): statistics and loss tracking.
    func handleRTP(_ packet: UnsafeMutableRawBufferPointer, now: UInt64) {
        guard let view = RTPPacketView(UnsafeRawBufferPointer(packet)) else { return }
        receivedPackets.wrappingAdd(1, ordering: .relaxed)
        let audioType = plan.receivedAudio?.payloadType ?? plan.audio?.payloadType
        let clockRate: UInt32 = view.header.payloadType == audioType ? 48000 : 90000
        updateReceived(view.header.ssrc, clockRate: clockRate) {
            $0.received(sequence: view.header.sequenceNumber, rtpTimestamp: view.header.timestamp, now: now)
        }
        if let id = plan.receivedTransportSequenceID, let field = view.oneByteExtension(id: id), field.count >= 2,
           transportFeedback.received(sequence: UInt16(field[0]) << 8 | UInt16(field[1]), mediaSSRC: view.header.ssrc,
                                      marker: view.header.marker, now: now) {
            sendTransportFeedback()
        }
        if let audio = plan.receivedAudio, view.header.payloadType == audio.payloadType {
            remoteAudio.accept(view, audioLevelID: audio.audioLevelID, now: now)
        } else if let video = plan.receivedVideo, view.header.payloadType == video.payloadType || view.header.payloadType == video.rtxPayloadType {
            receiveVideo(view, video, now: now)
        }
    }

    /// The others' video: RTX unwrapped, loss tracked on the source's own sequence numbers
    /// (NACK), then to the receive thread.
    private func receiveVideo(_ view: RTPPacketView, _ video: CallPlan.ReceivedVideo, now: UInt64) {
        guard let (ssrc, sequence, payload) = remoteVideo.unwrap(view, rtxPayloadType: video.rtxPayloadType) else { return }
        updateNACK(ssrc) { $0.received(sequence: sequence, now: now) }
        remoteVideo.accept(ssrc: ssrc, sequence: sequence, timestamp: view.header.timestamp, marker: view.header.marker, payload: payload,
                           retransmitted: ssrc != view.header.ssrc, now: now)
        requestRepairs(ssrc, now: now)
    }

    /// NACKs and key frame requests as soon as they are due, not at the next 100 ms tick.
    ///
    /// Why: the frame buffer gives a missing packet about 5 frames (~170 ms at 30 fps)
    /// before it breaks the chain and waits for a key frame. A NACK sent up to 100 ms late,
    /// and a retry 100 ms after that when the NACK or its RTX was lost (~10 % with 5 % loss
    /// each way), often missed that window: a freeze of ~9 frames each time. libwebrtc's
    /// NackRequester likewise asks at once and checks again every 20 ms.
    private func requestRepairs(_ ssrc: UInt32, now: UInt64) {
        let sender = rtcpSender
        let interval = nackRetryInterval
        var missing: [UInt16] = []
        updateNACK(ssrc) { if $0.missingCount > 0 { missing = $0.due(now: now, retryInterval: interval) } }
        if !missing.isEmpty {
            transport.sendRTCP { TransportLayerNACK(sender: sender, media: ssrc, lostSequenceNumbers: missing).write(into: &$0) }
        }
        sendKeyframeRequests(sender: sender)
    }

    /// The receive thread's key frame requests: at a source's start and after loss beyond repair.
    private func sendKeyframeRequests(sender: UInt32) {
        for ssrc in remoteVideo.takeKeyframeRequests() {
            keyframeRequestsSent.wrappingAdd(1, ordering: .relaxed)
            transport.sendRTCP { PayloadFeedback.writePictureLossIndication(sender: sender, media: ssrc, into: &$0) }
        }
    }

    /// Transport-cc feedback for everything received since the last one, in as many packets
    /// as it takes, each on its own (RFC 5506 reduced size, as browsers send it).
    private func sendTransportFeedback() {
        let sender = rtcpSender
        let before = transportFeedback.packetsReported
        var more = true
        while more {
            // Without an outbound SRTCP session `sendRTCP` writes nothing: then stop, or the
            // network thread would spin here for good.
            var written = false
            more = false
            transport.sendRTCP { writer in
                more = transportFeedback.write(sender: sender, into: &writer)
                written = true
            }
            guard written else { break }
            transportFeedbackSent.wrappingAdd(1, ordering: .relaxed)
        }
        transportFeedbackReported.wrappingAdd(transportFeedback.packetsReported - before, ordering: .relaxed)
    }

    /// The SSRC the box's RTCP comes from: its video's, else its audio's.
    private var rtcpSender: UInt32 { plan.video?.ssrc ?? plan.audio?.ssrc ?? 1 }

    /// Every 100 ms (network thread): NACKs for what is missing, transport-cc feedback that a
    /// burst left waiting; about every second, sender and receiver reports with our CNAME.
    func tick(now: UInt64) {
        let sender = rtcpSender
        if transportFeedback.isDue(now: now) { sendTransportFeedback() }
        for (ssrc, missing) in dueNACKs(now: now) where !missing.isEmpty {
            transport.sendRTCP { TransportLayerNACK(sender: sender, media: ssrc, lostSequenceNumbers: missing).write(into: &$0) }
        }
        sendKeyframeRequests(sender: sender)
        guard now >= nextReportTime else { return }
        scheduleReport(now: now)
        let blocks = receptionReports(now: now)
        var realtime = timespec()
        clock_gettime(CLOCK_REALTIME, &realtime)
        let instant = Monotonic.nanoseconds()
        let ntp = MediaClock.ntp(unixNanoseconds: UInt64(realtime.tv_sec) * 1_000_000_000 + UInt64(realtime.tv_nsec))
        // A stream gets a sender report once it has sent, with the RTP time of this instant.
        var streams: [(ssrc: UInt32, timestamp: UInt32, packets: Int, octets: Int)] = []
        if let video = plan.video, let mark = control.videoClock.withLock({ $0 }) {
            streams.append((video.ssrc, videoReportTimeline.timestamp(for: mark, at: instant, clockRate: 90000), control.videoPackets.load(ordering: .relaxed),
                            control.videoBytes.load(ordering: .relaxed)))
        }
        if let audio = plan.audio, let mark = control.audioClock.withLock({ $0 }) {
            streams.append((audio.ssrc, audioReportTimeline.timestamp(for: mark, at: instant, clockRate: 48000), control.audioPackets.load(ordering: .relaxed),
                            control.audioBytes.load(ordering: .relaxed)))
        }
        transport.sendRTCP { writer in
            if streams.isEmpty {
                ReceiverReport(ssrc: sender, reports: blocks).write(into: &writer)
            }
            for (index, stream) in streams.enumerated() {
                SenderReport(ssrc: stream.ssrc, ntpTimestamp: ntp, rtpTimestamp: stream.timestamp,
                             packetCount: UInt32(truncatingIfNeeded: stream.packets), octetCount: UInt32(truncatingIfNeeded: stream.octets),
                             reports: index == 0 ? blocks : []).write(into: &writer)
            }
            SourceDescriptionChunk.write(([sender] + streams.map(\.ssrc)).uniqued.map { SourceDescriptionChunk(ssrc: $0, cname: plan.cname) },
                                         into: &writer)
        }
    }
}

extension Array where Element: Hashable {
    fileprivate var uniqued: [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
