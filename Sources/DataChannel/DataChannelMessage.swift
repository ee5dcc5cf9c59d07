import Wire

/// SCTP payload protocol identifiers of WebRTC data channels (RFC 8831 §8, IANA), as JVB
/// knows them (`datachannel/protocol/DataChannelProtocolConstants.java`: 50, 51, 53).
public enum PayloadProtocol: UInt32, Sendable {
    case dcep = 50
    case string = 51
    case binary = 53
    /// An empty message: SCTP cannot carry zero bytes, so one byte is sent and ignored.
    case emptyString = 56
    case emptyBinary = 57
}

/// The Data Channel Establishment Protocol (RFC 8832): the opener sends DATA_CHANNEL_OPEN
/// on the stream it chose, the other side answers DATA_CHANNEL_ACK on the same stream.
///
/// DATA_CHANNEL_OPEN (RFC 8832 §5.1):
/// ```
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Message Type |  Channel Type |            Priority           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Reliability Parameter                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Label Length          |       Protocol Length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// \                 Label (UTF-8), then Protocol (UTF-8)          \
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// DATA_CHANNEL_ACK (§5.2) is the single byte 0x02.
public enum DataChannelMessage: Sendable, Equatable {
    case open(DataChannelOpen)
    case ack

    static let openType: UInt8 = 0x03
    static let ackType: UInt8 = 0x02

    /// Reads a DCEP message (PPID 50).
    public init(parsing bytes: UnsafeRawBufferPointer) throws(DataChannelError) {
        var reader = ByteReader(bytes)
        guard let type = reader.readUInt8() else { throw .truncated }
        switch type {
        case Self.ackType:
            self = .ack
        case Self.openType:
            guard let channelType = reader.readUInt8(), let priority = reader.readUInt16(), let reliability = reader.readUInt32(),
                  let labelLength = reader.readUInt16(), let protocolLength = reader.readUInt16() else { throw .truncated }
            guard let kind = DataChannelOpen.ChannelType(rawValue: channelType) else { throw .unknownChannelType(channelType) }
            guard let label = reader.readBytes(Int(labelLength)), let name = reader.readBytes(Int(protocolLength)) else { throw .truncated }
            guard let labelText = String(validating: label, as: UTF8.self), let protocolText = String(validating: name, as: UTF8.self) else {
                throw .invalidText
            }
            self = .open(DataChannelOpen(channelType: kind, priority: priority, reliabilityParameter: reliability,
                                         label: labelText, protocol: protocolText))
        default:
            throw .unknownMessageType(type)
        }
    }

    /// The message's bytes.
    public var bytes: [UInt8] {
        switch self {
        case .ack:
            return [Self.ackType]
        case .open(let open):
            let label = Array(open.label.utf8), name = Array(open.protocol.utf8)
            var bytes = [UInt8](repeating: 0, count: 12 + label.count + name.count)
            bytes.withUnsafeMutableBytes { buffer in
                var writer = ByteWriter(buffer)
                writer.write(Self.openType)
                writer.write(open.channelType.rawValue)
                writer.write(open.priority)
                writer.write(open.reliabilityParameter)
                writer.write(UInt16(truncatingIfNeeded: label.count))
                writer.write(UInt16(truncatingIfNeeded: name.count))
                label.withUnsafeBytes { writer.write($0) }
                name.withUnsafeBytes { writer.write($0) }
            }
            return bytes
        }
    }
}

/// The fields of DATA_CHANNEL_OPEN.
public struct DataChannelOpen: Sendable, Equatable {
    /// RFC 8832 §5.1: reliable or partially reliable, ordered (0x0_) or not (0x8_).
    public enum ChannelType: UInt8, Sendable {
        case reliable = 0x00
        case reliableUnordered = 0x80
        case partialReliableRetransmit = 0x01
        case partialReliableRetransmitUnordered = 0x81
        case partialReliableTimed = 0x02
        case partialReliableTimedUnordered = 0x82
    }

    /// RFC 8831 §6.4: 256 is "normal".
    public static let normalPriority: UInt16 = 256

    public var channelType: ChannelType
    public var priority: UInt16
    public var reliabilityParameter: UInt32
    public var label: String
    public var `protocol`: String

    public init(channelType: ChannelType = .reliable, priority: UInt16 = normalPriority, reliabilityParameter: UInt32 = 0,
                label: String, protocol: String) {
        self.channelType = channelType
        self.priority = priority
        self.reliabilityParameter = reliabilityParameter
        self.label = label
        self.protocol = `protocol`
    }

    /// Labels and protocols are limited by their 16-bit lengths.
    public var isEncodable: Bool { label.utf8.count <= 0xFFFF && self.protocol.utf8.count <= 0xFFFF }
}

public enum DataChannelError: Error, Sendable, Equatable, CustomStringConvertible {
    case truncated
    case unknownMessageType(UInt8)
    case unknownChannelType(UInt8)
    case invalidText

    public var description: String {
        switch self {
        case .truncated: "DCEP message cut short"
        case .unknownMessageType(let type): "DCEP message type \(type) unknown"
        case .unknownChannelType(let type): "DCEP channel type \(type) unknown"
        case .invalidText: "DCEP label or protocol is not UTF-8"
        }
    }
}
