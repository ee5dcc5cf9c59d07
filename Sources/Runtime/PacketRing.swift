import Synchronization

/// A single-producer, single-consumer ring of datagrams with a small fixed-size record each,
/// all storage made at start: how the network thread hands received media to a real-time
/// thread without a lock, a heap allocation or a system call per packet.
///
/// One thread only pushes, one other thread only pops. The producer publishes a slot with a
/// release store of `tail`; the consumer sees it with an acquire load, and hands the slot
/// back the same way through `head` (the classic Lamport queue). A full ring refuses the
/// packet (counted by the caller): a real-time consumer that fell that far behind would
/// play it too late anyway.
public final class PacketRing<Record: BitwiseCopyable>: @unchecked Sendable {
    public let capacity: Int
    public let maximumLength: Int
    private let records: UnsafeMutablePointer<Record>
    private let lengths: UnsafeMutablePointer<Int>
    private let bytes: UnsafeMutableRawPointer
    /// Next slot to pop (written by the consumer only).
    private let head = Atomic<Int>(0)
    /// Next slot to fill (written by the producer only).
    private let tail = Atomic<Int>(0)

    /// `capacity` slots of up to `maximumLength` bytes each.
    public init(capacity: Int, maximumLength: Int = 1500) {
        precondition(capacity > 0 && maximumLength > 0)
        self.capacity = capacity
        self.maximumLength = maximumLength
        records = .allocate(capacity: capacity)
        lengths = .allocate(capacity: capacity)
        lengths.initialize(repeating: 0, count: capacity)
        bytes = .allocate(byteCount: capacity * maximumLength, alignment: 16)
    }

    deinit {
        records.deallocate()
        lengths.deallocate()
        bytes.deallocate()
    }

    /// Producer side: copies `data` (at most `maximumLength` bytes) with `record`; false when
    /// the ring is full or the datagram too long.
    @discardableResult
    public func push(_ record: Record, _ data: UnsafeRawBufferPointer) -> Bool {
        guard data.count <= maximumLength else { return false }
        let next = tail.load(ordering: .relaxed)
        guard next - head.load(ordering: .acquiring) < capacity else { return false }
        let slot = next % capacity
        (records + slot).initialize(to: record)
        lengths[slot] = data.count
        if let base = data.baseAddress { (bytes + slot * maximumLength).copyMemory(from: base, byteCount: data.count) }
        tail.store(next + 1, ordering: .releasing)
        return true
    }

    /// Consumer side: the oldest entry, lent to `body` until it returns; false when empty.
    @discardableResult
    public func pop(_ body: (Record, UnsafeRawBufferPointer) -> Void) -> Bool {
        let current = head.load(ordering: .relaxed)
        guard current < tail.load(ordering: .acquiring) else { return false }
        let slot = current % capacity
        body(records[slot], UnsafeRawBufferPointer(start: bytes + slot * maximumLength, count: lengths[slot]))
        head.store(current + 1, ordering: .releasing)
        return true
    }

    /// Entries waiting (a snapshot; exact only on the consumer's thread).
    public var count: Int { tail.load(ordering: .acquiring) - head.load(ordering: .acquiring) }
}
