#if canImport(Glibc)
import Glibc
#endif
import Capture
import Codecs
import Logging
import Media
import RTP
import Runtime
import Session

/// The box's video receive path for one remote camera, for `make bench` (issue 11): RTP →
/// ``RemoteVideoIntake`` (unwrap and accept, as the network thread does) → the intake's ring →
/// ``VideoReceiver`` (frame assembly, the frame buffer, libvpx) → ``VideoReceiveMonitor`` (it
/// reads the painted frame number) → a sink that only touches the picture. Exactly the code
/// of a call's video receive thread, driven turn by turn with `processPending()` instead of
/// its `run()` loop, as fast as it runs.
///
/// The stream is encoded once, before anything is measured: 2 s of the moving test pattern
/// with libvpx at a browser's simulcast layer settings, packetized as a browser sends it. It
/// is then replayed, the RTP sequence numbers and timestamps rewritten in place so that the
/// stream goes on (each replay starts with the clip's key frame, one every 2 s). Rewriting in
/// place keeps the replay itself free of allocations, so whatever the counter sees is the
/// receive path's. The floor, measured in the same run on the same frames, is libvpx alone
/// (`VP8Decoder.decode` of each frame's bytes): the ratio says what the box adds to decoding.
/// CPU time is the thread's own (CLOCK_THREAD_CPUTIME_ID); each figure is the median over the
/// 2 s rounds after the first, the two sides taking turns round by round.
public enum VideoReceiveBenchmark {
    /// One simulcast layer as a browser sends it (Jitsi's 360p and 720p defaults).
    public struct Layer: Sendable {
        public var label: String
        public var width: Int
        public var height: Int
        public var bitrateKbps: Int

        public static let p360 = Layer(label: "360p", width: 640, height: 360, bitrateKbps: 800)
        public static let p720 = Layer(label: "720p", width: 1280, height: 720, bitrateKbps: 1500)
    }

    public struct Result: Sendable {
        public var layer: Layer
        /// Frames replayed, and of them measured (after the warm-up).
        public var frames: Int
        public var measuredFrames: Int
        public var packetsPerFrame: Double
        /// CPU microseconds per frame (the rounds' median): unwrap and accept every packet,
        /// assemble, order, decode, read the painted number, show.
        public var microsecondsPerFrame: Double
        /// Heap allocations per frame over the measured frames (the whole process's).
        public var allocationsPerFrame: Double
        /// Frames the monitor counted decoded (each must be).
        public var decodedFrames: Int
        /// The floor, measured in the same run: libvpx alone decoding the same frames, CPU µs
        /// per frame (the rounds' median).
        public var decodeOnlyMicrosecondsPerFrame: Double
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    static let fps = 30
    /// 2 s of video: enough motion that the replay is not one frame's work over and over.
    static let clipFrames = 60
    static let ssrc: UInt32 = 0x7600

    public static func run(layer: Layer, seconds: Double, allocations: () -> UInt64) throws -> Result {
        let clip = try Clip(layer: layer)
        let rounds = max(3, Int(seconds * Double(fps)) / clipFrames)
        let intake = RemoteVideoIntake()
        intake.setSources([MediaSource(ssrc: ssrc, name: "bench-v0", owner: "bench@conference.classbox/bench")], groups: [])
        let monitor = VideoReceiveMonitor()
        let sink = TouchingSink()
        // Quiet: the monitor's "decoded at WxH" line would land in the bench's output.
        let logger = Logger(label: "classbox-bench") { _ in SwiftLogNoOpLogHandler() }
        let receiver = VideoReceiver(intake: intake, sink: sink, monitor: monitor,
                                     control: SendControl(videoBitrateKbps: 0), logger: logger)
        let decoder = try VP8Decoder()
        var replay = Replay()
        var pipeline: [Double] = [], alone: [Double] = []
        pipeline.reserveCapacity(rounds)
        alone.reserveCapacity(rounds)
        var allocated: UInt64 = 0
        var pictures = 0
        // Round by round, the box's path then libvpx alone on the same 2 s of frames: both
        // meet the same machine (the build machine has two cores and other work on them).
        // Round 0 is the warm-up: the stream's creation, its first key frame, libvpx's buffers.
        for round in 0..<rounds {
            let allocationsStart = allocations()
            let cpuStart = threadCPUNanoseconds()
            try replay.clip(clip, into: intake, receiver: receiver)
            let cpuMiddle = threadCPUNanoseconds()
            let allocationsEnd = allocations()
            for frame in clip.encoded {
                try frame.withUnsafeBytes { bytes in
                    try decoder.decode(bytes) { picture in
                        pictures += 1
                        sink.touched &+= TouchingSink.touch(picture)
                    }
                }
            }
            let cpuEnd = threadCPUNanoseconds()
            guard round > 0 else { continue }
            allocated += allocationsEnd - allocationsStart
            pipeline.append(Double(cpuMiddle - cpuStart) / 1000 / Double(clipFrames))
            alone.append(Double(cpuEnd - cpuMiddle) / 1000 / Double(clipFrames))
        }
        let frames = rounds * clipFrames
        let decoded = monitor.decodedFrames.load(ordering: .relaxed)
        let errors = monitor.decodeErrors.load(ordering: .relaxed)
        let dropped = intake.droppedPackets.load(ordering: .relaxed)
        receiver.finish()
        guard decoded == frames, sink.frames == frames, errors == 0, dropped == 0, pictures == frames else {
            throw Failure(description: "\(layer.label): \(decoded) of \(frames) frames decoded (\(sink.frames) shown), "
                          + "\(errors) decode errors, \(dropped) packets dropped by the intake; libvpx alone \(pictures)")
        }
        let measured = frames - clipFrames
        return Result(layer: layer, frames: frames, measuredFrames: measured,
                      packetsPerFrame: Double(clip.packets.count) / Double(clipFrames), microsecondsPerFrame: median(pipeline),
                      allocationsPerFrame: Double(allocated) / Double(measured), decodedFrames: decoded,
                      decodeOnlyMicrosecondsPerFrame: median(alone))
    }

    /// The rounds' middle figure: one round slowed by the machine's other work does not move it.
    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// The remote sender's running numbers: the replayed stream goes on where it left off.
    struct Replay {
        var sequence: UInt16 = 1000
        var frame = 0

        /// Hands every frame of the clip to the intake as the network thread does
        /// (CallMedia.receiveVideo, NACK tracking aside), then lets the receiver take its turn
        /// as its thread does after a wake-up. The headers are rewritten in place.
        mutating func clip(_ clip: Clip, into intake: RemoteVideoIntake, receiver: VideoReceiver) throws {
            // By index: a for-in over the array allocates per step in unoptimised builds (its
            // iterator reads through the generic subscript coroutine).
            for frameIndex in 0..<clip.frames.count {
                let packets = clip.frames[frameIndex]
                let timestamp = UInt32(truncatingIfNeeded: frame * (90_000 / fps))
                frame += 1
                for index in packets {
                    let packet = clip.packet(index)
                    packet.storeBytes(of: sequence.bigEndian, toByteOffset: 2, as: UInt16.self)
                    packet.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
                    sequence &+= 1
                    guard let view = RTPPacketView(UnsafeRawBufferPointer(packet)),
                          let (primary, original, payload) = intake.unwrap(view, rtxPayloadType: 96) else {
                        throw Failure(description: "the intake refused a packet of the signalled source")
                    }
                    intake.accept(ssrc: primary, sequence: original, timestamp: view.header.timestamp, marker: view.header.marker,
                                  payload: payload, retransmitted: primary != view.header.ssrc, now: Monotonic.nanoseconds())
                }
                intake.wake.drain()
                receiver.processPending()
            }
        }
    }

    /// The encoded clip: every RTP packet back to back in one buffer (rewritten in place on
    /// replay), which packets make each frame, and each frame's VP8 bytes for libvpx alone.
    final class Clip {
        let bytes: UnsafeMutableRawBufferPointer
        /// Each packet's bytes in `bytes`.
        let packets: [Range<Int>]
        /// Each frame's packets (indices into `packets`).
        let frames: [Range<Int>]
        let encoded: [[UInt8]]

        init(layer: Layer) throws {
            let encoder = try VP8Encoder(VP8EncoderSettings(width: layer.width, height: layer.height, fps: fps,
                                                            bitrateKbps: layer.bitrateKbps))
            // As the tests' remote camera (VideoReceiverTests.Camera): VP8 100, 1200-byte packets.
            var packetizer = VP8Packetizer(ssrc: ssrc, payloadType: 100, extensionIDs: RTPHeaderExtensionIDs(), maxPacketSize: 1200,
                                           initialSequenceNumber: 1000, initialPictureID: 7)
            let pattern = TestPattern(width: layer.width, height: layer.height)
            var wire = [UInt8](repeating: 0, count: 1500)
            var collected: [[UInt8]] = [], encoded: [[UInt8]] = [], frames: [Range<Int>] = []
            for frame in 0..<clipFrames {
                let first = collected.count
                try encoder.encode(pattern.render(frame: frame), pts: Int64(frame), duration: 1) { output in
                    encoded.append(Array(output.data))
                    wire.withUnsafeMutableBytes { raw in
                        _ = packetizer.packetize(frame: output.data, timestamp: UInt32(frame * (90_000 / fps)), into: raw,
                                                 extensions: { RTPExtensionValues() }) { packet, _ in collected.append(Array(packet)) }
                    }
                }
                guard encoded.count == frame + 1 else { throw Failure(description: "libvpx gave no frame for picture \(frame)") }
                frames.append(first..<collected.count)
            }
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: collected.reduce(0) { $0 + $1.count }, alignment: 16)
            var packets: [Range<Int>] = [], offset = 0
            for packet in collected {
                packet.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: bytes[offset..<(offset + $0.count)]).copyMemory(from: $0) }
                packets.append(offset..<(offset + packet.count))
                offset += packet.count
            }
            self.bytes = bytes
            self.packets = packets
            self.frames = frames
            self.encoded = encoded
        }

        deinit { bytes.deallocate() }

        func packet(_ index: Int) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(rebasing: bytes[packets[index]])
        }
    }

    /// The screen's stand-in: reads one byte of each picture (its middle) and counts them.
    final class TouchingSink: VideoSink {
        private(set) var frames = 0
        /// Keeps the reads from being optimised away.
        var touched: UInt8 = 0

        func show(_ frame: DecodedVideoFrame) {
            frames += 1
            touched &+= Self.touch(frame.picture)
        }

        func sourceEnded(ssrc: UInt32) {}

        static func touch(_ picture: VideoFrameLayout) -> UInt8 {
            picture.planes.0[picture.height / 2 * picture.strides.0 + picture.width / 2]
        }
    }

    private static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
