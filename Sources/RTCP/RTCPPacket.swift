import Wire

/// One RTCP packet of a compound packet (RFC 3550 §6, RFC 4585 §6, RFC 5104 §4.3.1).
///
///     0                   1                   2                   3
///     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |V=2|P| RC/FMT  |      PT       |             length            |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                  SSRC of packet sender                        |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
public enum RTCPPacket: Sendable, Equatable {
    case senderReport(SenderReport)
    case receiverReport(ReceiverReport)
    case sourceDescription([SourceDescriptionChunk])
    case goodbye(ssrcs: [UInt32], reason: String?)
    case nack(TransportLayerNACK)
    case transportCC(TransportCCFeedback)
    case pictureLossIndication(sender: UInt32, media: UInt32)
    case fullIntraRequest(sender: UInt32, entries: [FIREntry])
    case remb(ReceiverEstimatedMaximumBitrate)
    /// A well-formed packet of a type the box does not act on.
    case other(packetType: UInt8, format: UInt8)

    /// One request of a Full Intra Request (RFC 5104 §4.3.1.1).
    public struct FIREntry: Sendable, Equatable {
        public var ssrc: UInt32
        public var sequence: UInt8
        public init(ssrc: UInt32, sequence: UInt8) { self.ssrc = ssrc; self.sequence = sequence }
    }

    public enum PacketType: UInt8 {
        case senderReport = 200, receiverReport = 201, sourceDescription = 202, goodbye = 203
        case transportFeedback = 205, payloadFeedback = 206
    }

    /// Parses a compound packet. Malformed input fails as a whole (nil): RFC 3550 §A.2
    /// validity checks, every length within bounds.
    public static func parseCompound(_ bytes: UnsafeRawBufferPointer) -> [RTCPPacket]? {
        var packets: [RTCPPacket] = []
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 4, bytes[offset] >> 6 == 2 else { return nil }
            let length = (Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3]) + 1) * 4
            guard offset + length <= bytes.count else { return nil }
            var end = offset + length
            if bytes[offset] & 0x20 != 0 {  // padding, only in the last packet
                guard end == bytes.count, bytes[end - 1] > 0, Int(bytes[end - 1]) <= length - 4 else { return nil }
                end -= Int(bytes[end - 1])
            }
            guard let packet = parse(UnsafeRawBufferPointer(rebasing: bytes[offset..<end])) else { return nil }
            packets.append(packet)
            offset += length
        }
        return packets.isEmpty ? nil : packets
    }

    /// One packet whose header has already been checked by `parseCompound`.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> RTCPPacket? {
        let count = Int(bytes[0] & 0x1F)
        var reader = ByteReader(bytes, offset: 4)
        switch PacketType(rawValue: bytes[1]) {
        case .senderReport: return SenderReport.parse(count: count, &reader).map(RTCPPacket.senderReport)
        case .receiverReport: return ReceiverReport.parse(count: count, &reader).map(RTCPPacket.receiverReport)
        case .sourceDescription: return SourceDescriptionChunk.parse(count: count, &reader).map(RTCPPacket.sourceDescription)
        case .goodbye:
            var ssrcs: [UInt32] = []
            for _ in 0..<count {
                guard let ssrc = reader.readUInt32() else { return nil }
                ssrcs.append(ssrc)
            }
            var reason: String?
            if let length = reader.readUInt8() {
                guard let text = reader.readBytes(Int(length)) else { return nil }
                reason = String(decoding: text, as: UTF8.self)
            }
            return .goodbye(ssrcs: ssrcs, reason: reason)
        case .transportFeedback:
            guard let sender = reader.readUInt32(), let media = reader.readUInt32() else { return nil }
            switch count {
            case 1: return TransportLayerNACK.parse(sender: sender, media: media, &reader).map(RTCPPacket.nack)
            case 15: return TransportCCFeedback.parse(sender: sender, media: media, &reader).map(RTCPPacket.transportCC)
            default: return .other(packetType: bytes[1], format: UInt8(count))
            }
        case .payloadFeedback:
            guard let sender = reader.readUInt32(), let media = reader.readUInt32() else { return nil }
            switch count {
            case 1: return .pictureLossIndication(sender: sender, media: media)
            case 4:
                var entries: [FIREntry] = []
                while reader.remaining >= 8 {
                    let ssrc = reader.readUInt32()!, sequence = reader.readUInt8()!
                    _ = reader.skip(3)
                    entries.append(FIREntry(ssrc: ssrc, sequence: sequence))
                }
                return .fullIntraRequest(sender: sender, entries: entries)
            case 15:
                return ReceiverEstimatedMaximumBitrate.parse(sender: sender, &reader).map(RTCPPacket.remb) ?? .other(packetType: 206, format: 15)
            default: return .other(packetType: bytes[1], format: UInt8(count))
            }
        case nil:
            return .other(packetType: bytes[1], format: UInt8(count))
        }
    }

    /// Writes the common header; `body` writes the rest and the length is filled in after.
    static func write(_ type: PacketType, count: Int, into writer: inout ByteWriter, body: (inout ByteWriter) -> Void) {
        let start = writer.offset
        writer.write(UInt8(0x80 | (count & 0x1F)))
        writer.write(type.rawValue)
        writer.write(UInt16(0))
        body(&writer)
        writer.padToWord(from: start)
        writer.patch(UInt16((writer.offset - start) / 4 - 1), at: start + 2)
    }
}
