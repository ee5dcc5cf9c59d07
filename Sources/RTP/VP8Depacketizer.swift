import Wire

/// What can be wrong with a received VP8 RTP payload, or with the frame it is meant to join.
/// Received bytes are untrusted: each of these is counted and the packet dropped, never a trap.
public enum VP8ReceiveError: Error, Sendable, Equatable, CustomStringConvertible {
    /// RFC 7741 §4.2: a field the descriptor's flags announce is missing (`available` bytes).
    case truncatedDescriptor(available: Int)
    /// A descriptor and no VP8 data behind it (libwebrtc drops these too).
    case emptyPayload
    /// RFC 7741 §4.3: the first packet of a frame is shorter than its payload header.
    case truncatedPayloadHeader(available: Int, needed: Int)
    /// RFC 6386 §9.1: a key frame without the start code 0x9d 0x01 0x2a.
    case invalidStartCode(UInt8, UInt8, UInt8)
    /// A key frame announcing a zero width or height, which no decoder accepts.
    case zeroDimension(width: UInt16, height: UInt16)
    /// A packet before the frame's first packet, after its marker packet, or further from the
    /// frame's other packets than a frame may span.
    case packetOutsideFrame(sequence: UInt16)
    /// A second first (S=1, PID=0) or last (marker) packet for one RTP timestamp.
    case conflictingFrameBoundary(sequence: UInt16)
    /// The frame outgrew the byte area sized at init.
    case frameTooLarge(bytes: Int)

    public var description: String {
        switch self {
        case .truncatedDescriptor(let available): "VP8 payload descriptor cut short after \(available) bytes"
        case .emptyPayload: "VP8 payload descriptor without VP8 data"
        case .truncatedPayloadHeader(let available, let needed): "VP8 payload header needs \(needed) bytes, has \(available)"
        case .invalidStartCode(let a, let b, let c): "VP8 key frame start code \(a) \(b) \(c), not 0x9d 0x01 0x2a"
        case .zeroDimension(let width, let height): "VP8 key frame of \(width)×\(height)"
        case .packetOutsideFrame(let sequence): "VP8 packet \(sequence) lies outside its frame"
        case .conflictingFrameBoundary(let sequence): "VP8 packet \(sequence) starts or ends a frame a second time"
        case .frameTooLarge(let bytes): "VP8 frame larger than \(bytes) bytes"
        }
    }
}

/// The VP8 payload header at the start of every frame's data (RFC 7741 §4.3): the frame tag
/// of RFC 6386 §9.1 and, for key frames, the start code and picture size of §9.2. It is read
/// from the first packet of a frame (S=1, PID=0) to know a key frame and its size before
/// the decoder sees it: a key frame resets the decoding chain, and a new size is the bridge
/// switching simulcast layers.
///
/// The frame tag is a little-endian 24-bit field, so P (bit 0) is the low bit of byte 0:
///
///      0 1 2 3 4 5 6 7
///     +-+-+-+-+-+-+-+-+
///     |Size0|H| VER |P|     P: 0 = key frame; VER: version; H: show frame
///     +-+-+-+-+-+-+-+-+
///     |     Size1     |     first partition size = Size0 + 8 × Size1 + 2048 × Size2
///     +-+-+-+-+-+-+-+-+
///     |     Size2     |
///     +-+-+-+-+-+-+-+-+     key frames only (RFC 6386 §9.2):
///     |  0x9d 0x01 0x2a  |  start code, 3 bytes
///     +-+-+-+-+-+-+-+-+-+
///     | width (16, LE)   |  low 14 bits the width, top 2 bits the horizontal scale
///     +-+-+-+-+-+-+-+-+-+
///     | height (16, LE)  |  low 14 bits the height, top 2 bits the vertical scale
///     +-+-+-+-+-+-+-+-+-+
///
/// The scale bits ask the application to upscale after decoding; the box ignores them.
public struct VP8PayloadHeader: Sendable, Equatable {
    /// Bytes of a delta frame's header (the frame tag) and of a key frame's.
    public static let deltaFrameLength = 3
    public static let keyframeLength = 10

    public var isKeyframe: Bool
    public var version: UInt8
    public var showFrame: Bool
    public var firstPartitionSize: Int
    /// Key frames only.
    public var width: UInt16?
    public var height: UInt16?

    public init(isKeyframe: Bool, version: UInt8 = 0, showFrame: Bool = true, firstPartitionSize: Int,
                width: UInt16? = nil, height: UInt16? = nil) {
        self.isKeyframe = isKeyframe
        self.version = version
        self.showFrame = showFrame
        self.firstPartitionSize = firstPartitionSize
        self.width = width
        self.height = height
    }

    /// Parses the header at the start of a frame's VP8 data (after the payload descriptor).
    /// The version is not checked: the decoder rejects what it cannot decode.
    public init(parsing data: UnsafeRawBufferPointer) throws(VP8ReceiveError) {
        guard data.count >= Self.deltaFrameLength else {
            throw .truncatedPayloadHeader(available: data.count, needed: Self.deltaFrameLength)
        }
        let tag = UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16
        isKeyframe = tag & 0x01 == 0
        version = UInt8((tag >> 1) & 0x07)
        showFrame = tag & 0x10 != 0
        firstPartitionSize = Int(tag >> 5)
        guard isKeyframe else { return }
        guard data.count >= Self.keyframeLength else {
            throw .truncatedPayloadHeader(available: data.count, needed: Self.keyframeLength)
        }
        guard data[3] == 0x9D, data[4] == 0x01, data[5] == 0x2A else { throw .invalidStartCode(data[3], data[4], data[5]) }
        let width = (UInt16(data[6]) | UInt16(data[7]) << 8) & 0x3FFF
        let height = (UInt16(data[8]) | UInt16(data[9]) << 8) & 0x3FFF
        guard width > 0, height > 0 else { throw .zeroDimension(width: width, height: height) }
        self.width = width
        self.height = height
    }
}

/// One received VP8 RTP payload taken apart: its descriptor, the VP8 data behind it (a
/// slice of the caller's buffer, valid as long as that buffer) and, on a frame's first
/// packet, the frame's payload header.
public struct VP8DepacketizedPayload {
    public var descriptor: VP8PayloadDescriptor
    /// The VP8 bytes after the descriptor; never empty.
    public var data: UnsafeRawBufferPointer
    /// Parsed on the first packet of a frame only (`startsFrame`).
    public var header: VP8PayloadHeader?

    /// RFC 7741 §4.4: a frame's first packet starts partition 0 (S=1, PID=0).
    public var startsFrame: Bool { descriptor.startOfPartition && descriptor.partitionIndex == 0 }
}

/// Takes received VP8 RTP payloads apart (RFC 7741 §4). Stateless: frames are put together by
/// `VP8FrameAssembler`, which calls this for every packet.
public enum VP8Depacketizer {
    /// `payload` is the RTP payload (after SRTP, the RTP header and padding), starting with
    /// the VP8 payload descriptor. Nothing is copied.
    public static func depacketize(_ payload: UnsafeRawBufferPointer) throws(VP8ReceiveError) -> VP8DepacketizedPayload {
        var reader = ByteReader(payload)
        let descriptor = try VP8PayloadDescriptor(parsing: &reader)
        guard reader.remaining > 0, let data = reader.readBytes(reader.remaining) else { throw .emptyPayload }
        var parsed = VP8DepacketizedPayload(descriptor: descriptor, data: data, header: nil)
        if parsed.startsFrame { parsed.header = try VP8PayloadHeader(parsing: data) }
        return parsed
    }
}
