@testable import Box
import Capture
import Codecs
import Foundation
import Logging
import Media
import RTP
import Runtime
import Session
import Testing

/// The receive side's thread end to end without a network: RTP packets of real libvpx frames
/// go through the intake (signalled sources, RTX unwrapping), frame assembly, the frame buffer
/// and the decoder to a sink that reads the painted frame numbers back.
@Suite struct VideoReceiverTests {
    /// Records what the receive thread shows (painted numbers and sizes, per SSRC).
    final class RecordingSink: VideoSink, @unchecked Sendable {
        let lock = NSLock()
        var shown: [UInt32: [(number: Int?, width: Int, height: Int)]] = [:]
        var ended: [UInt32] = []

        func show(_ frame: DecodedVideoFrame) {
            let p = frame.picture
            let number = TestPattern.readFrameNumber(luma: p.planes.0, stride: p.strides.0, width: p.width, height: p.height)
            lock.withLock { shown[frame.ssrc, default: []].append((number, p.width, p.height)) }
        }

        func sourceEnded(ssrc: UInt32) { lock.withLock { ended.append(ssrc) } }
        func numbers(_ ssrc: UInt32) -> [Int?] { lock.withLock { (shown[ssrc] ?? []).map(\.number) } }
        func sizes(_ ssrc: UInt32) -> [Int] { lock.withLock { (shown[ssrc] ?? []).map(\.height) } }
    }

    /// A remote camera: test pattern → libvpx → RTP packets (VP8 100), as a browser sends.
    struct Camera {
        let ssrc: UInt32
        var encoder: VP8Encoder
        var packetizer: VP8Packetizer
        var pattern: TestPattern
        var frame = 0

        init(ssrc: UInt32, width: Int, height: Int) throws {
            self.ssrc = ssrc
            encoder = try VP8Encoder(VP8EncoderSettings(width: width, height: height, fps: 30, bitrateKbps: 800))
            packetizer = VP8Packetizer(ssrc: ssrc, payloadType: 100, extensionIDs: RTPHeaderExtensionIDs(), maxPacketSize: 1200,
                                       initialSequenceNumber: 1000, initialPictureID: 7)
            pattern = TestPattern(width: width, height: height)
        }

        /// The next frame's packets, each as (sequence number, bytes).
        mutating func nextPackets() throws -> [(UInt16, [UInt8])] {
            var packets: [(UInt16, [UInt8])] = []
            var buffer = [UInt8](repeating: 0, count: 1500)
            let picture = pattern.render(frame: frame)
            let timestamp = UInt32(frame * 3000)
            try encoder.encode(picture, pts: Int64(frame), duration: 1) { encoded in
                buffer.withUnsafeMutableBytes { raw in
                    _ = packetizer.packetize(frame: encoded.data, timestamp: timestamp, into: raw, extensions: { RTPExtensionValues() }) { packet, sequence in
                        packets.append((sequence, Array(packet)))
                    }
                }
            }
            frame += 1
            return packets
        }
    }

    static func deliver(_ packet: [UInt8], to intake: RemoteVideoIntake, rtxPayloadType: UInt8? = 96) {
        packet.withUnsafeBytes { bytes in
            guard let view = RTPPacketView(bytes), let (ssrc, sequence, payload) = intake.unwrap(view, rtxPayloadType: rtxPayloadType) else { return }
            intake.accept(ssrc: ssrc, sequence: sequence, timestamp: view.header.timestamp, marker: view.header.marker, payload: payload,
                          retransmitted: ssrc != view.header.ssrc, now: 0)
        }
    }

    /// RFC 4588: the same packet on the RTX SSRC and payload type, the original sequence number
    /// in front of the payload.
    static func rtx(_ packet: [UInt8], ssrc: UInt32, sequence: UInt16) -> [UInt8] {
        var wrapped = packet
        wrapped[1] = (wrapped[1] & 0x80) | 96
        wrapped.replaceSubrange(2..<4, with: [UInt8(sequence >> 8), UInt8(sequence & 0xFF)])
        wrapped.replaceSubrange(8..<12, with: [UInt8(ssrc >> 24), UInt8(ssrc >> 16 & 0xFF), UInt8(ssrc >> 8 & 0xFF), UInt8(ssrc & 0xFF)])
        wrapped.insert(contentsOf: [packet[2], packet[3]], at: 12)
        return wrapped
    }

    func running(_ intake: RemoteVideoIntake, _ sink: RecordingSink, _ body: (SendControl) throws -> Void) rethrows {
        let control = SendControl(videoBitrateKbps: 0, cameraLive: false)
        let receiver = VideoReceiver(intake: intake, sink: sink, monitor: VideoReceiveMonitor(), control: control, logger: Logger(label: "test"))
        let thread = try! BackgroundThread(name: "test-video-rx") { receiver.run() }
        defer {
            control.stopRequested.store(true, ordering: .relaxed)
            thread.join()
        }
        try body(control)
    }

    static func waitUntil(_ condition: () -> Bool) -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            usleep(10_000)
        }
        return false
    }

    @Test func decodesEverySignalledSourceInOrderAndRebuildsLostPacketsFromRTX() throws {
        let intake = RemoteVideoIntake(), sink = RecordingSink()
        intake.setOwnSources([42])
        intake.setSources([MediaSource(ssrc: 1111, name: "aaaa-v0", owner: "room@conf/aaaa"),
                           MediaSource(ssrc: 1112, name: "aaaa-v0", owner: "room@conf/aaaa"),
                           MediaSource(ssrc: 42, name: "mine-v0")],
                          groups: [("FID", [1111, 1112])])
        var camera = try Camera(ssrc: 1111, width: 640, height: 360)
        var stranger = try Camera(ssrc: 3333, width: 320, height: 180)
        var own = try Camera(ssrc: 42, width: 320, height: 180)
        var lostPacket: (UInt16, [UInt8])?
        try running(intake, sink) { _ in
            for frame in 0..<40 {
                var packets = try camera.nextPackets()
                // Frame 10 loses its first packet; it comes back on the RTX SSRC after the next frame.
                if frame == 10 { lostPacket = packets.removeFirst() }
                for (_, packet) in packets { Self.deliver(packet, to: intake) }
                if frame == 11, let (sequence, packet) = lostPacket { Self.deliver(Self.rtx(packet, ssrc: 1112, sequence: sequence), to: intake) }
                for (_, packet) in try stranger.nextPackets() { Self.deliver(packet, to: intake) }
                for (_, packet) in try own.nextPackets() { Self.deliver(packet, to: intake) }
            }
            #expect(Self.waitUntil { sink.numbers(1111).count == 40 }, "all 40 frames shown: \(sink.numbers(1111).count)")
        }
        #expect(sink.numbers(1111) == (0..<40).map { $0 }, "every painted frame, in order")
        #expect(sink.sizes(1111).allSatisfy { $0 == 360 })
        #expect(sink.numbers(3333).isEmpty && sink.numbers(42).isEmpty, "unsignalled and own sources are not decoded")
        #expect(intake.unsignalledPackets.load(ordering: .relaxed) > 0 && intake.retransmissions.load(ordering: .relaxed) == 1)
        #expect(sink.ended == [1111], "the source's end is told to the sink when the thread stops")
    }

    @Test func asksForAKeyFrameWhenAFrameIsLostForGoodAndFollowsAResolutionChange() throws {
        let intake = RemoteVideoIntake(), sink = RecordingSink()
        intake.setSources([MediaSource(ssrc: 2222, name: "bbbb-v0", owner: "room@conf/bbbb")], groups: [])
        var camera = try Camera(ssrc: 2222, width: 640, height: 360)
        try running(intake, sink) { _ in
            for _ in 0..<10 { for (_, packet) in try camera.nextPackets() { Self.deliver(packet, to: intake) } }
            #expect(Self.waitUntil { sink.numbers(2222).count == 10 })
            // A request at the stream's start (before its first key frame completed) may be there.
            _ = intake.takeKeyframeRequests()
            usleep(400_000)
            #expect(intake.takeKeyframeRequests().isEmpty, "decoding: no more requests")
            // Frame 10 is lost for good: the frames after it wait, then the chain breaks.
            _ = try camera.nextPackets()
            for _ in 0..<3 { for (_, packet) in try camera.nextPackets() { Self.deliver(packet, to: intake) } }
            #expect(Self.waitUntil { !intake.takeKeyframeRequests().isEmpty }, "a key frame asked for (PLI) after the gap timed out")
            #expect(sink.numbers(2222).count == 10, "nothing decoded on a broken chain")
            // The sender answers with a key frame, and the bridge has switched to the 180-line
            // layer meanwhile: same SSRC, sequence numbers go on, a new size.
            camera.encoder = try VP8Encoder(VP8EncoderSettings(width: 320, height: 180, fps: 30, bitrateKbps: 300))
            camera.pattern = TestPattern(width: 320, height: 180)
            for _ in 0..<10 { for (_, packet) in try camera.nextPackets() { Self.deliver(packet, to: intake) } }
            #expect(Self.waitUntil { sink.numbers(2222).count == 20 })
        }
        #expect(sink.numbers(2222) == Array(0..<10) + Array(14..<24), "decoding resumed at the key frame")
        #expect(sink.sizes(2222) == Array(repeating: 360, count: 10) + Array(repeating: 180, count: 10))
    }

    @Test func aRemovedSourceEndsItsStreamAndItsRTXIsForgotten() {
        let intake = RemoteVideoIntake()
        intake.setSources([MediaSource(ssrc: 1, name: "a-v0", owner: "r/a")], groups: [("FID", [1, 2])])
        intake.addSources([MediaSource(ssrc: 5, name: "b-v1", owner: "r/b", videoType: "desktop"), MediaSource(ssrc: 6, owner: "r/b")],
                          groups: [("FID", [5, 6])])
        #expect(intake.source(of: 5) == RemoteVideoIntake.Source(name: "b-v1", isScreenShare: true) && intake.source(of: 6) == nil,
                "an RTX SSRC is no source of its own")
        #expect(intake.sourceCount == 2)
        intake.removeSources([5, 6])
        #expect(intake.sourceCount == 1 && intake.source(of: 5) == nil)
        let jvb = RemoteVideoIntake.sources([MediaSource(ssrc: 9, name: "jvb-v0", owner: "jvb")], groups: [], excluding: [])
        #expect(jvb.primary.isEmpty, "the bridge's own feedback SSRC is nobody's picture")
    }
}
