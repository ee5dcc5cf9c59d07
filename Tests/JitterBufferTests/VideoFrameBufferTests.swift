import Testing
@testable import JitterBuffer
@testable import RTP

/// Frame `index` of a 30 fps stream (90 kHz timestamps 3000 apart), `packets` packets each,
/// PictureIDs counting from `pictureBase`. The slot fields are unused by the buffer.
func videoFrame(_ index: Int, keyframe: Bool = false, packets: Int = 2, sequenceBase: UInt16 = 100, pictureBase: UInt16 = 0,
                width: UInt16 = 640, height: UInt16 = 360, layer: (tl0: UInt8, temporal: UInt8, sync: Bool)? = nil) -> VP8Frame {
    let first = sequenceBase &+ UInt16(index * packets)
    return VP8Frame(timestamp: UInt32(index * 3000), firstSequence: first, lastSequence: first &+ UInt16(packets - 1),
                    pictureID: (pictureBase &+ UInt16(index)) & 0x7FFF, pictureIDIs15Bit: true, tl0PictureIndex: layer?.tl0,
                    temporalLayer: layer?.temporal, layerSync: layer?.sync ?? false, nonReference: false, isKeyframe: keyframe,
                    width: keyframe ? width : nil, height: keyframe ? height : nil, byteCount: 100, slot: 0, use: 0)
}

/// Drives a buffer on a manual clock: frames at scripted times, `poll` every 10 ms, and a log
/// of what it asked for ("decode 3" is frame index 3, "PLI@300" a key frame request at 300 ms).
struct VideoScript {
    var buffer = VideoFrameBuffer()
    var log: [String] = []
    var clock: UInt64 = 0

    mutating func record(_ action: VideoFrameBufferAction, at now: UInt64) {
        switch action {
        case .decode(let frame): log.append("decode \(frame.timestamp / 3000)")
        case .drop(let frame): log.append("drop \(frame.timestamp / 3000)")
        case .requestKeyframe: log.append("PLI@\(now / ms)")
        }
    }

    /// Inserts each frame at its time (ms), polling every 10 ms in between, then polls on to
    /// `end` (ms). Frames timed before the clock were inserted by an earlier run.
    mutating func run(_ events: [(UInt64, VP8Frame)], until end: UInt64) {
        var pending = events.filter { $0.0 * ms >= clock }[...]
        while clock <= end * ms {
            var actions: [(UInt64, VideoFrameBufferAction)] = []
            while let (at, frame) = pending.first, at * ms <= clock {
                pending.removeFirst()
                buffer.insert(frame, now: at * ms) { actions.append((at * ms, $0)) }
            }
            let now = clock
            buffer.poll(now: now) { actions.append((now, $0)) }
            for (time, action) in actions { record(action, at: time) }
            clock += 10 * ms
        }
    }
}

/// Decodability, gaps and key frame requests of received video, on a manual clock.
@Suite struct VideoFrameBufferTests {
    @Test func theStartAsksForAKeyframeAtOnceThenEvery500msUntilOneComes() {
        var script = VideoScript()
        script.run([(1200, videoFrame(0, keyframe: true))], until: 3000)
        #expect(script.log == ["PLI@0", "PLI@500", "PLI@1000", "decode 0"])
        #expect(script.buffer.statistics == VideoFrameBufferStatistics(decoded: 1, dropped: 0, keyframeRequests: 3, freezes: 0))
        #expect(script.buffer.width == 640 && script.buffer.height == 360 && !script.buffer.isWaitingForKeyframe)
    }

    @Test func aKeyframeFirstAsksForNothing() {
        var script = VideoScript()
        script.run((0..<10).map { (UInt64($0) * 33, videoFrame($0, keyframe: $0 == 0)) }, until: 1000)
        #expect(script.log == (0..<10).map { "decode \($0)" })
        #expect(script.buffer.statistics == VideoFrameBufferStatistics(decoded: 10, dropped: 0, keyframeRequests: 0, freezes: 0))
        #expect(script.buffer.nextDeadline == nil)
    }

    /// The key frame's packets were retransmitted: the frames after it completed first.
    @Test func framesBeforeTheFirstKeyframeWaitForIt() {
        var script = VideoScript()
        script.run([(0, videoFrame(0)), (20, videoFrame(2)), (40, videoFrame(3)), (60, videoFrame(1, keyframe: true))], until: 100)
        #expect(script.log == ["PLI@0", "drop 0", "decode 1", "decode 2", "decode 3"])
    }

    @Test func aGapRepairedWithin200msAsksForNothing() {
        var script = VideoScript()
        let frames = [0, 1, 3, 4, 5].map { (UInt64($0) * 33, videoFrame($0, keyframe: $0 == 0)) }
        script.run(frames + [(99 + 190, videoFrame(2))], until: 1000)
        #expect(script.log == ["decode 0", "decode 1", "decode 2", "decode 3", "decode 4", "decode 5"])
        #expect(script.buffer.statistics == VideoFrameBufferStatistics(decoded: 6, dropped: 0, keyframeRequests: 0, freezes: 0))
    }

    @Test func anUnrepairedGapAsksForOneKeyframeAndDropsFramesUntilItComes() {
        var script = VideoScript()
        // 15 fps; frame 2 is lost and its retransmission comes too late, after the break.
        let frames: [(UInt64, VP8Frame)] = [(0, videoFrame(0, keyframe: true)), (30, videoFrame(1)), (100, videoFrame(3)),
                                                       (170, videoFrame(4)), (240, videoFrame(5)), (310, videoFrame(6)),
                                                       (380, videoFrame(7)), (420, videoFrame(2)), (450, videoFrame(8, keyframe: true)),
                                                       (520, videoFrame(9))]
        script.run(frames, until: 440)
        #expect(script.log == ["decode 0", "decode 1", "drop 3", "drop 4", "drop 5", "PLI@300"])
        #expect(script.buffer.isWaitingForKeyframe && script.buffer.waitingFrameCount == 3)
        script.run(frames, until: 2000)
        #expect(script.log.dropFirst(6) == ["drop 2", "drop 6", "drop 7", "decode 8", "decode 9"])
        #expect(script.buffer.statistics == VideoFrameBufferStatistics(decoded: 4, dropped: 6, keyframeRequests: 1, freezes: 1))
    }

    /// As libwebrtc's receiver: while no key frame comes, asked again every 200 ms.
    @Test func withoutAKeyframeTheRequestIsRepeatedEvery200ms() {
        var script = VideoScript()
        script.run([(0, videoFrame(0, keyframe: true)), (100, videoFrame(2))], until: 950)
        #expect(script.log == ["decode 0", "drop 2", "PLI@300", "PLI@500", "PLI@700", "PLI@900"])
        #expect(script.buffer.nextDeadline == 1100 * ms)
    }

    @Test func moreThanFiveFramesBehindAGapBreakTheChainBeforeTheTimeout() {
        var script = VideoScript()
        let frames = [0, 1, 3, 4, 5, 6, 7, 8].map { (UInt64($0) * 33, videoFrame($0, keyframe: $0 == 0)) }
        script.run(frames, until: 270)
        #expect(script.log == ["decode 0", "decode 1", "drop 3", "drop 4", "drop 5", "drop 6", "drop 7", "drop 8", "PLI@264"])
        #expect(script.buffer.statistics.freezes == 1)
    }

    /// The bridge switched simulcast layers onto the same SSRC: a key frame of a new size, with
    /// sequence numbers and PictureIDs of their own.
    @Test func theResolutionChangesAtAKeyframe() {
        var script = VideoScript()
        let small = (0..<3).map { (UInt64($0) * 33, videoFrame($0, keyframe: $0 == 0)) }
        let large = (3..<6).map {
            (UInt64($0) * 33, videoFrame($0, keyframe: $0 == 3, sequenceBase: 40_000, pictureBase: 900, width: 1280, height: 720))
        }
        script.run(Array(small.prefix(2)), until: 50)
        #expect(script.buffer.width == 640 && script.buffer.height == 360)
        script.run(small + large, until: 500)
        #expect(script.log == (0..<6).map { "decode \($0)" })
        #expect(script.buffer.width == 1280 && script.buffer.height == 720)
        #expect(script.buffer.statistics == VideoFrameBufferStatistics(decoded: 6, dropped: 0, keyframeRequests: 0, freezes: 0))
    }

    /// Padding-only packets (bandwidth probes) take sequence numbers between frames; the
    /// PictureID still says the chain goes on, across its 15- and 7-bit wraps.
    @Test func pictureIDsBridgeSequenceGapsAndWrap() {
        var script = VideoScript()
        var frames = (0..<3).map { (UInt64($0) * 33, videoFrame($0, keyframe: $0 == 0, pictureBase: 0x7FFE)) }
        frames[2].1.firstSequence &+= 5
        frames[2].1.lastSequence &+= 5
        script.run(frames, until: 100)
        #expect(frames.map(\.1.pictureID) == [0x7FFE, 0x7FFF, 0])
        var sevenBit = frames
        for index in sevenBit.indices {
            sevenBit[index].1.pictureID = UInt16(0x7E + index) & 0x7F
            sevenBit[index].1.pictureIDIs15Bit = false
            sevenBit[index].0 += 1000
            sevenBit[index].1.timestamp += 30_000
            sevenBit[index].1.firstSequence &+= 100
            sevenBit[index].1.lastSequence &+= 100
        }
        script.run(sevenBit, until: 1200)
        #expect(script.log == ["decode 0", "decode 1", "decode 2", "decode 10", "decode 11", "decode 12"])
    }

    /// TL0 frames refer only to TL0 frames, Y frames only to TL0: lost upper-layer frames do
    /// not break the chain; a non-sync upper-layer frame after them is dropped, not waited for.
    @Test func temporalLayersPassOverLostUpperLayerFrames() {
        var script = VideoScript()
        // Pattern TL0 TL2 TL1 TL2; frames 1, 2 and 5 are lost.
        let layers: [(tl0: UInt8, temporal: UInt8, sync: Bool)] = [(1, 0, false), (1, 2, true), (1, 1, true), (1, 2, false),
                                                                   (2, 0, false), (2, 2, true), (2, 1, true), (2, 2, false),
                                                                   (3, 0, false)]
        let received = [0, 3, 4, 6, 7, 8].map {
            (UInt64($0) * 33, videoFrame($0, keyframe: $0 == 0, packets: 1, layer: layers[$0]))
        }
        script.run(received, until: 400)
        #expect(script.log == ["decode 0", "drop 3", "decode 4", "decode 6", "decode 7", "decode 8"])
        #expect(script.buffer.statistics.freezes == 0 && script.buffer.statistics.keyframeRequests == 0)
    }

    @Test func framesOlderThanTheLastDecodedAreDropped() {
        var script = VideoScript()
        let frames = (0..<3).map { (UInt64($0) * 33, videoFrame($0, keyframe: $0 == 0)) }
        script.run(frames + [(100, videoFrame(1)), (110, videoFrame(2, keyframe: true))], until: 200)
        #expect(script.log == ["decode 0", "decode 1", "decode 2", "drop 1", "drop 2"])
    }

    @Test func theDeadlineSaysWhenToPoll() {
        var buffer = VideoFrameBuffer()
        #expect(buffer.nextDeadline == 0)
        buffer.poll(now: 7 * ms) { _ in }
        #expect(buffer.nextDeadline == 507 * ms)
        buffer.insert(videoFrame(0, keyframe: true), now: 10 * ms) { _ in }
        #expect(buffer.nextDeadline == nil)
        buffer.insert(videoFrame(2), now: 70 * ms) { _ in }
        #expect(buffer.nextDeadline == 270 * ms && buffer.waitingFrameCount == 1)
    }
}
