/// RFC 3550 / RFC 1982 serial-number arithmetic for 16-bit RTP sequence numbers.
public enum SequenceNumber {
    /// True when `a` comes after `b`, allowing for wrap-around.
    public static func isNewer(_ a: UInt16, than b: UInt16) -> Bool {
        a != b && a &- b < 0x8000
    }

    /// The signed distance from `b` to `a` (positive when `a` is newer).
    public static func distance(from b: UInt16, to a: UInt16) -> Int {
        Int(Int16(bitPattern: a &- b))
    }
}

/// Extends 16-bit sequence numbers to 64 bits across wrap-arounds (RFC 3550 App. A.1),
/// so loss and order can be counted over long calls.
public struct SequenceUnwrapper: Sendable {
    private var last: Int64?

    public init() {}

    public mutating func unwrap(_ value: UInt16) -> Int64 {
        let unwrapped = peek(value)
        if unwrapped > last ?? .min { last = unwrapped }
        return unwrapped
    }

    /// Where `value` falls next to the newest number seen, without recording it (a report
    /// about numbers already unwrapped).
    public func peek(_ value: UInt16) -> Int64 {
        guard let last else { return Int64(value) }
        return last + Int64(SequenceNumber.distance(from: UInt16(truncatingIfNeeded: last), to: value))
    }
}
