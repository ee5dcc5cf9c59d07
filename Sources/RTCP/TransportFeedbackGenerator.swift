import Wire

/// Transport-cc feedback for what the box receives: the sender's congestion controller
/// (the Videobridge's estimator for the box's downlink, a browser's GoogCC) learns from it
/// when each packet arrived. Built as the Videobridge builds it for its senders
/// (jitsi-media-transform `TccGeneratorNode.kt`): the first packet arms the clock; a feedback
/// is due when 100 ms passed since the last one, or 20 ms and the packet ends a frame (marker);
/// it covers everything since the previous one, from the first sequence number not yet
/// reported, and a packet older than that (reordered, or first reported lost) moves the window
/// back so that it is reported after all (as libwebrtc's `RemoteEstimatorProxy`, whose
/// periodic rule `isDue` adds: what a burst left unreported goes out with the first check
/// 100 ms or more after the last feedback — the box checks on its 100 ms network tick, so
/// within 200 ms — not only with the next packet). Deltas are rounded to 250 µs and accumulated as sent, so the rounding
/// never drifts (libwebrtc `TransportFeedback::AddReceivedPacket`).
///
/// Arrivals live in a fixed ring and each packet's symbols and deltas in buffers reserved once:
/// recording and writing allocate nothing per packet. Times are the caller's monotonic
/// nanoseconds.
public struct TransportFeedbackGenerator: Sendable {
    /// A feedback at the latest this long after the previous one (JVB, libwebrtc: 100 ms).
    public static let interval: UInt64 = 100_000_000
    /// After a frame's last packet, a feedback once this long passed (JVB: 20 ms).
    public static let markerInterval: UInt64 = 20_000_000
    /// Packets one feedback reports at most: with every delta two bytes, about 1 000 octets.
    public static let maximumStatuses = 400
    /// Arrivals kept: seconds of video at any rate a classroom receives.
    static let capacity = 4096

    private var arrivals: [UInt64]
    private var sequences: [Int64]
    private var unwrapper = SequenceUnwrapper()
    private var windowStart: Int64?
    private var highest: Int64 = .min
    private var lastFeedback: UInt64 = 0
    private var feedbackCount: UInt8 = 0
    private var symbols: [UInt8] = []
    private var deltas: [Int16] = []
    /// The SSRC of the packet that made the feedback due (JVB names it the media source).
    public private(set) var mediaSSRC: UInt32 = 0
    /// Feedback packets written, and packets they reported received (reports of a packet
    /// moved back into a later window count again).
    public private(set) var feedbackWritten = 0
    public private(set) var packetsReported = 0

    public init() {
        arrivals = [UInt64](repeating: 0, count: Self.capacity)
        sequences = [Int64](repeating: .min, count: Self.capacity)  // no sequence number unwraps to it
        symbols.reserveCapacity(Self.maximumStatuses)
        deltas.reserveCapacity(Self.maximumStatuses)
    }

    /// True when packets wait to be reported.
    public var hasPending: Bool { windowStart.map { $0 <= highest } ?? false }

    /// Records a packet's arrival; true when a feedback is due now (then `write` until it
    /// returns false).
    public mutating func received(sequence: UInt16, mediaSSRC: UInt32, marker: Bool, now: UInt64) -> Bool {
        let unwrapped = unwrapper.unwrap(sequence)
        let slot = Int(unwrapped & Int64(Self.capacity - 1))
        guard sequences[slot] != unwrapped else { return false }  // a duplicate: its first arrival counts
        guard let start = windowStart else {
            windowStart = unwrapped
            highest = unwrapped
            lastFeedback = now
            store(unwrapped, at: slot, now: now)
            self.mediaSSRC = mediaSSRC
            return false
        }
        if unwrapped > highest {
            highest = unwrapped
            // Beyond the ring: what was never reported is given up (the sender counts it lost).
            if highest - start >= Int64(Self.capacity) { windowStart = highest - Int64(Self.capacity) + 1 }
        } else if unwrapped < start {
            guard highest - unwrapped < Int64(Self.capacity / 2) else { return false }  // too old to place
            windowStart = unwrapped
        }
        store(unwrapped, at: slot, now: now)
        self.mediaSSRC = mediaSSRC
        let elapsed = now >= lastFeedback ? now - lastFeedback : 0
        guard elapsed >= Self.interval || (marker && elapsed >= Self.markerInterval) else { return false }
        lastFeedback = now
        return true
    }

    /// The periodic rule: packets wait and the interval passed since the last feedback.
    public mutating func isDue(now: UInt64) -> Bool {
        guard hasPending, now >= lastFeedback, now - lastFeedback >= Self.interval else { return false }
        lastFeedback = now
        return true
    }

    private mutating func store(_ sequence: Int64, at slot: Int, now: UInt64) {
        sequences[slot] = sequence
        arrivals[slot] = now
    }

    private func arrival(of sequence: Int64) -> UInt64? {
        let slot = Int(sequence & Int64(Self.capacity - 1))
        return sequences[slot] == sequence ? arrivals[slot] : nil
    }

    /// Writes one feedback packet for the oldest packets not yet reported, at most
    /// `maximumStatuses` of them and as many as fit `writer`; true when more wait for
    /// another packet.
    public mutating func write(sender: UInt32, into writer: inout ByteWriter) -> Bool {
        guard var start = windowStart, start <= highest else { return false }
        // Header 20 octets, padding 3, the SRTCP trailer; each status needs at most two delta
        // octets and 2/7 of a chunk.
        let room = max(1, (writer.remaining - 20 - 3 - 32) * 3 / 7)
        // The reference: the first received packet's arrival, in whole 64 ms (its base sequence
        // may be a lost one; libwebrtc reports it as such).
        var first = start
        while arrival(of: first) == nil { first += 1 }  // `highest` arrived, so this ends
        // A run of loss longer than one feedback holds (an outage): its oldest part is given up.
        let limit = min(Self.maximumStatuses, room)
        if first - start >= Int64(limit) { start = first - Int64(limit) + 1 }
        let reference = arrival(of: first)! / 1000 / TransportCCFeedback.referenceTickMicroseconds
        var last = reference * TransportCCFeedback.referenceTickMicroseconds
        symbols.removeAll(keepingCapacity: true)
        deltas.removeAll(keepingCapacity: true)
        var sequence = start
        while symbols.count < limit, sequence <= highest {
            guard let time = arrival(of: sequence) else {
                symbols.append(0)
                sequence += 1
                continue
            }
            let microseconds = time / 1000
            let difference = Int64(bitPattern: microseconds &- last)
            let tick = Int64(TransportCCFeedback.deltaTickMicroseconds)
            let ticks = (difference >= 0 ? difference + tick / 2 : difference - tick / 2) / tick
            guard let delta = Int16(exactly: ticks) else { break }  // the next packet starts a new feedback
            symbols.append(TransportCCFeedback.symbol(for: delta))
            deltas.append(delta)
            last = UInt64(bitPattern: Int64(bitPattern: last) &+ ticks * tick)
            sequence += 1
        }
        while symbols.last == 0 { symbols.removeLast() }  // a feedback ends with a received packet
        let (symbols, deltas) = (self.symbols, self.deltas)
        TransportCCFeedback.write(sender: sender, media: mediaSSRC, baseSequence: UInt16(truncatingIfNeeded: start),
                                  referenceTime: Int32(truncatingIfNeeded: reference & 0xFF_FFFF), feedbackCount: feedbackCount,
                                  count: symbols.count, symbol: { symbols[$0] }, deltas: { write in deltas.forEach(write) }, into: &writer)
        feedbackCount &+= 1
        feedbackWritten += 1
        packetsReported += deltas.count
        windowStart = start + Int64(symbols.count)
        return hasPending
    }
}
