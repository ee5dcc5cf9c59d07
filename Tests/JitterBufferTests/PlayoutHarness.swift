import Foundation
@testable import JitterBuffer

let ms: UInt64 = 1_000_000

/// A decoder whose output says what it decoded: every sample of a packet is its sequence
/// number, +0.25 when rebuilt through FEC; concealment is −1. It logs every call.
struct FakeDecoder: AudioFrameDecoder {
    enum Call: Equatable {
        case decode(UInt16, fec: Bool, samples: Int)
        case conceal(Int)
        case reset
    }

    var calls: [Call] = []
    var failing: Set<UInt16> = []
    /// With a tone: each packet decodes to its 20 ms of a continuous sine (amplitude 0.3)
    /// instead of its sequence number as a constant.
    var tone: (frequency: Double, firstSequence: UInt16)?

    init(tone frequency: Double? = nil, firstSequence: UInt16 = 0) {
        tone = frequency.map { ($0, firstSequence) }
    }

    static func sequence(of packet: UnsafeRawBufferPointer) -> UInt16 {
        UInt16(packet[0]) << 8 | UInt16(packet[1])
    }

    mutating func decode(_ packet: UnsafeRawBufferPointer, fec: Bool, into output: UnsafeMutableBufferPointer<Float>,
                         samples: Int) -> Int? {
        let sequence = Self.sequence(of: packet)
        calls.append(.decode(sequence, fec: fec, samples: samples))
        if failing.contains(sequence) { return nil }
        if let tone {
            let first = Double(Int(sequence &- tone.firstSequence) * samples)
            let step = 2 * Double.pi * tone.frequency / 48_000
            for index in 0..<samples {
                let phase: Double = step * (first + Double(index))
                output[index] = Float(0.3 * sin(phase))
            }
            return samples
        }
        for index in 0..<samples { output[index] = Float(sequence) + (fec ? 0.25 : 0) }
        return samples
    }

    mutating func conceal(into output: UnsafeMutableBufferPointer<Float>, samples: Int) -> Int? {
        calls.append(.conceal(samples))
        for index in 0..<samples { output[index] = -1 }
        return samples
    }

    mutating func reset() { calls.append(.reset) }
}

/// One scripted packet: 20 ms of Opus by default.
struct ScriptedPacket {
    var sequence: UInt16
    var timestamp: UInt32
    var arrival: UInt64
    var duration = 960
    var level: UInt8? = 30
    var marker = false
    var payloadBytes = 40
}

struct RenderedBlock {
    var time: UInt64
    var kind: BlockKind
    var first: Float
    var last: Float
}

/// Packets every 20 ms from `start`, sequence and timestamp counting from the given values.
func regularPackets(count: Int, firstSequence: UInt16 = 0, firstTimestamp: UInt32 = 0,
                    start: UInt64 = 0, jitter: (Int) -> UInt64 = { _ in 0 }) -> [ScriptedPacket] {
    (0..<count).map { index in
        ScriptedPacket(sequence: firstSequence &+ UInt16(truncatingIfNeeded: index),
                       timestamp: firstTimestamp &+ UInt32(index * 960),
                       arrival: start + UInt64(index) * 20 * ms + jitter(index))
    }
}

/// Drives a playout on a manual clock: every 10 ms, the packets that arrived by then are
/// inserted (in arrival order), then one block is rendered at that time.
struct PlayoutHarness: ~Copyable {
    var playout: AudioPlayout<FakeDecoder>
    var outcomes: [UInt16: [InsertOutcome]] = [:]
    var blocks: [RenderedBlock] = []
    /// Every sample played, when asked for (`recordsSamples`).
    var samples: [Float] = []
    var recordsSamples = false
    private var clock: UInt64 = 0
    private var pending: [ScriptedPacket] = []
    private let output = UnsafeMutableBufferPointer<Float>.allocate(capacity: 480)

    init(configuration: JitterBufferConfiguration = JitterBufferConfiguration(), decoder: FakeDecoder = FakeDecoder()) {
        playout = AudioPlayout(decoder: decoder, configuration: configuration)
    }

    deinit { output.deallocate() }

    mutating func schedule(_ packets: [ScriptedPacket]) {
        pending.append(contentsOf: packets)
        pending.sort { $0.arrival < $1.arrival }
    }

    mutating func insert(_ packet: ScriptedPacket) -> InsertOutcome {
        var bytes = [UInt8](repeating: 0xA5, count: packet.payloadBytes)
        if bytes.count >= 2 {
            bytes[0] = UInt8(packet.sequence >> 8)
            bytes[1] = UInt8(packet.sequence & 0xFF)
        }
        let outcome = bytes.withUnsafeBytes {
            playout.insert(sequence: packet.sequence, timestamp: packet.timestamp, duration: packet.duration,
                           audioLevel: packet.level, marker: packet.marker, payload: $0, arrival: packet.arrival)
        }
        outcomes[packet.sequence, default: []].append(outcome)
        return outcome
    }

    /// Runs the clock up to `end` (exclusive), 10 ms per block.
    mutating func run(until end: UInt64) {
        while clock < end {
            while let next = pending.first, next.arrival <= clock {
                pending.removeFirst()
                _ = insert(next)
            }
            let kind = playout.render(into: output, now: clock)
            blocks.append(RenderedBlock(time: clock, kind: kind, first: output[0], last: output[479]))
            if recordsSamples { samples.append(contentsOf: output) }
            clock += 10 * ms
        }
    }

    /// The sample values of the played blocks after buffering, one per block.
    var playedValues: [Float] {
        blocks.drop { $0.kind == .buffering }.map(\.first)
    }
}

/// SplitMix64: a small seeded generator so random scenarios repeat exactly.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension JitterBufferConfiguration {
    /// The defaults without drops (only beyond 10 s too long), for tests that follow every
    /// packet through the playout: the fake decoder's sample values can be quiet.
    static var withoutDrops: JitterBufferConfiguration {
        var configuration = JitterBufferConfiguration()
        configuration.accelerateMarginMilliseconds = 10_000
        return configuration
    }
}
