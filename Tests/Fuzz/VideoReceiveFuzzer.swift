// libFuzzer harness: the video receive path after SRTP — VP8 payload descriptors and payload
// headers, frame assembly from packets in any order, and the frame buffer's decodability and
// key frame decisions on a manual clock. Built by Tests/Fuzz/build.sh (no libvpx: frames are
// checked byte for byte against the packets that made them, not decoded).
//
// Input: one configuration byte (slot count, packet table size, frame size limit), then records
//   [sequence delta: i8][timestamp step: u8][flags: u8][length: u8][RTP payload: length bytes]
// flags bit 0: marker; bit 1: a new frame (timestamp += step × 90); bit 2 (without bit 1): an
// older frame (timestamp −= step × 90); bits 3–5: clock advance in 10 ms; bit 6: the sequence
// delta is ×512 (jumps and stream restarts).

/// What the harness knows independently of the assembler: the data after the descriptor of
/// every packet the assembler stored, per timestamp and sequence number.
private struct StoredPackets {
    var data: [UInt32: [UInt16: [UInt8]]] = [:]

    mutating func record(_ payload: UnsafeRawBufferPointer, timestamp: UInt32, sequence: UInt16) {
        var reader = ByteReader(payload)
        guard let _ = try? VP8PayloadDescriptor(parsing: &reader), let rest = reader.readBytes(reader.remaining) else {
            preconditionFailure("a stored packet must parse")
        }
        data[timestamp, default: [:]][sequence] = Array(rest)
    }

    /// The frame's bytes as its packets' data in sequence order; forgets them.
    mutating func take(_ frame: VP8Frame) -> [UInt8] {
        var bytes: [UInt8] = []
        for step in 0..<frame.packetCount {
            guard let part = data[frame.timestamp]?[frame.firstSequence &+ UInt16(step)] else {
                preconditionFailure("completed frame with a packet never stored")
            }
            bytes += part
        }
        data[frame.timestamp] = nil
        return bytes
    }
}

/// Follows the buffer's actions: releases frames, checks the decoding order.
private struct VideoReceiveChecker {
    var lastDecoded: VP8Frame?
    var needsKeyframe = true
    var freezes = 0
    var framesInserted = 0

    mutating func handle(_ action: VideoFrameBufferAction, assembler: inout VP8FrameAssembler) {
        switch action {
        case .decode(let frame):
            precondition(!needsKeyframe || frame.isKeyframe, "a chain must start at a key frame")
            if frame.isKeyframe { precondition(frame.width.map { $0 > 0 } == true && frame.height.map { $0 > 0 } == true) }
            if let last = lastDecoded { precondition(Int32(bitPattern: frame.timestamp &- last.timestamp) > 0, "decoded out of order") }
            lastDecoded = frame
            needsKeyframe = false
            let count = assembler.withFrameBytes(frame) { $0.count }
            precondition(count == frame.byteCount)
            assembler.release(frame, decoded: true)
        case .drop(let frame):
            assembler.release(frame, decoded: false)
        case .requestKeyframe:
            break
        }
    }

    /// After each call into the buffer: a break (a freeze) means the next decoded frame must
    /// be a key frame. Nothing is decoded after a break within the same call.
    mutating func noteFreezes(of buffer: borrowing VideoFrameBuffer) {
        if buffer.statistics.freezes != freezes {
            freezes = buffer.statistics.freezes
            needsKeyframe = true
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVideoReceive(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard size > 0 else { return 0 }
    var configuration = VP8FrameAssemblerConfiguration()
    configuration.slotCount = 3 + Int(bytes[0] & 3)  // small, so eviction and full slots are reachable
    configuration.maximumPacketsPerFrame = 8 << Int((bytes[0] >> 2) & 3)
    configuration.maximumFrameBytes = bytes[0] & 0x10 != 0 ? 1024 : 16384
    var bufferConfiguration = VideoFrameBufferConfiguration()
    bufferConfiguration.maximumWaitingFrames = configuration.slotCount - 2  // below the slot count, as documented
    var assembler = VP8FrameAssembler(configuration: configuration)
    var buffer = VideoFrameBuffer(configuration: bufferConfiguration)
    var stored = StoredPackets()
    var checker = VideoReceiveChecker()
    var sequence: UInt16 = 0xFFF0, timestamp: UInt32 = 0xFFFF_0000, now: UInt64 = 0
    var completions = 0
    var offset = 1

    while offset + 4 <= size {
        let delta = Int(Int8(bitPattern: bytes[offset])), step = UInt32(bytes[offset + 1]), flags = bytes[offset + 2]
        let length = Int(bytes[offset + 3])
        offset += 4
        guard offset + length <= size else { break }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
        offset += length
        sequence &+= UInt16(truncatingIfNeeded: delta * (flags & 0x40 != 0 ? 512 : 1))
        if flags & 0x02 != 0 { timestamp &+= step * 90 } else if flags & 0x04 != 0 { timestamp &-= step * 90 }
        now += UInt64((flags >> 3) & 7) * 10_000_000
        buffer.poll(now: now) { checker.handle($0, assembler: &assembler) }
        checker.noteFreezes(of: buffer)

        let outcome = assembler.insert(sequenceNumber: sequence, timestamp: timestamp, marker: flags & 1 != 0, payload: payload)
        switch outcome {
        case .stored:
            stored.record(payload, timestamp: timestamp, sequence: sequence)
        case .completed(let frame):
            stored.record(payload, timestamp: timestamp, sequence: sequence)
            completions += 1
            let expected = stored.take(frame)
            precondition(expected.count == frame.byteCount, "byte count is not the sum of the packets' data")
            assembler.withFrameBytes(frame) { precondition($0.elementsEqual(expected), "frame bytes differ from its packets") }
            precondition(frame.timestamp == timestamp && frame.packetCount <= configuration.maximumPacketsPerFrame)
            checker.framesInserted += 1
            buffer.insert(frame, now: now) { checker.handle($0, assembler: &assembler) }
            checker.noteFreezes(of: buffer)
        case .malformed, .duplicate, .late:
            break
        case .noFreeSlot:
            preconditionFailure("the frame buffer holds fewer frames than there are slots")
        }
        precondition(assembler.heldFrameCount == buffer.waitingFrameCount, "a frame was neither decoded nor dropped")
    }
    now += 2_000_000_000
    buffer.poll(now: now) { checker.handle($0, assembler: &assembler) }

    let statistics = assembler.statistics, decisions = buffer.statistics
    precondition(statistics.framesCompleted == completions)
    precondition(statistics.duplicates + statistics.late + statistics.malformed + statistics.framesCompleted <= statistics.packets)
    precondition(decisions.decoded + decisions.dropped + buffer.waitingFrameCount == checker.framesInserted)
    return 0
}
