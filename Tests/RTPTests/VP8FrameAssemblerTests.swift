import Testing
import Wire
@testable import RTP

/// What a receiver has of one packet after SRTP: header fields and the RTP payload.
struct ReceivedPacket {
    var sequence: UInt16
    var timestamp: UInt32
    var marker: Bool
    var payload: [UInt8]
}

/// Frames sent through the box's own packetizer, one packet list per frame; timestamps 3000
/// apart (30 fps at 90 kHz).
func packetize(_ frames: [[UInt8]], firstSequence: UInt16 = 1000, firstTimestamp: UInt32 = 90_000,
               maxPacketSize: Int = 300) -> [[ReceivedPacket]] {
    var packetizer = VP8Packetizer(ssrc: 0xABCD, payloadType: 100, extensionIDs: .jitsiDefaults, maxPacketSize: maxPacketSize,
                                   initialSequenceNumber: firstSequence, initialPictureID: 3)
    var buffer = [UInt8](repeating: 0, count: 1500)
    return frames.enumerated().map { index, frame in
        var packets: [ReceivedPacket] = []
        buffer.withUnsafeMutableBytes { raw in
            frame.withUnsafeBytes { frameBytes in
                _ = packetizer.packetize(frame: frameBytes, timestamp: firstTimestamp &+ UInt32(index) * 3000, into: raw,
                                     extensions: { RTPExtensionValues() }) { packet, _ in
                    let view = RTPPacketView(UnsafeRawBufferPointer(packet))!
                    packets.append(ReceivedPacket(sequence: view.header.sequenceNumber, timestamp: view.header.timestamp,
                                                  marker: view.header.marker, payload: Array(view.payload)))
                }
            }
        }
        return packets
    }
}

extension VP8FrameAssembler {
    mutating func insert(_ packet: ReceivedPacket) -> InsertOutcome {
        packet.payload.withUnsafeBytes {
            insert(sequenceNumber: packet.sequence, timestamp: packet.timestamp, marker: packet.marker, payload: $0)
        }
    }

    func bytes(of frame: VP8Frame) -> [UInt8] { withFrameBytes(frame) { Array($0) } }
}

extension VP8FrameAssembler.InsertOutcome {
    var frame: VP8Frame? { if case .completed(let frame) = self { frame } else { nil } }
}

/// SplitMix64, so shuffled scenarios repeat exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func configuration(slots: Int = 8, frameBytes: Int = 512 * 1024, packets: Int = 512) -> VP8FrameAssemblerConfiguration {
    var configuration = VP8FrameAssemblerConfiguration()
    configuration.slotCount = slots
    configuration.maximumFrameBytes = frameBytes
    configuration.maximumPacketsPerFrame = packets
    return configuration
}

/// RFC 7741 §4.4: whole frames from packets in any order, lost, repeated or late.
@Suite struct VP8FrameAssemblerTests {
    @Test func aFrameInOrderCompletesOnItsLastPacketWithItsBytesAndDescription() throws {
        let keyframe = VP8TestFrames.keyframe(width: 640, height: 360, size: 1000)
        let packets = packetize([keyframe])[0]
        #expect(packets.count == 4)  // 284 bytes of VP8 data per 300-byte packet
        var assembler = VP8FrameAssembler()
        let outcomes = packets.map { assembler.insert($0) }
        #expect(outcomes.dropLast() == [.stored, .stored, .stored])
        let frame = try #require(outcomes.last?.frame)
        #expect(frame.timestamp == 90_000 && frame.firstSequence == 1000 && frame.lastSequence == 1003 && frame.packetCount == 4)
        #expect(frame.pictureID == 3 && frame.pictureIDIs15Bit && frame.tl0PictureIndex == nil && frame.temporalLayer == nil)
        #expect(frame.isKeyframe && frame.width == 640 && frame.height == 360 && frame.byteCount == 1000 && !frame.nonReference)
        #expect(assembler.bytes(of: frame) == keyframe)
        #expect(assembler.heldFrameCount == 1)
        assembler.release(frame, decoded: true)
        #expect(assembler.heldFrameCount == 0)
        var expected = VP8FrameAssemblerStatistics()
        expected.packets = 4
        expected.framesCompleted = 1
        #expect(assembler.statistics == expected)
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func shuffledAndDuplicatedPacketsRebuildEveryFrameExactly(seed: UInt64) throws {
        var random = SplitMix64(state: seed)
        let frames = [VP8TestFrames.keyframe(size: 6000, seed: 0)]
            + (1..<12).map { VP8TestFrames.deltaFrame(size: Int.random(in: 3...4000, using: &random), seed: $0) }
        var packets = packetize(frames, firstSequence: 65_500).flatMap { $0 }
        let duplicates = packets.filter { _ in Int.random(in: 0..<5, using: &random) == 0 }
        packets += duplicates
        packets.shuffle(using: &random)
        var assembler = VP8FrameAssembler(configuration: configuration(slots: 16))
        var completed: [VP8Frame] = []
        for packet in packets {
            if let frame = assembler.insert(packet).frame { completed.append(frame) }
        }
        #expect(completed.count == frames.count)
        for frame in completed {
            let index = Int((frame.timestamp - 90_000) / 3000)
            #expect(assembler.bytes(of: frame) == frames[index], "frame \(index)")
            #expect(frame.isKeyframe == (index == 0) && frame.pictureID == 3 + UInt16(index))
        }
        #expect(Set(completed.map(\.timestamp)).count == frames.count)
        #expect(assembler.statistics.duplicates == duplicates.count)
        #expect(assembler.statistics.framesCompleted == frames.count && assembler.statistics.malformed == 0)
    }

    @Test func aLostPacketHoldsItsFrameWhileLaterFramesComplete() throws {
        let frames = [VP8TestFrames.keyframe(size: 900), VP8TestFrames.deltaFrame(size: 800, seed: 1),
                      VP8TestFrames.deltaFrame(size: 700, seed: 2)]
        let packets = packetize(frames)
        let lost = packets[1][1]
        var assembler = VP8FrameAssembler()
        var completed: [UInt32] = []
        for packet in packets.flatMap({ $0 }) where packet.sequence != lost.sequence {
            if let frame = assembler.insert(packet).frame { completed.append(frame.timestamp) }
        }
        #expect(completed == [90_000, 96_000])
        let repaired = try #require(assembler.insert(lost).frame)
        #expect(repaired.timestamp == 93_000 && assembler.bytes(of: repaired) == frames[1] && !repaired.isKeyframe)
        #expect(repaired.width == nil && repaired.height == nil)
    }

    @Test func framesAcrossTheSequenceWrapAndOutOfOrderArrivalAreGathered() throws {
        let frame = VP8TestFrames.deltaFrame(size: 1400, seed: 9)
        let packets = packetize([frame], firstSequence: 65_533)[0]
        #expect(packets.map(\.sequence) == [65_533, 65_534, 65_535, 0, 1])
        var assembler = VP8FrameAssembler()
        for index in [4, 2, 0, 3] { #expect(assembler.insert(packets[index]) == .stored) }
        let completed = try #require(assembler.insert(packets[1]).frame)
        #expect(completed.firstSequence == 65_533 && completed.lastSequence == 1 && completed.packetCount == 5)
        #expect(assembler.bytes(of: completed) == frame)
    }

    @Test func whenSlotsRunOutTheOldestUnfinishedFrameIsDropped() throws {
        let frames = (0..<3).map { VP8TestFrames.deltaFrame(size: 800, seed: $0) }
        let packets = packetize(frames)  // three packets each
        var assembler = VP8FrameAssembler(configuration: configuration(slots: 2))
        #expect(assembler.insert(packets[0][0]) == .stored)
        #expect(assembler.insert(packets[1][0]) == .stored)
        #expect(assembler.insert(packets[2][0]) == .stored)  // frame 0 is dropped for it
        #expect(assembler.statistics.framesDroppedIncomplete == 1)
        #expect(assembler.insert(packets[0][1]) == .late, "older than every frame in progress, and no room")
        let second = try #require([1, 2].compactMap { assembler.insert(packets[1][$0]).frame }.first)
        let third = try #require([1, 2].compactMap { assembler.insert(packets[2][$0]).frame }.first)
        #expect(assembler.insert(packets[0][2]) == .noFreeSlot, "both slots hold finished frames")
        #expect(assembler.bytes(of: second) == frames[1] && assembler.bytes(of: third) == frames[2])
        assembler.release(second, decoded: true)
        #expect(assembler.insert(packets[0][2]) == .late)
        #expect(assembler.statistics.late == 2 && assembler.statistics.packetsWithoutSlot == 1)
    }

    @Test func packetsUpToADecodedFrameAreLateAndOlderUnfinishedFramesAreDropped() throws {
        let frames = (0..<3).map { VP8TestFrames.deltaFrame(size: 800, seed: $0) }
        let packets = packetize(frames)
        var assembler = VP8FrameAssembler()
        let first = try #require(packets[0].compactMap { assembler.insert($0).frame }.first)
        _ = packets[1].dropLast().map { assembler.insert($0) }
        let third = try #require(packets[2].compactMap { assembler.insert($0).frame }.first)
        assembler.release(first, decoded: true)
        #expect(assembler.insert(packets[0][1]) == .late)
        assembler.release(third, decoded: true)
        #expect(assembler.statistics.framesDroppedIncomplete == 1)
        #expect(assembler.insert(packets[1][2]) == .late)
        #expect(assembler.heldFrameCount == 0)
    }

    /// A key frame whose packets are being retransmitted completes after the frames behind
    /// it; dropping those (not decoded) must not make the key frame's packets late.
    @Test func aDroppedFrameDoesNotMakeAnOlderKeyframeLate() throws {
        let frames = [VP8TestFrames.keyframe(size: 900), VP8TestFrames.deltaFrame(size: 500, seed: 1)]
        let packets = packetize(frames)
        var assembler = VP8FrameAssembler()
        _ = packets[0].dropFirst().map { assembler.insert($0) }
        let delta = try #require(packets[1].compactMap { assembler.insert($0).frame }.first)
        assembler.release(delta, decoded: false)
        let keyframe = try #require(assembler.insert(packets[0][0]).frame)
        #expect(keyframe.isKeyframe && assembler.bytes(of: keyframe) == frames[0])
    }

    @Test func malformedPacketsAreCountedAndDropped() throws {
        let start = encoded(VP8PayloadDescriptor(startOfPartition: true, pictureID: 1))
        let middle = encoded(VP8PayloadDescriptor(startOfPartition: false, pictureID: 1))
        var assembler = VP8FrameAssembler(configuration: configuration(packets: 16))
        func insert(_ sequence: UInt16, marker: Bool = false, _ payload: [UInt8]) -> VP8FrameAssembler.InsertOutcome {
            payload.withUnsafeBytes { assembler.insert(sequenceNumber: sequence, timestamp: 500, marker: marker, payload: $0) }
        }
        #expect(insert(1, [0x80]) == .malformed(.truncatedDescriptor(available: 1)))
        #expect(insert(2, start + [0x00, 0x00, 0x00, 0x9D, 0x01, 0x2B, 1, 0, 1, 0]) == .malformed(.invalidStartCode(0x9D, 0x01, 0x2B)))
        #expect(insert(10, start + VP8TestFrames.tag(keyframe: false, firstPartitionSize: 1)) == .stored)
        #expect(insert(12, marker: true, middle + [0xEE]) == .stored)
        #expect(insert(13, middle + [0xEE]) == .malformed(.packetOutsideFrame(sequence: 13)))
        #expect(insert(9, middle + [0xEE]) == .malformed(.packetOutsideFrame(sequence: 9)))
        #expect(insert(11, marker: true, middle + [0xEE]) == .malformed(.conflictingFrameBoundary(sequence: 11)))
        #expect(insert(8, start + VP8TestFrames.tag(keyframe: false, firstPartitionSize: 1)) == .malformed(.conflictingFrameBoundary(sequence: 8)))
        #expect(insert(11, middle + [0xDD]).frame?.byteCount == 5)
        #expect(assembler.statistics.malformed == 6 && assembler.statistics.framesCompleted == 1)
    }

    @Test func framesLargerThanASlotOrWiderThanThePacketTableAreRefused() {
        var assembler = VP8FrameAssembler(configuration: configuration(frameBytes: 1000, packets: 16))
        let packets = packetize([VP8TestFrames.deltaFrame(size: 2000, seed: 4)])[0]
        let outcomes = packets.map { assembler.insert($0) }
        #expect(outcomes.contains(.malformed(.frameTooLarge(bytes: 1000))) && !outcomes.contains { $0.frame != nil })
        let first = encoded(VP8PayloadDescriptor(startOfPartition: true)) + VP8TestFrames.tag(keyframe: false, firstPartitionSize: 1)
        let far = encoded(VP8PayloadDescriptor(startOfPartition: false)) + [1]
        first.withUnsafeBytes { #expect(assembler.insert(sequenceNumber: 100, timestamp: 7, marker: false, payload: $0) == .stored) }
        far.withUnsafeBytes {
            #expect(assembler.insert(sequenceNumber: 116, timestamp: 7, marker: true, payload: $0) == .malformed(.packetOutsideFrame(sequence: 116)))
            #expect(assembler.insert(sequenceNumber: 115, timestamp: 7, marker: true, payload: $0) == .stored)
        }
    }

    @Test func layerFieldsAndSevenBitPictureIDsAreReported() throws {
        let descriptor = VP8PayloadDescriptor(nonReference: true, startOfPartition: true, pictureID: 0x55, pictureIDIs15Bit: false,
                                              tl0PictureIndex: 9, temporalLayer: 2, layerSync: true)
        let payload = encoded(descriptor) + VP8TestFrames.deltaFrame(size: 20, seed: 3)
        var assembler = VP8FrameAssembler()
        let frame = try #require(payload.withUnsafeBytes {
            assembler.insert(sequenceNumber: 7, timestamp: 1, marker: true, payload: $0).frame
        })
        #expect(frame.pictureID == 0x55 && !frame.pictureIDIs15Bit && frame.tl0PictureIndex == 9 && frame.temporalLayer == 2)
        #expect(frame.layerSync && frame.nonReference && !frame.isKeyframe && frame.byteCount == 20)
    }
}
