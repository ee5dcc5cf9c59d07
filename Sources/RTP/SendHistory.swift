/// The last second or so of sent video packets, kept for retransmission when a receiver
/// sends a NACK (RFC 4585) — in plain RTP form, because SRTP protects the wire copy in
/// place and an RTX resend (RFC 4588) needs the original payload.
///
/// All memory is taken at start: `capacity` slots of `slotSize` bytes, indexed by the
/// sequence number modulo the capacity (sequence numbers of one stream are consecutive).
public final class SendHistory {
    public let capacity: Int
    public let slotSize: Int
    /// Packets older than this are not resent: the receiver has given up on them.
    public let maximumAgeNanoseconds: UInt64
    private let storage: UnsafeMutableRawPointer
    private var lengths: [Int]
    private var sequenceNumbers: [UInt16]
    private var sentAt: [UInt64]

    /// Sizes the history for `duration` seconds at `bitrateKbps` with packets of at most `slotSize` bytes.
    public convenience init(bitrateKbps: Int, slotSize: Int, seconds: Double = 1) {
        let packetsPerSecond = Double(bitrateKbps) * 1000 / 8 / Double(slotSize / 2)  // assume half-full packets
        var capacity = 256
        while Double(capacity) < packetsPerSecond * seconds { capacity *= 2 }
        self.init(capacity: capacity, slotSize: slotSize, maximumAgeNanoseconds: UInt64(seconds * 1e9))
    }

    public init(capacity: Int, slotSize: Int, maximumAgeNanoseconds: UInt64) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0, "capacity must be a power of two")
        self.capacity = capacity
        self.slotSize = slotSize
        self.maximumAgeNanoseconds = maximumAgeNanoseconds
        storage = .allocate(byteCount: capacity * slotSize, alignment: 16)
        lengths = Array(repeating: 0, count: capacity)
        sequenceNumbers = Array(repeating: 0, count: capacity)
        sentAt = Array(repeating: 0, count: capacity)
    }

    deinit { storage.deallocate() }

    /// Copies a plain RTP packet into the slot of its sequence number.
    public func store(_ packet: UnsafeRawBufferPointer, sequenceNumber: UInt16, sentAt time: UInt64) {
        precondition(packet.count <= slotSize, "packet larger than a history slot")
        let slot = Int(sequenceNumber) & (capacity - 1)
        (storage + slot * slotSize).copyMemory(from: packet.baseAddress!, byteCount: packet.count)
        lengths[slot] = packet.count
        sequenceNumbers[slot] = sequenceNumber
        sentAt[slot] = time
    }

    /// Calls `body` with the stored packet, if it is still held and not older than the
    /// maximum age at `now`. The bytes are valid only inside `body`.
    public func withPacket<T>(sequenceNumber: UInt16, now: UInt64, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T? {
        let slot = Int(sequenceNumber) & (capacity - 1)
        guard lengths[slot] > 0, sequenceNumbers[slot] == sequenceNumber,
              now >= sentAt[slot], now - sentAt[slot] <= maximumAgeNanoseconds else { return nil }
        return try body(UnsafeRawBufferPointer(start: storage + slot * slotSize, count: lengths[slot]))
    }
}
