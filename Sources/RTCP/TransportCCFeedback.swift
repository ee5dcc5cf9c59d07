import Wire

/// Transport-wide congestion control feedback
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): which transport sequence
/// numbers arrived, and when, in 250 µs steps from a 64 ms reference time.
///
///    base sequence number (16) | packet status count (16)
///    reference time (24, 64 ms units) | feedback packet count (8)
///    packet chunks (16 bits each) | receive deltas (8 or 16 bits each) | padding
public struct TransportCCFeedback: Sendable, Equatable {
    public struct Packet: Sendable, Equatable {
        public var sequence: UInt16
        /// Arrival relative to the previous received packet (the first: to the reference
        /// time) in 250 µs units; nil when lost.
        public var delta: Int32?

        public init(sequence: UInt16, delta: Int32?) {
            self.sequence = sequence
            self.delta = delta
        }
    }

    public var sender: UInt32
    public var media: UInt32
    public var baseSequence: UInt16
    /// Reference time, in multiples of 64 ms.
    public var referenceTime: Int32
    public var feedbackCount: UInt8
    public var packets: [Packet]

    /// One receive-delta tick, in microseconds.
    public static let deltaTickMicroseconds: UInt64 = 250
    /// One reference-time tick, in microseconds.
    public static let referenceTickMicroseconds: UInt64 = 64_000

    public init(sender: UInt32, media: UInt32, baseSequence: UInt16, referenceTime: Int32, feedbackCount: UInt8, packets: [Packet]) {
        self.sender = sender
        self.media = media
        self.baseSequence = baseSequence
        self.referenceTime = referenceTime
        self.feedbackCount = feedbackCount
        self.packets = packets
    }

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

    /// Writes the packet. Each delta must fit 16 signed bits and `packets` must be consecutive
    /// from `baseSequence` (at most 65 535 of them); what does not is a programming error.
    public func write(into writer: inout ByteWriter) {
        precondition(packets.count <= Int(UInt16.max) && packets.allSatisfy { $0.delta.map { Int16(exactly: $0) != nil } ?? true })
        Self.write(sender: sender, media: media, baseSequence: baseSequence, referenceTime: referenceTime, feedbackCount: feedbackCount,
                   count: packets.count, symbol: { index in
                       packets[index].delta.map { Self.symbol(for: Int16($0)) } ?? 0
                   }, deltas: { write in
                       for delta in packets.lazy.compactMap(\.delta) { write(Int16(delta)) }
                   }, into: &writer)
    }

    /// The status symbol of a packet: 0 not received, 1 received with a one-byte delta,
    /// 2 received with a two-byte delta.
    static func symbol(for delta: Int16) -> UInt8 { delta >= 0 && delta <= 0xFF ? 1 : 2 }

    /// Writes a feedback packet from `count` status symbols and the received packets' deltas,
    /// shared by `write` and the generator (which keeps its own buffers). The chunks: a run of
    /// one symbol as run length (up to 8191), else 14 one-bit symbols when none needs two
    /// bytes, else 7 two-bit symbols. Padding as libwebrtc writes it (the P bit, and the last
    /// octet counting the padding), so a browser's parser and ours read the same length.
    static func write(sender: UInt32, media: UInt32, baseSequence: UInt16, referenceTime: Int32, feedbackCount: UInt8, count: Int,
                      symbol: (Int) -> UInt8, deltas: ((Int16) -> Void) -> Void, into writer: inout ByteWriter) {
        let start = writer.offset
        writer.write(UInt8(0x80 | 15))
        writer.write(RTCPPacket.PacketType.transportFeedback.rawValue)
        writer.write(UInt16(0))
        writer.write(sender)
        writer.write(media)
        writer.write(baseSequence)
        writer.write(UInt16(count))
        writer.write24(UInt32(bitPattern: referenceTime) & 0xFF_FFFF)
        writer.write(feedbackCount)
        var index = 0
        while index < count {
            let first = symbol(index)
            var run = 1
            while index + run < count, run < 0x1FFF, symbol(index + run) == first { run += 1 }
            if run >= 7 {
                writer.write(UInt16(first) << 13 | UInt16(run))
                index += run
                continue
            }
            let fourteen = min(14, count - index)
            if (0..<fourteen).allSatisfy({ symbol(index + $0) < 2 }) {
                var chunk: UInt16 = 0x8000
                for offset in 0..<fourteen { chunk |= UInt16(symbol(index + offset)) << (13 - offset) }
                writer.write(chunk)
                index += 14
            } else {
                var chunk: UInt16 = 0xC000
                for offset in 0..<min(7, count - index) { chunk |= UInt16(symbol(index + offset)) << (12 - 2 * offset) }
                writer.write(chunk)
                index += 7
            }
        }
        deltas { delta in
            if Self.symbol(for: delta) == 1 { writer.write(UInt8(delta)) } else { writer.write(UInt16(bitPattern: delta)) }
        }
        let padding = (4 - (writer.offset - start) % 4) % 4
        if padding > 0 {
            for _ in 1..<padding { writer.write(UInt8(0)) }
            writer.write(UInt8(padding))
            writer.buffer[start] |= 0x20
        }
        writer.patch(UInt16((writer.offset - start) / 4 - 1), at: start + 2)
    }
}
