/// The rate at which the receiver acknowledged what the box sent, as GoogCC measures it
/// (libwebrtc `goog_cc/bitrate_estimator.cc`, our own code): octets summed over windows of
/// arrival time — 500 ms for the first sample, 150 ms after — and each window's rate blended
/// into the estimate by how far it lies from it (a sample far off is trusted less, so one
/// burst does not swing it, while a lasting change moves it within a few windows).
///
/// The delay-based control cuts to 85 % of this rate on overuse and never grows beyond 1.5×
/// it, so it must follow a real drop quickly.
public struct AcknowledgedBitrate: Sendable {
    static let initialWindow: Int64 = 500_000
    static let window: Int64 = 150_000
    static let uncertaintyScale = 10.0

    /// kbit/s; nil before the first window.
    private var estimate: Double?
    private var variance = 50.0
    private var sum = 0
    private var windowElapsed: Int64 = 0
    private var previousArrival: Int64?

    public init() {}

    /// The estimate in bit/s; nil before the first window's worth of arrivals.
    public var bitsPerSecond: Int? { estimate.map { Int($0 * 1000) } }

    /// The rate of the last two windows, unsmoothed: the higher of the two, in bit/s (nil
    /// before two). While a queue stands at the bottleneck, packets leave it at exactly its
    /// rate: this is the capacity now, where the smoothed estimate still remembers the rate
    /// before a drop. One 150 ms window holds only four or five frames and swings with a key
    /// frame or a still picture; two low in a row are the queue's rate.
    public var recentBitsPerSecond: Int? {
        guard let latestSample, let previousSample else { return nil }
        return Int(max(latestSample, previousSample) * 1000)
    }
    private var latestSample: Double?
    private var previousSample: Double?

    /// The packets of one feedback that arrived, in arrival order (the lost are skipped).
    public mutating func add(_ results: [PacketResult]) {
        for result in results {
            guard let arrival = result.arrival else { continue }
            add(arrival: arrival, size: result.size)
        }
    }

    mutating func add(arrival: Int64, size: Int) {
        let window = estimate == nil ? Self.initialWindow : Self.window
        guard let sample = sample(arrival: arrival, size: size, window: window) else { return }
        previousSample = latestSample
        latestSample = sample
        guard let current = estimate else {
            estimate = sample
            return
        }
        let uncertainty = Self.uncertaintyScale * abs(current - sample) / current
        let sampleVariance = uncertainty * uncertainty
        let predictedVariance = variance + 5
        estimate = (sampleVariance * current + predictedVariance * sample) / (sampleVariance + predictedVariance)
        variance = sampleVariance * predictedVariance / (sampleVariance + predictedVariance)
    }

    /// The rate of the window that `arrival` closes, in kbit/s; the packet itself counts
    /// towards the next window.
    private mutating func sample(arrival: Int64, size: Int, window: Int64) -> Double? {
        if let previous = previousArrival, arrival < previous {
            previousArrival = nil
            sum = 0
            windowElapsed = 0
        }
        if let previous = previousArrival {
            windowElapsed += arrival - previous
            // Nothing for more than a window: the next sample starts from here.
            if arrival - previous > window {
                sum = 0
                windowElapsed %= window
            }
        }
        previousArrival = arrival
        var rate: Double?
        if windowElapsed >= window {
            rate = Double(sum) * 8 / (Double(window) / 1000)
            windowElapsed -= window
            sum = 0
        }
        sum += size
        return rate
    }
}
