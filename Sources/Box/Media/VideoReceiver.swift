#if canImport(Glibc)
import Glibc
#endif
import Codecs
import JitterBuffer
import Logging
import Media
import RTP
import Runtime

/// The receive chain of one remote video source (one primary SSRC): frame assembly, the
/// frame buffer's decodability rules, and its own libvpx decoder.
final class RemoteVideoStream {
    let ssrc: UInt32
    let name: String?
    /// For the log, which names no participant: "camera 1234" or "screen share 1234" (SSRC).
    let label: String
    var assembler = VP8FrameAssembler()
    var buffer = VideoFrameBuffer()
    let decoder: VP8Decoder
    var decodeErrors = 0

    init(ssrc: UInt32, source: RemoteVideoIntake.Source) throws {
        self.ssrc = ssrc
        name = source.name
        label = "\(source.isScreenShare ? "screen share" : "camera") \(ssrc)"
        decoder = try VP8Decoder()
    }
}

/// Until the classroom screen exists (issue "part 2"), decoded pictures go nowhere: the
/// ``VideoReceiveMonitor`` counts them.
final class DiscardingVideoSink: VideoSink {
    func show(_ frame: DecodedVideoFrame) {}
    func sourceEnded(ssrc: UInt32) {}
}

/// The video receive thread: the receive side's counterpart of ``VideoSender``.
///
/// It takes the packets the network thread put into the ``RemoteVideoIntake`` ring, puts
/// each source's frames together, hands them to its decoder in decodable order, and the
/// decoded pictures to the ``VideoSink``. Key frame requests (at the start, and when a chain
/// broke beyond repair) go back to the network thread, which sends them as RTCP PLI. The
/// thread sleeps in `poll` on the intake's wake-up pipe until a packet or the frame buffers'
/// next deadline is due. After the first frame of each source nothing is allocated: the
/// assemblers' slots and the buffers' arrays are sized at creation, libvpx keeps its frames.
final class VideoReceiver: @unchecked Sendable {  // made here, then used on its own thread only
    /// More sources than the screen can show (16 tiles and a share) are not decoded.
    static let maximumStreams = 20

    private let intake: RemoteVideoIntake
    private let sink: any VideoSink
    private let monitor: VideoReceiveMonitor
    private let control: SendControl
    private let logger: Logger
    private var streams: [UInt32: RemoteVideoStream] = [:]
    private var generation = -1
    /// Statistics of streams that ended, kept for the call's summary.
    private var ended = VideoReceiveTotals()

    init(intake: RemoteVideoIntake, sink: any VideoSink, monitor: VideoReceiveMonitor, control: SendControl, logger: Logger) {
        self.intake = intake
        self.sink = sink
        self.monitor = monitor
        self.control = control
        self.logger = logger
        streams.reserveCapacity(Self.maximumStreams)
    }

    func run() {
        var nextCount: UInt64 = 0
        var wake = pollfd(fd: intake.wake.descriptor, events: Int16(POLLIN), revents: 0)
        while !control.isStopping {
            _ = poll(&wake, 1, timeoutMilliseconds(now: Monotonic.nanoseconds()))
            intake.wake.drain()
            let now = processPending()
            if now >= nextCount {
                nextCount = now + 1_000_000_000
                monitor.countSeen(now: now)
            }
        }
        finish()
    }

    /// One turn of the thread, without waiting: source changes, every packet in the ring, the
    /// frame buffers' due deadlines. Returns the time it took as now. (The benchmark drives
    /// the receiver through this, as fast as it runs.)
    @discardableResult
    func processPending() -> UInt64 {
        let current = intake.generation.load(ordering: .acquiring)
        if current != generation {
            generation = current
            endStreamsOfLeftSources()
        }
        while intake.ring.pop({ record, payload in receive(record, payload) }) {}
        let now = Monotonic.nanoseconds()
        for stream in streams.values {
            if let deadline = stream.buffer.nextDeadline, deadline <= now {
                var failed = false
                stream.buffer.poll(now: now) { act($0, stream, failed: &failed) }
            }
        }
        return now
    }

    /// Ends every stream and logs the call's summary.
    func finish() {
        for stream in streams.values { end(stream) }
        streams.removeAll()
        monitor.seenSources.store(0, ordering: .relaxed)
        let rtx = intake.retransmissions.load(ordering: .relaxed), unsignalled = intake.unsignalledPackets.load(ordering: .relaxed)
        let ringFull = intake.droppedPackets.load(ordering: .relaxed)
        var metadata = ended.metadata
        metadata["retransmitted"] = "\(rtx)"
        metadata["unsignalled"] = "\(unsignalled)"
        metadata["ring_full"] = "\(ringFull)"
        logger.info("video received: \(ended.summary), \(rtx) packets repaired by retransmission (RTX), \(unsignalled) of unsignalled sources, \(ringFull) dropped at a full ring",
                    metadata: metadata)
    }

    /// Until the earliest frame-buffer deadline, at most 50 ms (the stop flag is read then).
    private func timeoutMilliseconds(now: UInt64) -> Int32 {
        var earliest = now + 50_000_000
        for stream in streams.values {
            if let deadline = stream.buffer.nextDeadline { earliest = min(earliest, deadline) }
        }
        return earliest <= now ? 0 : Int32((earliest - now + 999_999) / 1_000_000)
    }

    private func receive(_ record: ReceivedVideoRecord, _ payload: UnsafeRawBufferPointer) {
        guard let stream = stream(for: record.ssrc) else { return }
        let outcome = stream.assembler.insert(sequenceNumber: record.sequence, timestamp: record.timestamp, marker: record.marker,
                                              payload: payload)
        guard case .completed(let frame) = outcome else { return }
        let now = Monotonic.nanoseconds()
        var failed = false
        stream.buffer.insert(frame, now: now) { act($0, stream, failed: &failed) }
        if failed {
            stream.buffer.decodingFailed(now: now) { act($0, stream, failed: &failed) }
        }
    }

    private func act(_ action: VideoFrameBufferAction, _ stream: RemoteVideoStream, failed: inout Bool) {
        switch action {
        case .decode(let frame):
            defer { stream.assembler.release(frame, decoded: true) }
            // After a failure nothing more of this chain is decoded: it breaks right after.
            guard !failed else { return }
            do {
                try stream.assembler.withFrameBytes(frame) { bytes in
                    try stream.decoder.decode(bytes) { picture in
                        monitor.frameDecoded(stream: stream, picture: picture, frame: frame, logger: logger)
                        sink.show(DecodedVideoFrame(ssrc: stream.ssrc, sourceName: stream.name, picture: picture,
                                                    rtpTimestamp: frame.timestamp, isKeyframe: frame.isKeyframe))
                    }
                }
            } catch {
                stream.decodeErrors += 1
                monitor.decodeErrors.wrappingAdd(1, ordering: .relaxed)
                failed = true
            }
        case .drop(let frame):
            stream.assembler.release(frame, decoded: false)
        case .requestKeyframe:
            intake.requestKeyframe(for: stream.ssrc)
        }
    }

    /// The stream of a signalled source, made at its first packet.
    private func stream(for ssrc: UInt32) -> RemoteVideoStream? {
        if let stream = streams[ssrc] { return stream }
        guard let source = intake.source(of: ssrc), streams.count < Self.maximumStreams else {
            monitor.packetsWithoutStream.wrappingAdd(1, ordering: .relaxed)
            return nil
        }
        do {
            let stream = try RemoteVideoStream(ssrc: ssrc, source: source)
            streams[ssrc] = stream
            monitor.streams.store(streams.count, ordering: .relaxed)
            return stream
        } catch {
            logger.error("a video decoder cannot be made: \(error)")
            return nil
        }
    }

    private func endStreamsOfLeftSources() {
        for (ssrc, stream) in streams where intake.source(of: ssrc) == nil {
            end(stream)
            streams[ssrc] = nil
        }
        monitor.streams.store(streams.count, ordering: .relaxed)
    }

    private func end(_ stream: RemoteVideoStream) {
        ended.add(stream)
        sink.sourceEnded(ssrc: stream.ssrc)
        monitor.sourceEnded(stream, logger: logger)
    }
}
