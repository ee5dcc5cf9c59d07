/// Cuts the byte stream of a TURN connection over TCP or TLS into its messages (RFC 8656
/// §12.5): STUN messages (first two bits 00, 20 octets of header and the length they state)
/// and ChannelData (first two bits 01, 4 octets of header and the data, padded to a multiple
/// of four on a stream). Anything else means the stream is out of step and cannot be read on.
///
/// Each message comes out as it would arrive in a datagram: a STUN message whole, ChannelData
/// as its header and data without the padding (``TURN/channelData(_:)`` reads both alike).
public struct TURNStreamFramer: Sendable {
    public enum Failure: Error, Equatable, Sendable {
        /// A first octet that starts neither kind of message.
        case outOfStep(UInt8)
    }

    /// Bytes received but not yet a whole message.
    private var pending: [UInt8] = []
    private var start = 0

    public init() {}

    /// What `bytes` completes: whole messages in order, as new arrays (for the allocation
    /// before a call; the call's receive path uses ``append(_:each:)``).
    public mutating func append(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        try append(bytes) { frames.append(Array($0)) }
        return frames
    }

    /// Hands each message `bytes` completes to `each`, in order, as a view into the framer's
    /// own buffer (valid during the call; nothing is allocated once the buffer has grown).
    /// After a failure the stream is lost.
    public mutating func append(_ bytes: UnsafeRawBufferPointer, each: (UnsafeRawBufferPointer) -> Void) throws(Failure) {
        pending.append(contentsOf: bytes)
        while pending.count - start >= 4 {
            let first = pending[start]
            let length = Int(pending[start + 2]) << 8 | Int(pending[start + 3])
            let total: Int
            switch first >> 6 {
            case 0: total = 20 + length
            case 1: total = 4 + (length + 3) / 4 * 4
            default: throw .outOfStep(first)
            }
            guard pending.count - start >= total else { break }
            let message = start..<(start + (first >> 6 == 0 ? total : 4 + length))
            pending.withUnsafeBytes { each(UnsafeRawBufferPointer(rebasing: $0[message])) }
            start += total
        }
        // Keep the buffer small: drop what was handed out once it is most of it.
        if start > 0 && start * 2 >= pending.count {
            pending.removeFirst(start)
            start = 0
        }
    }

    /// The padding a ChannelData message of `count` data octets needs on a stream.
    public static func padding(forChannelData count: Int) -> Int { (4 - count % 4) % 4 }
}
