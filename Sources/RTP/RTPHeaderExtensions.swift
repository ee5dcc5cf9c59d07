import Wire

/// The header-extension ids negotiated for a stream (`a=extmap` / Jingle `rtp-hdrext`).
/// Ids are configuration, not constants: they come from the signalling.
public struct RTPHeaderExtensionIDs: Sendable, Equatable {
    /// `urn:ietf:params:rtp-hdrext:ssrc-audio-level` (RFC 6464).
    public var audioLevel: UInt8?
    /// `http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time`.
    public var absSendTime: UInt8?
    /// `http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01`.
    public var transportWideSequence: UInt8?

    public init(audioLevel: UInt8? = nil, absSendTime: UInt8? = nil, transportWideSequence: UInt8? = nil) {
        self.audioLevel = audioLevel
        self.absSendTime = absSendTime
        self.transportWideSequence = transportWideSequence
    }

    /// The ids Jicofo offers by default (audio level 1, abs-send-time 3, transport-cc 5).
    public static let jitsiDefaults = RTPHeaderExtensionIDs(audioLevel: 1, absSendTime: 3, transportWideSequence: 5)
    public static let none = RTPHeaderExtensionIDs()
}

/// Values for one packet's extensions; only those with a negotiated id are written.
public struct RTPExtensionValues: Sendable, Equatable {
    public var audioLevel: AudioLevel?
    public var absSendTime: UInt32?
    public var transportWideSequence: UInt16?

    public init(audioLevel: AudioLevel? = nil, absSendTime: UInt32? = nil, transportWideSequence: UInt16? = nil) {
        self.audioLevel = audioLevel
        self.absSendTime = absSendTime
        self.transportWideSequence = transportWideSequence
    }
}

/// RFC 8285 §4.2 one-byte header extensions.
///
///     0                   1                   2                   3
///     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |       0xBE    |    0xDE       |           length=3            |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |  ID   | L=0   |     data      |  ID   |  L=1  |   data...
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///          ...data   |    0 (pad)    |    0 (pad)    |  ID   | L=3   |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                          data                                 |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
public enum RTPHeaderExtensions {
    /// True when `values` has anything to write under `ids`.
    public static func hasAny(_ values: RTPExtensionValues, ids: RTPHeaderExtensionIDs) -> Bool {
        (values.audioLevel != nil && ids.audioLevel != nil) || (values.absSendTime != nil && ids.absSendTime != nil)
            || (values.transportWideSequence != nil && ids.transportWideSequence != nil)
    }

    /// Writes the extension block (profile, length, elements, padding).
    public static func write(_ values: RTPExtensionValues, ids: RTPHeaderExtensionIDs, into writer: inout ByteWriter) {
        writer.write(UInt16(0xBEDE))
        let lengthPosition = writer.offset
        writer.write(UInt16(0))
        let start = writer.offset
        if let id = ids.audioLevel, let level = values.audioLevel {
            writer.write(id << 4 | 0)
            writer.write((level.voiceActivity ? 0x80 : 0) | (level.level & 0x7F))
        }
        if let id = ids.transportWideSequence, let sequence = values.transportWideSequence {
            writer.write(id << 4 | 1)
            writer.write(sequence)
        }
        if let id = ids.absSendTime, let time = values.absSendTime {
            writer.write(id << 4 | 2)
            writer.write24(time)
        }
        writer.padToWord(from: start)
        writer.patch(UInt16((writer.offset - start) / 4), at: lengthPosition)
    }

    /// Writes the send-time elements of a packet built earlier, when it really leaves: the
    /// 24-bit abs-send-time (6.18 fixed-point seconds, what a receiver's REMB estimator compares
    /// with the arrival) and the transport-wide sequence number (a retransmission gets one of
    /// its own, so the numbers follow the order on the wire). The header is read once; a number
    /// is taken from `nextTransportSequence` only when the packet has the element (each number
    /// given must leave, or the receiver's feedback reports it lost). Returns that number.
    public static func stampSendTime(in packet: UnsafeMutableRawBufferPointer, absSendTimeID: UInt8?, absSendTime: UInt32,
                                     transportSequenceID: UInt8?, nextTransportSequence: () -> UInt16) -> UInt16? {
        guard let base = packet.baseAddress, let view = RTPPacketView(UnsafeRawBufferPointer(packet)) else { return nil }
        /// Where the element `id` of `octets` starts in the packet.
        func offset(_ id: UInt8?, octets: Int) -> Int? {
            guard let id, let field = view.oneByteExtension(id: id), field.count == octets, let start = field.baseAddress else { return nil }
            return UnsafeRawPointer(start) - UnsafeRawPointer(base)
        }
        func write(_ value: UInt32, octets: Int, at offset: Int) {
            for index in 0..<octets { packet[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * (octets - 1 - index))) }
        }
        if let at = offset(absSendTimeID, octets: 3) { write(absSendTime, octets: 3, at: at) }
        guard let at = offset(transportSequenceID, octets: 2) else { return nil }
        let sequence = nextTransportSequence()
        write(UInt32(sequence), octets: 2, at: at)
        return sequence
    }

    /// The elements of a one-byte-header block; nil when an element overruns the block.
    public static func parseOneByte(_ data: UnsafeRawBufferPointer) -> [(id: UInt8, data: UnsafeRawBufferPointer)]? {
        var elements: [(id: UInt8, data: UnsafeRawBufferPointer)] = []
        var reader = ByteReader(data)
        while let byte = reader.readUInt8() {
            if byte == 0 { continue }  // padding
            let id = byte >> 4
            if id == 15 { break }  // reserved: stop processing (RFC 8285 §4.2)
            guard let element = reader.readBytes(Int(byte & 0x0F) + 1) else { return nil }
            elements.append((id, element))
        }
        return elements
    }
}
