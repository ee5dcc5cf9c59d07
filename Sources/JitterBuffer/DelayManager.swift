/// The adaptive target delay of one audio source, after libwebrtc NetEq
/// (`delay_manager.cc`, `underrun_optimizer.cc`, `decision_logic.cc` `PacketArrivalHistory`),
/// rewritten for the box: one histogram, no reorder optimiser.
///
/// For every packet the *relative arrival delay* is how much later it arrived than the
/// earliest-arriving packet of the last 2 s of RTP time predicts from the timestamps:
///
///     rel(i) = (arrival(i) − arrival(ref)) − (ts(i) − ts(ref)) / rate,
///     ref = the packet of the window with the smallest arrival − ts/rate
///
/// The largest `rel` of each 500 ms goes into a histogram of 20 ms buckets whose older mass
/// decays by 0.983 per entry; the target is the upper edge of the bucket that holds the 95th
/// percentile, clamped to the configured range. Measuring against the earliest packet (not the
/// previous one) makes a slow drift of the sender's clock harmless and keeps the quantity the
/// one that matters: how long a packet must wait to be played on time.
///
/// All storage is allocated at init; `update` only reads and writes it.
struct DelayManager: ~Copyable {
    private struct Arrival {
        var arrival: UInt64
        var timestamp: UInt32
    }

    private let configuration: JitterBufferConfiguration
    private let history: UnsafeMutablePointer<Arrival>
    private let historyCapacity = 256
    private var historyCount = 0
    private var historyNext = 0
    private let histogram: UnsafeMutablePointer<Double>
    private let bucketCount: Int
    private var histogramUpdates = 0
    private var windowStart: UInt64?
    private var windowMaximumMilliseconds: Double = 0

    /// The earliest-arriving packet of the history: the reference of the playout delay.
    private(set) var reference: (arrival: UInt64, timestamp: UInt32)?
    private(set) var targetMilliseconds: Int

    init(configuration: JitterBufferConfiguration) {
        self.configuration = configuration
        history = .allocate(capacity: historyCapacity)
        // Buckets up to the maximum target, plus one for everything above it.
        bucketCount = configuration.maximumTargetMilliseconds / configuration.histogramBucketMilliseconds + 1
        histogram = .allocate(capacity: bucketCount)
        histogram.initialize(repeating: 0, count: bucketCount)
        targetMilliseconds = configuration.startTargetMilliseconds
    }

    deinit {
        history.deallocate()
        histogram.deallocate()
    }

    /// Forget the arrival history (stream restart, or the first packet after a silence gap,
    /// whose sender may have re-based its clock); the histogram, which describes the network,
    /// is kept.
    mutating func forgetHistory() {
        historyCount = 0
        historyNext = 0
        reference = nil
        windowStart = nil
        windowMaximumMilliseconds = 0
    }

    /// Back to the state of a new manager, without allocating: for a slot given to another
    /// source, whose network path owes nothing to the last one's.
    mutating func reset() {
        forgetHistory()
        histogram.update(repeating: 0, count: bucketCount)
        histogramUpdates = 0
        targetMilliseconds = configuration.startTargetMilliseconds
    }

    /// A packet with RTP `timestamp` arrived at `arrival` (monotonic ns).
    /// Returns its relative delay in milliseconds.
    @discardableResult
    mutating func update(timestamp: UInt32, arrival: UInt64) -> Double {
        history[historyNext] = Arrival(arrival: arrival, timestamp: timestamp)
        historyNext = (historyNext + 1) % historyCapacity
        historyCount = min(historyCount + 1, historyCapacity)

        let rate = Double(configuration.sampleRate)
        let window = Int64(configuration.delayHistoryMilliseconds) * Int64(configuration.sampleRate) / 1000
        // The smallest (arrival − ts/rate) of the window, as an offset from this packet's.
        var best: Double = 0
        var bestIndex = (historyNext + historyCapacity - 1) % historyCapacity
        for index in 0..<historyCount {
            let entry = history[index]
            let age = Int64(Int32(bitPattern: timestamp &- entry.timestamp))
            guard age <= window, age >= -window else { continue }
            let arrivalDelta = (Double(entry.arrival) - Double(arrival)) / 1_000_000
            let offset = arrivalDelta + Double(age) * 1000 / rate
            if offset < best {
                best = offset
                bestIndex = index
            }
        }
        reference = (history[bestIndex].arrival, history[bestIndex].timestamp)
        let relative = -best
        record(relative, at: arrival)
        return relative
    }

    /// NetEq `resample_interval_ms`: one histogram entry per interval, its largest delay.
    private mutating func record(_ relative: Double, at arrival: UInt64) {
        guard let start = windowStart else {
            windowStart = arrival
            windowMaximumMilliseconds = relative
            return
        }
        let interval = UInt64(configuration.resampleIntervalMilliseconds) * 1_000_000
        if arrival &- start >= interval {
            addToHistogram(windowMaximumMilliseconds)
            windowStart = arrival
            windowMaximumMilliseconds = relative
        } else {
            windowMaximumMilliseconds = max(windowMaximumMilliseconds, relative)
        }
    }

    private mutating func addToHistogram(_ delayMilliseconds: Double) {
        // Faster forgetting at the start (NetEq `start_forget_weight`): the first entry
        // replaces the empty histogram, later ones converge to the steady forget factor.
        let updates = Double(histogramUpdates)
        let forget = max(0, min(configuration.forgetFactor,
                                1 - configuration.startForgetWeight / (updates + configuration.startForgetWeight)))
        histogramUpdates += 1
        let bucket = min(bucketCount - 1, max(0, Int(delayMilliseconds) / configuration.histogramBucketMilliseconds))
        var total: Double = 0
        for index in 0..<bucketCount {
            histogram[index] *= forget
            if index == bucket { histogram[index] += 1 - forget }
            total += histogram[index]
        }
        var cumulative: Double = 0
        var quantileBucket = bucketCount - 1
        for index in 0..<bucketCount {
            cumulative += histogram[index]
            if cumulative >= configuration.quantile * total {
                quantileBucket = index
                break
            }
        }
        let upperEdge = (quantileBucket + 1) * configuration.histogramBucketMilliseconds
        targetMilliseconds = min(configuration.maximumTargetMilliseconds, max(configuration.minimumTargetMilliseconds, upperEdge))
    }

    /// How long ago, in ms, the earliest-arriving reference would have delivered `timestamp`:
    /// the playout delay of a sample with that timestamp played at `now`.
    func playoutDelayMilliseconds(of timestamp: UInt32, now: UInt64) -> Double? {
        guard let reference else { return nil }
        let elapsed = (Double(now) - Double(reference.arrival)) / 1_000_000
        let media = Double(Int32(bitPattern: timestamp &- reference.timestamp)) * 1000 / Double(configuration.sampleRate)
        return elapsed - media
    }
}
