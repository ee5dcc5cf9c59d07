import Wire

/// The VP8 payload descriptor (RFC 7741 §4.2).
///
///          0 1 2 3 4 5 6 7
///         +-+-+-+-+-+-+-+-+
///         |X|R|N|S|R| PID | (REQUIRED)
///         +-+-+-+-+-+-+-+-+
///    X:   |I|L|T|K| RSV   | (OPTIONAL)
///         +-+-+-+-+-+-+-+-+
///    I:   |M| PictureID   | (OPTIONAL)
///         +-+-+-+-+-+-+-+-+
///         |   PictureID   |
///         +-+-+-+-+-+-+-+-+
///    L:   |   TL0PICIDX   | (OPTIONAL)
///         +-+-+-+-+-+-+-+-+
///    T/K: |TID|Y| KEYIDX  | (OPTIONAL)
///         +-+-+-+-+-+-+-+-+
public struct VP8PayloadDescriptor: Sendable, Equatable {
    /// N: the frame is not used as a reference and may be dropped.
    public var nonReference: Bool
    /// S: this packet starts a VP8 partition.
    public var startOfPartition: Bool
    public var partitionIndex: UInt8
    /// 7- or 15-bit PictureID; the box always sends 15 bits, as Jitsi expects.
    public var pictureID: UInt16?
    public var pictureIDIs15Bit: Bool
    public var tl0PictureIndex: UInt8?
    public var temporalLayer: UInt8?
    /// Y: layer sync (the frame depends only on TL0 frames).
    public var layerSync: Bool
    public var keyIndex: UInt8?

    public init(nonReference: Bool = false, startOfPartition: Bool, partitionIndex: UInt8 = 0, pictureID: UInt16? = nil,
                pictureIDIs15Bit: Bool = true, tl0PictureIndex: UInt8? = nil, temporalLayer: UInt8? = nil,
                layerSync: Bool = false, keyIndex: UInt8? = nil) {
        self.nonReference = nonReference
        self.startOfPartition = startOfPartition
        self.partitionIndex = partitionIndex
        self.pictureID = pictureID
        self.pictureIDIs15Bit = pictureIDIs15Bit
        self.tl0PictureIndex = tl0PictureIndex
        self.temporalLayer = temporalLayer
        self.layerSync = layerSync
        self.keyIndex = keyIndex
    }

    var hasExtension: Bool { pictureID != nil || tl0PictureIndex != nil || temporalLayer != nil || keyIndex != nil }

    /// Encoded length in bytes.
    public var length: Int {
        guard hasExtension else { return 1 }
        var length = 2
        if pictureID != nil { length += pictureIDIs15Bit ? 2 : 1 }
        if tl0PictureIndex != nil { length += 1 }
        if temporalLayer != nil || keyIndex != nil { length += 1 }
        return length
    }

    public func write(into writer: inout ByteWriter) {
        var first: UInt8 = partitionIndex & 0x0F
        if hasExtension { first |= 0x80 }
        if nonReference { first |= 0x20 }
        if startOfPartition { first |= 0x10 }
        writer.write(first)
        guard hasExtension else { return }
        var flags: UInt8 = 0
        if pictureID != nil { flags |= 0x80 }
        if tl0PictureIndex != nil { flags |= 0x40 }
        if temporalLayer != nil { flags |= 0x20 }
        if keyIndex != nil { flags |= 0x10 }
        writer.write(flags)
        if let pictureID {
            if pictureIDIs15Bit { writer.write(0x8000 | (pictureID & 0x7FFF)) } else { writer.write(UInt8(pictureID & 0x7F)) }
        }
        if let tl0PictureIndex { writer.write(tl0PictureIndex) }
        if temporalLayer != nil || keyIndex != nil {
            writer.write(((temporalLayer ?? 0) & 0x03) << 6 | (layerSync ? 0x20 : 0) | ((keyIndex ?? 0) & 0x1F))
        }
    }

    /// Parses the descriptor at the start of a VP8 RTP payload (layout above). The reader is
    /// left just after it, so the reader's offset is the descriptor's length (which can be one
    /// more than `length`: X=1 with no optional field is legal). Every field the flags announce
    /// must be present; the R bits are ignored, as RFC 7741 §4.2 asks of receivers.
    public init(parsing reader: inout ByteReader) throws(VP8ReceiveError) {
        let available = reader.remaining
        guard let first = reader.readUInt8() else { throw .truncatedDescriptor(available: available) }
        self.init(nonReference: first & 0x20 != 0, startOfPartition: first & 0x10 != 0, partitionIndex: first & 0x0F)
        guard first & 0x80 != 0 else { return }
        guard let flags = reader.readUInt8() else { throw .truncatedDescriptor(available: available) }
        if flags & 0x80 != 0 {
            // M=1: a 15-bit PictureID over two bytes; M=0: 7 bits in one.
            guard let high = reader.readUInt8() else { throw .truncatedDescriptor(available: available) }
            if high & 0x80 != 0 {
                guard let low = reader.readUInt8() else { throw .truncatedDescriptor(available: available) }
                pictureID = UInt16(high & 0x7F) << 8 | UInt16(low)
            } else {
                pictureID = UInt16(high)
                pictureIDIs15Bit = false
            }
        }
        if flags & 0x40 != 0 {
            guard let index = reader.readUInt8() else { throw .truncatedDescriptor(available: available) }
            tl0PictureIndex = index
        }
        // T and K share one byte: present when either is set.
        if flags & 0x30 != 0 {
            guard let byte = reader.readUInt8() else { throw .truncatedDescriptor(available: available) }
            if flags & 0x20 != 0 {
                temporalLayer = byte >> 6
                layerSync = byte & 0x20 != 0
            }
            if flags & 0x10 != 0 { keyIndex = byte & 0x1F }
        }
    }

    /// Parses the descriptor at the start of a VP8 RTP payload; nil when truncated.
    public static func parse(_ reader: inout ByteReader) -> VP8PayloadDescriptor? {
        try? VP8PayloadDescriptor(parsing: &reader)
    }
}
