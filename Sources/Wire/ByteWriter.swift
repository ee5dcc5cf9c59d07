/// Writes big-endian fields into memory the caller owns; never allocates.
///
/// Writing past the end is a programmer error (the caller sizes packet buffers from the
/// MTU), so it traps rather than failing quietly.
public struct ByteWriter {
    public let buffer: UnsafeMutableRawBufferPointer
    public private(set) var offset: Int

    public init(_ buffer: UnsafeMutableRawBufferPointer, offset: Int = 0) {
        self.buffer = buffer
        self.offset = offset
    }

    public var remaining: Int { buffer.count - offset }

    public mutating func write(_ value: UInt8) {
        precondition(offset < buffer.count, "packet buffer overflow")
        buffer[offset] = value
        offset += 1
    }

    public mutating func write(_ value: UInt16) {
        write(UInt8(truncatingIfNeeded: value >> 8))
        write(UInt8(truncatingIfNeeded: value))
    }

    /// The low 24 bits, big-endian.
    public mutating func write24(_ value: UInt32) {
        write(UInt8(truncatingIfNeeded: value >> 16))
        write(UInt16(truncatingIfNeeded: value))
    }

    public mutating func write(_ value: UInt32) {
        write(UInt16(truncatingIfNeeded: value >> 16))
        write(UInt16(truncatingIfNeeded: value))
    }

    public mutating func write(_ value: UInt64) {
        write(UInt32(truncatingIfNeeded: value >> 32))
        write(UInt32(truncatingIfNeeded: value))
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= remaining, "packet buffer overflow")
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        (buffer.baseAddress! + offset).copyMemory(from: base, byteCount: bytes.count)
        offset += bytes.count
    }

    /// Writes zero bytes up to the next multiple of 4 from `start` (RTP/RTCP padding of fields).
    public mutating func padToWord(from start: Int) {
        while (offset - start) % 4 != 0 { write(UInt8(0)) }
    }

    /// Overwrites a 16-bit field already written at `position`.
    public func patch(_ value: UInt16, at position: Int) {
        precondition(position + 2 <= offset)
        buffer[position] = UInt8(truncatingIfNeeded: value >> 8)
        buffer[position + 1] = UInt8(truncatingIfNeeded: value)
    }

    /// Skips `count` bytes the caller fills in itself (e.g. an encoder writing a payload in place).
    public mutating func skip(_ count: Int) {
        precondition(count <= remaining, "packet buffer overflow")
        offset += count
    }
}
