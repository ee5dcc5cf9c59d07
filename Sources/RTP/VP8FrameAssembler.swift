import Wire

/// A whole VP8 frame put together by `VP8FrameAssembler`: what the decoder and the video
/// frame buffer need to know about it. Its bytes stay in the assembler until `release`.
public struct VP8Frame: Sendable, Equatable {
    public var timestamp: UInt32
    /// Sequence numbers of the first (S=1, PID=0) and the last (marker) packet.
    public var firstSequence: UInt16
    public var lastSequence: UInt16
    /// From the first packet's descriptor (RFC 7741 §4.2), as sent: 15 or 7 bits, or nil.
    public var pictureID: UInt16?
    public var pictureIDIs15Bit: Bool
    public var tl0PictureIndex: UInt8?
    public var temporalLayer: UInt8?
    /// Y: the frame depends only on base-layer (TL0) frames.
    public var layerSync: Bool
    /// N: no later frame refers to this one.
    public var nonReference: Bool
    public var isKeyframe: Bool
    /// Key frames only (RFC 6386 §9.2).
    public var width: UInt16?
    public var height: UInt16?
    /// The frame's VP8 bytes: all its packets' data after their descriptors.
    public var byteCount: Int
    public var packetCount: Int { Int(lastSequence &- firstSequence) + 1 }

    /// Where the bytes are: the assembler's slot, and which use of it (a stale frame is caught).
    let slot: Int
    let use: UInt32
}

/// Tunables of a `VP8FrameAssembler`; all its memory is sized from them at init.
public struct VP8FrameAssemblerConfiguration: Sendable, Equatable {
    /// Frames in assembly or held by the caller at once. Eight cover a frame whose packets
    /// wait for retransmission while the next few complete, and the frames the video frame
    /// buffer holds behind it.
    public var slotCount = 8
    /// The largest frame, in bytes. Key frames are the largest: tens of kB at 720p and call
    /// bitrates; 512 KiB leaves room for a 1080p one at high quality. Pages are touched only
    /// as frames fill them.
    public var maximumFrameBytes = 512 * 1024
    /// The most packets one frame may span; a power of two (packets are indexed by their
    /// sequence number modulo it). 512 packets of 1200 bytes hold 600 kB.
    public var maximumPacketsPerFrame = 512
    /// A packet this many sequence numbers or fewer behind the last decoded frame is late;
    /// one further back is a stream that started over (RFC 3550 App. A.1 `MAX_MISORDER`,
    /// scaled for video's packet rates), and the late mark is forgotten.
    public var maximumMisorder = 3000

    public init() {}
}

/// Counters of one assembler; they only grow.
public struct VP8FrameAssemblerStatistics: Sendable, Equatable {
    public var packets = 0
    public var duplicates = 0
    /// Packets of frames at or before the last decoded frame.
    public var late = 0
    public var malformed = 0
    public var framesCompleted = 0
    /// Frames given up unfinished: evicted when slots ran out, or older than a decoded frame.
    public var framesDroppedIncomplete = 0
    /// Packets dropped because every slot held a finished frame the caller had not released.
    public var packetsWithoutSlot = 0
    /// Sequence jumps beyond `maximumMisorder` (see there).
    public var streamRestarts = 0

    public init() {}
}

/// Puts whole VP8 frames together from the RTP packets of one SSRC (RFC 7741 §4.4), whatever
/// their order, loss and duplication. A frame is complete when its first packet (S=1, PID=0),
/// its last (marker) and every sequence number between, all with its RTP timestamp, are in.
///
/// All memory is taken at init (`slotCount` frame slots, each with a byte area and a packet
/// table), so the receive path never touches the heap. A packet's data is appended to its
/// frame's byte area in arrival order and its place recorded in the packet table, indexed by
/// sequence number modulo `maximumPacketsPerFrame`. When the frame completes, data that
/// arrived in order already lies in order; otherwise it is gathered in sequence order into
/// one spare area, which then trades places with the slot's.
///
/// A finished frame stays in its slot until `release`; its bytes are lent with
/// `withFrameBytes`. Packets at or before the last decoded frame are late: decoding is in
/// order, so no frame can use them. Dropped frames do not move that mark: a key frame
/// still waiting for a retransmission may be older than frames dropped while waiting for it.
public struct VP8FrameAssembler: ~Copyable {
    public enum InsertOutcome: Equatable, Sendable {
        case stored
        case completed(VP8Frame)
        case duplicate
        case late
        case malformed(VP8ReceiveError)
        /// Every slot holds a finished frame not yet released: the caller is not releasing.
        case noFreeSlot
    }

    enum SlotState: UInt8 { case free, assembling, complete }

    struct Slot {
        var state = SlotState.free
        /// Bumped on every reuse: packet entries and `VP8Frame`s of older uses are stale.
        var use: UInt32 = 0
        var timestamp: UInt32 = 0
        /// The first sequence number received for the frame; the span of what is in, from it.
        var anchor: UInt16 = 0
        var lowest = 0
        var highest = 0
        var first: UInt16?
        var last: UInt16?
        var received = 0
        var bytesUsed = 0
        /// Which byte area the slot writes into (there is one more area than slots).
        var area = 0
        var descriptor = VP8PayloadDescriptor(startOfPartition: false)
        var header: VP8PayloadHeader?
    }

    struct PacketEntry {
        var use: UInt32 = 0
        var sequence: UInt16 = 0
        var offset = 0
        var length = 0
    }

    public let configuration: VP8FrameAssemblerConfiguration
    public private(set) var statistics = VP8FrameAssemblerStatistics()
    let slots: UnsafeMutableBufferPointer<Slot>
    private let entries: UnsafeMutableBufferPointer<PacketEntry>
    private let areas: UnsafeMutableRawBufferPointer
    private var spareArea: Int
    /// The last sequence number of the newest decoded frame: packets up to it are late.
    private var decodedThrough: UInt16?

    public init(configuration: VP8FrameAssemblerConfiguration = VP8FrameAssemblerConfiguration()) {
        let packets = configuration.maximumPacketsPerFrame
        precondition(configuration.slotCount > 0 && configuration.maximumFrameBytes > 0, "empty assembler")
        // Sequence distances within a frame are taken as 16-bit signed differences.
        precondition(packets > 0 && packets <= 16384 && packets & (packets - 1) == 0,
                     "maximumPacketsPerFrame must be a power of two up to 16384")
        self.configuration = configuration
        slots = .allocate(capacity: configuration.slotCount)
        entries = .allocate(capacity: configuration.slotCount * packets)
        areas = .allocate(byteCount: (configuration.slotCount + 1) * configuration.maximumFrameBytes, alignment: 16)
        for index in slots.indices { slots.initializeElement(at: index, to: Slot(area: index)) }
        entries.initialize(repeating: PacketEntry())
        spareArea = configuration.slotCount
    }

    deinit {
        slots.deallocate()
        entries.deallocate()
        areas.deallocate()
    }

    /// Takes one packet of the stream. `payload` starts with the VP8 payload descriptor (the
    /// RTP payload after SRTP, header and padding); its data is copied, so the caller's
    /// buffer can be reused at once. A `.completed` frame must be `release`d eventually.
    public mutating func insert(sequenceNumber: UInt16, timestamp: UInt32, marker: Bool,
                                payload: UnsafeRawBufferPointer) -> InsertOutcome {
        statistics.packets += 1
        let packet: VP8DepacketizedPayload
        do { packet = try VP8Depacketizer.depacketize(payload) } catch { return counted(.malformed(error)) }
        if isLate(sequenceNumber) { return counted(.late) }
        if let index = slotIndex(timestamp: timestamp) {
            guard slots[index].state == .assembling else {
                let known = holds(sequenceNumber, slot: index)
                return counted(known ? .duplicate : .malformed(.packetOutsideFrame(sequence: sequenceNumber)))
            }
            return counted(add(packet, sequence: sequenceNumber, marker: marker, to: index))
        }
        guard packet.data.count <= configuration.maximumFrameBytes else {
            return counted(.malformed(.frameTooLarge(bytes: configuration.maximumFrameBytes)))
        }
        let index: Int
        switch claimSlot(for: timestamp) {
        case .some(let claimed): index = claimed
        case .none where count(in: .assembling) > 0: return counted(.late)
        case .none: return counted(.noFreeSlot)
        }
        slots[index] = Slot(state: .assembling, use: slots[index].use &+ 1, timestamp: timestamp, anchor: sequenceNumber,
                            area: slots[index].area)
        let outcome = add(packet, sequence: sequenceNumber, marker: marker, to: index)
        if slots[index].received == 0 { slots[index].state = .free }  // nothing was stored
        return counted(outcome)
    }

    /// Lends the bytes of a completed frame, not yet released, for the length of `body`.
    public func withFrameBytes<T, E: Error>(_ frame: VP8Frame,
                                           _ body: (UnsafeRawBufferPointer) throws(E) -> T) throws(E) -> T {
        precondition(isHeld(frame), "frame released already, or not from this assembler")
        let start = areas.baseAddress! + slots[frame.slot].area * configuration.maximumFrameBytes
        return try body(UnsafeRawBufferPointer(start: start, count: frame.byteCount))
    }

    /// Frees a completed frame's slot. `decoded` says the frame went to the decoder: packets
    /// up to its last are late from now on, and unfinished frames older than it are dropped,
    /// since frames are decoded in order.
    public mutating func release(_ frame: VP8Frame, decoded: Bool) {
        precondition(isHeld(frame), "frame released twice, or not from this assembler")
        slots[frame.slot].state = .free
        guard decoded else { return }
        if decodedThrough.map({ SequenceNumber.isNewer(frame.lastSequence, than: $0) }) ?? true {
            decodedThrough = frame.lastSequence
        }
        for index in 0..<slots.count where slots[index].state == .assembling
            && Int32(bitPattern: slots[index].timestamp &- frame.timestamp) < 0 {
            slots[index].state = .free
            statistics.framesDroppedIncomplete += 1
        }
    }

    /// Frames finished and not yet released.
    public var heldFrameCount: Int { count(in: .complete) }

    // MARK: - Placing packets
    //
    // Slots are searched with plain loops: the closure-taking algorithms (`first(where:)`,
    // `contains(where:)`) allocate on every call when unoptimised (debug builds, the tests).

    private func count(in state: SlotState) -> Int {
        var count = 0
        for index in 0..<slots.count where slots[index].state == state { count += 1 }
        return count
    }

    private mutating func counted(_ outcome: InsertOutcome) -> InsertOutcome {
        switch outcome {
        case .stored: break
        case .completed: statistics.framesCompleted += 1
        case .duplicate: statistics.duplicates += 1
        case .late: statistics.late += 1
        case .malformed: statistics.malformed += 1
        case .noFreeSlot: statistics.packetsWithoutSlot += 1
        }
        return outcome
    }

    private mutating func isLate(_ sequence: UInt16) -> Bool {
        guard let decodedThrough else { return false }
        let distance = SequenceNumber.distance(from: decodedThrough, to: sequence)
        if distance > 0 { return false }
        if distance >= -configuration.maximumMisorder { return true }
        self.decodedThrough = nil
        statistics.streamRestarts += 1
        return false
    }

    private func slotIndex(timestamp: UInt32) -> Int? {
        for index in 0..<slots.count where slots[index].state != .free && slots[index].timestamp == timestamp { return index }
        return nil
    }

    /// A free slot, or the slot of the oldest unfinished frame (dropped) when the new packet's
    /// frame is newer than it; nil when the packet's frame is older than every unfinished one
    /// (it is late: there is no room for it) or every slot holds a finished frame.
    private mutating func claimSlot(for timestamp: UInt32) -> Int? {
        for index in 0..<slots.count where slots[index].state == .free { return index }
        var oldest: Int?
        for index in 0..<slots.count where slots[index].state == .assembling {
            if let current = oldest, Int32(bitPattern: slots[index].timestamp &- slots[current].timestamp) >= 0 { continue }
            oldest = index
        }
        guard let oldest, Int32(bitPattern: timestamp &- slots[oldest].timestamp) > 0 else { return nil }
        statistics.framesDroppedIncomplete += 1
        slots[oldest].state = .free
        return oldest
    }

    private func entryIndex(slot: Int, sequence: UInt16) -> Int {
        slot * configuration.maximumPacketsPerFrame + (Int(sequence) & (configuration.maximumPacketsPerFrame - 1))
    }

    private func holds(_ sequence: UInt16, slot: Int) -> Bool {
        let entry = entries[entryIndex(slot: slot, sequence: sequence)]
        return entry.use == slots[slot].use && entry.sequence == sequence
    }

    private mutating func add(_ packet: VP8DepacketizedPayload, sequence: UInt16, marker: Bool, to index: Int) -> InsertOutcome {
        let entryIndex = entryIndex(slot: index, sequence: sequence)
        if entries[entryIndex].use == slots[index].use {
            return entries[entryIndex].sequence == sequence ? .duplicate : .malformed(.packetOutsideFrame(sequence: sequence))
        }
        if let error = boundaryError(packet, sequence: sequence, marker: marker, slot: slots[index]) { return .malformed(error) }
        var slot = slots[index]
        guard slot.bytesUsed + packet.data.count <= configuration.maximumFrameBytes else {
            return .malformed(.frameTooLarge(bytes: configuration.maximumFrameBytes))
        }
        let distance = SequenceNumber.distance(from: slot.anchor, to: sequence)
        if slot.received == 0 {
            slot.lowest = distance
            slot.highest = distance
        }
        slot.lowest = min(slot.lowest, distance)
        slot.highest = max(slot.highest, distance)
        if packet.startsFrame {
            slot.first = sequence
            slot.descriptor = packet.descriptor
            slot.header = packet.header
        }
        if marker { slot.last = sequence }
        let destination = areas.baseAddress! + slot.area * configuration.maximumFrameBytes + slot.bytesUsed
        destination.copyMemory(from: packet.data.baseAddress!, byteCount: packet.data.count)
        entries[entryIndex] = PacketEntry(use: slot.use, sequence: sequence, offset: slot.bytesUsed, length: packet.data.count)
        slot.bytesUsed += packet.data.count
        slot.received += 1
        slots[index] = slot
        guard let first = slot.first, let last = slot.last, slot.received == Int(last &- first) + 1 else { return .stored }
        return .completed(finish(index, first: first, last: last))
    }

    /// Whether the packet contradicts what the frame already has: a second first or last
    /// packet, a packet outside [first, last], or a span wider than the packet table.
    private func boundaryError(_ packet: VP8DepacketizedPayload, sequence: UInt16, marker: Bool, slot: Slot) -> VP8ReceiveError? {
        if packet.startsFrame, let first = slot.first, first != sequence { return .conflictingFrameBoundary(sequence: sequence) }
        if marker, let last = slot.last, last != sequence { return .conflictingFrameBoundary(sequence: sequence) }
        let distance = SequenceNumber.distance(from: slot.anchor, to: sequence)
        var lowest = slot.received == 0 ? distance : min(slot.lowest, distance)
        var highest = slot.received == 0 ? distance : max(slot.highest, distance)
        // The frame's bounds, once known, must enclose every packet, this one included.
        if let first = packet.startsFrame ? sequence : slot.first {
            let firstDistance = SequenceNumber.distance(from: slot.anchor, to: first)
            guard firstDistance <= lowest else { return .packetOutsideFrame(sequence: sequence) }
            lowest = firstDistance
        }
        if let last = marker ? sequence : slot.last {
            let lastDistance = SequenceNumber.distance(from: slot.anchor, to: last)
            guard lastDistance >= highest else { return .packetOutsideFrame(sequence: sequence) }
            highest = lastDistance
        }
        guard highest - lowest < configuration.maximumPacketsPerFrame else { return .packetOutsideFrame(sequence: sequence) }
        return nil
    }

    /// Puts the frame's bytes in sequence order (gathering them into the spare area unless
    /// they arrived in order) and describes it.
    private mutating func finish(_ index: Int, first: UInt16, last: UInt16) -> VP8Frame {
        var slot = slots[index]
        let count = Int(last &- first) + 1
        var inOrder = true
        var expectedOffset = 0
        for step in 0..<count {
            let entry = entries[entryIndex(slot: index, sequence: first &+ UInt16(step))]
            if entry.offset != expectedOffset { inOrder = false; break }
            expectedOffset += entry.length
        }
        if !inOrder {
            let source = areas.baseAddress! + slot.area * configuration.maximumFrameBytes
            let destination = areas.baseAddress! + spareArea * configuration.maximumFrameBytes
            var written = 0
            for step in 0..<count {
                let entry = entries[entryIndex(slot: index, sequence: first &+ UInt16(step))]
                (destination + written).copyMemory(from: source + entry.offset, byteCount: entry.length)
                written += entry.length
            }
            swap(&slot.area, &spareArea)
        }
        slot.state = .complete
        slots[index] = slot
        let descriptor = slot.descriptor
        return VP8Frame(timestamp: slot.timestamp, firstSequence: first, lastSequence: last, pictureID: descriptor.pictureID,
                        pictureIDIs15Bit: descriptor.pictureIDIs15Bit, tl0PictureIndex: descriptor.tl0PictureIndex,
                        temporalLayer: descriptor.temporalLayer, layerSync: descriptor.layerSync,
                        nonReference: descriptor.nonReference, isKeyframe: slot.header?.isKeyframe ?? false,
                        width: slot.header?.width, height: slot.header?.height, byteCount: slot.bytesUsed,
                        slot: index, use: slot.use)
    }

    private func isHeld(_ frame: VP8Frame) -> Bool {
        frame.slot >= 0 && frame.slot < slots.count && slots[frame.slot].state == .complete && slots[frame.slot].use == frame.use
    }
}

extension VP8FrameAssembler: @unchecked Sendable {}
