import Wire

/// What the box sent on the bundle, by transport-wide sequence number: when each packet left
/// and how big it was on the wire, so that transport-cc feedback can be joined with it
/// (libwebrtc `TransportFeedbackAdapter`/`SendTimeHistory`, JVB's `TransportCcEngine`).
/// Every packet is recorded just before it is handed to the socket — audio, video, and each
/// retransmission with a number of its own — so no feedback can come back before its packet
/// is known (a sending thread descheduled between the send and the record let Chromium's
/// feedback overtake it, twice in a 10-s call; libwebrtc also adds each packet before it
/// sends it). The audio and the video thread take numbers from one counter and send on their
/// own, so the wire order may differ from the numbering by a packet or two until one pacer
/// sends everything.
///
/// A fixed ring (no allocation per packet), indexed by the unwrapped sequence number: an entry
/// older than the ring is forgotten, and feedback for it counts as unmatched.
public struct TransportSendHistory: Sendable {
    public struct Entry: Sendable, Equatable {
        /// Monotonic nanoseconds at the hand-over to the socket.
        public var sentAt: UInt64
        /// Octets on the wire (SRTP included).
        public var size: Int
        /// Reported by a feedback already (received): a later report of it is a duplicate.
        public var acknowledged: Bool
    }

    /// Packets kept: several seconds of 2.5 Mbit/s video and audio, beyond any feedback delay.
    public static let capacity = 8192

    private var entries: [Entry]
    private var sequences: [Int64]
    private var unwrapper = SequenceUnwrapper()
    public private(set) var recorded = 0

    public init() {
        entries = [Entry](repeating: Entry(sentAt: 0, size: 0, acknowledged: false), count: Self.capacity)
        sequences = [Int64](repeating: .min, count: Self.capacity)
    }

    /// Records a packet about to be handed to the socket.
    public mutating func record(sequence: UInt16, size: Int, at now: UInt64) {
        let unwrapped = unwrapper.unwrap(sequence)
        let slot = Self.slot(unwrapped)
        sequences[slot] = unwrapped
        entries[slot] = Entry(sentAt: now, size: size, acknowledged: false)
        recorded += 1
    }

    /// The entry of a reported sequence number, unwrapped next to the newest sent.
    func entry(_ sequence: UInt16) -> (unwrapped: Int64, entry: Entry)? {
        let unwrapped = unwrapper.peek(sequence)
        let slot = Self.slot(unwrapped)
        guard sequences[slot] == unwrapped else { return nil }
        return (unwrapped, entries[slot])
    }

    mutating func acknowledge(_ unwrapped: Int64) {
        let slot = Self.slot(unwrapped)
        if sequences[slot] == unwrapped { entries[slot].acknowledged = true }
    }

    private static func slot(_ unwrapped: Int64) -> Int { Int(unwrapped & Int64(capacity - 1)) }
}
