import Wire

/// Where a frame sits in the temporal-layer pattern, when the encoder uses layers.
public struct VP8LayerInfo: Sendable, Equatable {
    public var temporalLayer: UInt8
    /// The frame depends only on base-layer (TL0) frames.
    public var layerSync: Bool

    public init(temporalLayer: UInt8, layerSync: Bool) {
        self.temporalLayer = temporalLayer
        self.layerSync = layerSync
    }
}

/// Splits encoded VP8 frames into RTP packets (RFC 7741) of at most `maxPacketSize` bytes.
///
/// Every packet carries a 15-bit PictureID (Jitsi's bridge relies on it); the first packet
/// of a frame has S=1, the last the RTP marker. Payloads are split into near-equal parts,
/// as libwebrtc does, so no tiny tail packet follows a full one. Packets are written into
/// the caller's buffer one at a time: nothing is allocated.
public struct VP8Packetizer {
    public let ssrc: UInt32
    public let payloadType: UInt8
    public let extensionIDs: RTPHeaderExtensionIDs
    /// Largest RTP packet (before SRTP adds its tag).
    public let maxPacketSize: Int
    public private(set) var sequenceNumber: UInt16
    public private(set) var pictureID: UInt16
    private var tl0PictureIndex: UInt8

    public init(ssrc: UInt32, payloadType: UInt8, extensionIDs: RTPHeaderExtensionIDs, maxPacketSize: Int,
                initialSequenceNumber: UInt16, initialPictureID: UInt16) {
        self.ssrc = ssrc
        self.payloadType = payloadType
        self.extensionIDs = extensionIDs
        self.maxPacketSize = maxPacketSize
        self.sequenceNumber = initialSequenceNumber
        self.pictureID = initialPictureID & 0x7FFF
        self.tl0PictureIndex = 0
    }

    /// Packetizes one frame. For each packet, `extensions` supplies that packet's header
    /// extension values (e.g. the next transport-wide sequence number) and `emit` receives
    /// the packet, which stays valid only until `emit` returns. Returns the packet count.
    @discardableResult
    public mutating func packetize(frame: UnsafeRawBufferPointer, timestamp: UInt32, nonReference: Bool = false,
                                   layer: VP8LayerInfo? = nil, into buffer: UnsafeMutableRawBufferPointer,
                                   extensions: () -> RTPExtensionValues,
                                   emit: (_ packet: UnsafeMutableRawBufferPointer, _ sequenceNumber: UInt16) throws -> Void) rethrows -> Int {
        if layer?.temporalLayer == 0 { tl0PictureIndex &+= 1 }
        var descriptor = VP8PayloadDescriptor(nonReference: nonReference, startOfPartition: true, pictureID: pictureID,
                                              tl0PictureIndex: layer.map { _ in tl0PictureIndex },
                                              temporalLayer: layer?.temporalLayer, layerSync: layer?.layerSync ?? false)
        pictureID = (pictureID + 1) & 0x7FFF
        // Extension values are taken once per packet (a transport-wide sequence number must
        // not be skipped); the first packet's also size the header.
        let firstValues = extensions()
        let overhead = 12 + Self.extensionLength(firstValues, ids: extensionIDs) + descriptor.length
        let capacity = min(maxPacketSize, buffer.count) - overhead
        precondition(capacity > 0, "maxPacketSize too small for the RTP and VP8 headers")
        let count = max(1, (frame.count + capacity - 1) / capacity)
        let baseSize = frame.count / count
        let larger = frame.count % count  // the first `larger` packets carry one byte more
        var offset = 0
        for index in 0..<count {
            let size = baseSize + (index < larger ? 1 : 0)
            let values = index == 0 ? firstValues : extensions()
            var writer = ByteWriter(buffer)
            let hasExtensions = RTPHeaderExtensions.hasAny(values, ids: extensionIDs)
            RTPHeader.write(marker: index == count - 1, payloadType: payloadType, sequenceNumber: sequenceNumber,
                            timestamp: timestamp, ssrc: ssrc, hasExtension: hasExtensions, into: &writer)
            if hasExtensions { RTPHeaderExtensions.write(values, ids: extensionIDs, into: &writer) }
            descriptor.startOfPartition = index == 0
            descriptor.write(into: &writer)
            writer.write(UnsafeRawBufferPointer(rebasing: frame[offset..<(offset + size)]))
            offset += size
            let sequence = sequenceNumber
            sequenceNumber &+= 1
            try emit(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<writer.offset]), sequence)
        }
        return count
    }

    /// Bytes the extension block takes for these values (0 when none is written).
    static func extensionLength(_ values: RTPExtensionValues, ids: RTPHeaderExtensionIDs) -> Int {
        var elements = 0
        if values.audioLevel != nil && ids.audioLevel != nil { elements += 2 }
        if values.transportWideSequence != nil && ids.transportWideSequence != nil { elements += 3 }
        if values.absSendTime != nil && ids.absSendTime != nil { elements += 4 }
        return elements == 0 ? 0 : 4 + (elements + 3) / 4 * 4
    }
}

/// Writes Opus RTP packets (RFC 7587): one 20 ms frame per packet, 48 kHz clock.
///
/// The header goes in first and the encoder then writes the payload straight behind it in
/// the same buffer, so the audio path copies nothing between encoder and wire.
public struct OpusPacketizer {
    public let ssrc: UInt32
    public let payloadType: UInt8
    public let extensionIDs: RTPHeaderExtensionIDs
    public private(set) var sequenceNumber: UInt16

    public init(ssrc: UInt32, payloadType: UInt8, extensionIDs: RTPHeaderExtensionIDs, initialSequenceNumber: UInt16) {
        self.ssrc = ssrc
        self.payloadType = payloadType
        self.extensionIDs = extensionIDs
        self.sequenceNumber = initialSequenceNumber
    }

    /// Bytes the header takes with these extension values: where the payload goes.
    public func headerLength(extensions: RTPExtensionValues) -> Int {
        12 + VP8Packetizer.extensionLength(extensions, ids: extensionIDs)
    }

    /// Writes the header for the next packet and returns where the payload starts.
    /// `marker` is set on the first packet after a silence (DTX) gap (RFC 7587 §4.1).
    public mutating func writeHeader(into buffer: UnsafeMutableRawBufferPointer, timestamp: UInt32, marker: Bool = false,
                                     extensions: RTPExtensionValues) -> Int {
        var writer = ByteWriter(buffer)
        let hasExtensions = RTPHeaderExtensions.hasAny(extensions, ids: extensionIDs)
        RTPHeader.write(marker: marker, payloadType: payloadType, sequenceNumber: sequenceNumber, timestamp: timestamp,
                        ssrc: ssrc, hasExtension: hasExtensions, into: &writer)
        if hasExtensions { RTPHeaderExtensions.write(extensions, ids: extensionIDs, into: &writer) }
        sequenceNumber &+= 1
        return writer.offset
    }
}
