import Wire

/// The fixed RTP header (RFC 3550 §5.1).
///
///     0                   1                   2                   3
///     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |                           timestamp                           |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
///    |           synchronization source (SSRC) identifier            |
///    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
///    |            contributing source (CSRC) identifiers             |
///    |                             ....                              |
///    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
public struct RTPHeader: Sendable, Equatable {
    public var marker: Bool
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    public var timestamp: UInt32
    public var ssrc: UInt32
    public var csrcs: [UInt32] = []

    public init(marker: Bool = false, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
    }

    /// Writes the 12-byte header; a sender never has CSRCs. With `hasExtension` the X bit is
    /// set and the extension block must follow.
    public static func write(marker: Bool, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
                             hasExtension: Bool, into writer: inout ByteWriter) {
        writer.write(UInt8(0x80 | (hasExtension ? 0x10 : 0)))
        writer.write(UInt8(marker ? 0x80 : 0) | (payloadType & 0x7F))
        writer.write(sequenceNumber)
        writer.write(timestamp)
        writer.write(ssrc)
    }
}

/// A parsed RTP packet: header, extension elements and where the payload is. Used on
/// what the box receives, so every field is checked against the packet's length.
public struct RTPPacketView {
    public var header: RTPHeader
    /// The raw extension block after the 0xBEDE/0x100x profile word, if any.
    public var extensionProfile: UInt16?
    public var extensionData: UnsafeRawBufferPointer?
    public var payload: UnsafeRawBufferPointer
    public var paddingLength: Int

    /// Parses `bytes`; nil when it is not a well-formed RTP packet.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        var reader = ByteReader(bytes)
        guard let first = reader.readUInt8(), first >> 6 == 2, let second = reader.readUInt8(),
              let sequence = reader.readUInt16(), let timestamp = reader.readUInt32(), let ssrc = reader.readUInt32() else { return nil }
        header = RTPHeader(marker: second & 0x80 != 0, payloadType: second & 0x7F, sequenceNumber: sequence, timestamp: timestamp, ssrc: ssrc)
        for _ in 0..<Int(first & 0x0F) {
            guard let csrc = reader.readUInt32() else { return nil }
            header.csrcs.append(csrc)
        }
        if first & 0x10 != 0 {
            guard let profile = reader.readUInt16(), let words = reader.readUInt16(),
                  let data = reader.readBytes(Int(words) * 4) else { return nil }
            extensionProfile = profile
            extensionData = data
        }
        paddingLength = 0
        var end = bytes.count
        if first & 0x20 != 0 {
            guard end > reader.offset, bytes[end - 1] > 0, Int(bytes[end - 1]) <= end - reader.offset else { return nil }
            paddingLength = Int(bytes[end - 1])
            end -= paddingLength
        }
        payload = UnsafeRawBufferPointer(rebasing: bytes[reader.offset..<end])
    }

    /// The one-byte-header extension elements (RFC 8285 §4.2) as (id, data) pairs.
    public var extensionElements: [(id: UInt8, data: UnsafeRawBufferPointer)] {
        guard extensionProfile == 0xBEDE, let data = extensionData else { return [] }
        return RTPHeaderExtensions.parseOneByte(data) ?? []
    }

    /// The data of one one-byte-header extension element (RFC 8285 §4.2), found without
    /// allocating (the receive path reads the audio level of every packet this way); nil when
    /// it is absent or the block is malformed before it.
    public func oneByteExtension(id wanted: UInt8) -> UnsafeRawBufferPointer? {
        guard extensionProfile == 0xBEDE, let data = extensionData else { return nil }
        var offset = 0
        while offset < data.count {
            let byte = data[offset]
            offset += 1
            if byte == 0 { continue }  // padding
            let id = byte >> 4, length = Int(byte & 0x0F) + 1
            if id == 15 || offset + length > data.count { return nil }
            if id == wanted { return UnsafeRawBufferPointer(rebasing: data[offset..<offset + length]) }
            offset += length
        }
        return nil
    }
}
