import Wire

/// Generic NACK (RFC 4585 §6.2.1): sequence numbers a receiver is missing.
///
///     0                   1                   2                   3
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |            PID                |             BLP               |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
public struct TransportLayerNACK: Sendable, Equatable {
    public var sender: UInt32
    public var media: UInt32
    public var lostSequenceNumbers: [UInt16]

    public init(sender: UInt32, media: UInt32, lostSequenceNumbers: [UInt16]) {
        self.sender = sender
        self.media = media
        self.lostSequenceNumbers = lostSequenceNumbers
    }

    static func parse(sender: UInt32, media: UInt32, _ reader: inout ByteReader) -> TransportLayerNACK? {
        var lost: [UInt16] = []
        while reader.remaining >= 4 {
            let pid = reader.readUInt16()!, blp = reader.readUInt16()!
            lost.append(pid)
            for bit in 0..<16 where blp >> bit & 1 == 1 { lost.append(pid &+ UInt16(bit + 1)) }
        }
        return lost.isEmpty ? nil : TransportLayerNACK(sender: sender, media: media, lostSequenceNumbers: lost)
    }

    public func write(into writer: inout ByteWriter) {
        RTCPPacket.write(.transportFeedback, count: 1, into: &writer) { writer in
            writer.write(sender)
            writer.write(media)
            var remaining = lostSequenceNumbers.sorted { SequenceNumber.isNewer($1, than: $0) }
            // Each FCI is 4 bytes; what no longer fits is left for the next request.
            while let pid = remaining.first, writer.remaining >= 4 {
                remaining.removeFirst()
                var blp: UInt16 = 0
                remaining.removeAll { sequence in
                    let distance = SequenceNumber.distance(from: pid, to: sequence)
                    guard distance >= 1 && distance <= 16 else { return false }
                    blp |= 1 << (distance - 1)
                    return true
                }
                writer.write(pid)
                writer.write(blp)
            }
        }
    }
}

public enum PayloadFeedback {
    /// PLI (RFC 4585 §6.3.1): the receiver lost picture data and needs a keyframe.
    public static func writePictureLossIndication(sender: UInt32, media: UInt32, into writer: inout ByteWriter) {
        RTCPPacket.write(.payloadFeedback, count: 1, into: &writer) { writer in
            writer.write(sender)
            writer.write(media)
        }
    }

    /// FIR (RFC 5104 §4.3.1).
    public static func writeFullIntraRequest(sender: UInt32, media: UInt32, sequence: UInt8, into writer: inout ByteWriter) {
        RTCPPacket.write(.payloadFeedback, count: 4, into: &writer) { writer in
            writer.write(sender)
            writer.write(UInt32(0))
            writer.write(media)
            writer.write(UInt32(sequence) << 24)
        }
    }
}

/// REMB (draft-alvestrand-rmcat-remb): the receiver's estimate of the bitrate it can take.
public struct ReceiverEstimatedMaximumBitrate: Sendable, Equatable {
    public var sender: UInt32
    public var bitrate: UInt64
    public var ssrcs: [UInt32]

    static func parse(sender: UInt32, _ reader: inout ByteReader) -> ReceiverEstimatedMaximumBitrate? {
        guard let identifier = reader.readUInt32(), identifier == 0x5245_4D42,  // "REMB"
              let count = reader.readUInt8(), let encoded = reader.readUInt24() else { return nil }
        let exponent = encoded >> 18, mantissa = UInt64(encoded & 0x3FFFF)
        var ssrcs: [UInt32] = []
        for _ in 0..<count {
            guard let ssrc = reader.readUInt32() else { return nil }
            ssrcs.append(ssrc)
        }
        return ReceiverEstimatedMaximumBitrate(sender: sender, bitrate: exponent > 45 ? .max : mantissa << exponent, ssrcs: ssrcs)
    }
}

/// Transport-wide congestion control feedback
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): which transport sequence
/// numbers arrived, and when, in 250 µs steps from a 64 ms reference time.
public struct TransportCCFeedback: Sendable, Equatable {
    public struct Packet: Sendable, Equatable {
        public var sequence: UInt16
        /// Arrival relative to the previous packet in 250 µs units; nil when lost.
        public var delta: Int32?
    }

    public var sender: UInt32
    public var media: UInt32
    public var baseSequence: UInt16
    /// Reference time, in multiples of 64 ms.
    public var referenceTime: Int32
    public var feedbackCount: UInt8
    public var packets: [Packet]

    static func parse(sender: UInt32, media: UInt32, _ reader: inout ByteReader) -> TransportCCFeedback? {
        guard let base = reader.readUInt16(), let statusCount = reader.readUInt16(), let reference = reader.readUInt24(),
              let feedbackCount = reader.readUInt8() else { return nil }
        var symbols: [UInt8] = []
        while symbols.count < Int(statusCount) {
            guard let chunk = reader.readUInt16() else { return nil }
            if chunk & 0x8000 == 0 {  // run length: symbol (2 bits) repeated
                let symbol = UInt8(chunk >> 13 & 0x3), length = Int(chunk & 0x1FFF)
                symbols += [UInt8](repeating: symbol, count: length)
            } else if chunk & 0x4000 == 0 {  // 14 one-bit symbols
                symbols += (0..<14).map { UInt8(chunk >> (13 - $0) & 1) }
            } else {  // 7 two-bit symbols
                symbols += (0..<7).map { UInt8(chunk >> (12 - 2 * $0) & 3) }
            }
        }
        var packets: [Packet] = []
        for (index, symbol) in symbols.prefix(Int(statusCount)).enumerated() {
            let sequence = base &+ UInt16(truncatingIfNeeded: index)
            switch symbol {
            case 0: packets.append(Packet(sequence: sequence, delta: nil))
            case 1:
                guard let small = reader.readUInt8() else { return nil }
                packets.append(Packet(sequence: sequence, delta: Int32(small)))
            case 2:
                guard let large = reader.readUInt16() else { return nil }
                packets.append(Packet(sequence: sequence, delta: Int32(Int16(bitPattern: large))))
            default: return nil
            }
        }
        let signedReference = Int32(bitPattern: reference << 8) >> 8
        return TransportCCFeedback(sender: sender, media: media, baseSequence: base, referenceTime: signedReference,
                                   feedbackCount: feedbackCount, packets: packets)
    }
}
