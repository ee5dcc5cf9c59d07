/// The far-end history: `processReverse` appends each block, and the echo canceller reads
/// the block that was played `delay` samples before the newest one, so its filter only has
/// to cover the room's tail, not the bulk delay (research §6.4). Storage is made at init.
struct ReferenceDelayLine: ~Copyable {
    private let storage: UnsafeMutableBufferPointer<Int16>
    /// Samples written so far (the write position is `written % capacity`).
    private var written = 0
    /// The longest delay `read` accepts, in samples.
    let maximumDelay: Int

    /// `maximumDelay` and `block` in samples.
    init(maximumDelay: Int, block: Int) {
        self.maximumDelay = maximumDelay
        storage = .allocate(capacity: maximumDelay + 2 * block)
        storage.initialize(repeating: 0)
    }

    deinit { storage.deallocate() }

    mutating func append(_ block: UnsafeBufferPointer<Int16>) {
        var position = written % storage.count
        for sample in block {
            storage[position] = sample
            position += 1
            if position == storage.count { position = 0 }
        }
        written += block.count
    }

    /// Copies the `output.count` samples that end `delay` samples before the newest one;
    /// what was never written reads as silence.
    func read(delay: Int, into output: UnsafeMutableBufferPointer<Int16>) {
        precondition(delay >= 0 && delay <= maximumDelay, "delay within the line")
        let start = written - delay - output.count
        for index in 0..<output.count {
            let sampleIndex = start + index
            output[index] = sampleIndex < 0 ? 0 : storage[sampleIndex % storage.count]
        }
    }

    mutating func clear() {
        storage.update(repeating: 0)
        written = 0
    }
}
