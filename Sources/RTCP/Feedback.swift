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
