/// What the delay signal says about the path (libwebrtc `BandwidthUsage`).
public enum BandwidthUsage: String, Sendable {
    /// The queue on the path stays as it is.
    case normal
    /// The queue grows: the box sends more than the bottleneck carries.
    case overusing
    /// The queue drains.
    case underusing
}

/// Reads a growing queue from the group deltas: the delay each group adds is accumulated,
/// smoothed, and the slope of the last 20 points against arrival time is the trend; a trend
/// above an adaptive threshold for more than 10 ms is overuse (libwebrtc
/// `goog_cc/trendline_estimator.cc`, its default settings, our own code).
///
/// The threshold follows the trend slowly upwards and 4.5× faster downwards: a lasting trend
/// a little above it (cross traffic that holds a queue without growing it further) raises it
/// until it no longer reads as overuse, a quiet path brings it back to its floor of 6, and a
/// spike far above it is not followed at all. (Periodic swings do not raise it: between them
/// it sinks again.)
public struct TrendlineDetector: Sendable {
    static let windowSize = 20
    static let smoothingCoefficient = 0.9
    static let thresholdGain = 4.0
    /// The trend is scaled by the number of deltas seen, up to this many (a young estimate is
    /// trusted less).
    static let minimumDeltas = 60
    static let overusingTime = 10.0
    static let thresholdBounds = 6.0...600.0
    static let thresholdUp = 0.0087
    static let thresholdDown = 0.039
    /// A trend this far beyond the threshold is a spike the threshold does not follow.
    static let maximumAdaptOffset = 15.0
    static let maximumThresholdStep = 100.0

    public private(set) var state = BandwidthUsage.normal
    /// The adaptive threshold and the last scaled trend, in the detector's units (ms of
    /// delay growth per ms, times deltas and gain): for the status and the tests.
    public private(set) var threshold = 12.5
    public private(set) var modifiedTrend = 0.0

    private var deltas = 0
    private var firstArrival: Double?
    private var accumulatedDelay = 0.0
    private var smoothedDelay = 0.0
    /// The last `windowSize` points (arrival ms since the first, smoothed delay ms); a ring.
    private var points = [(x: Double, y: Double)](repeating: (0, 0), count: windowSize)
    private var pointCount = 0
    private var nextPoint = 0
    private var previousTrend = 0.0
    private var timeOverUsing: Double?
    private var overuseCounter = 0
    private var lastThresholdUpdate: Double?

    public init() {}

    /// One delta between groups: their arrival and send spacing (ms) and the arrival (ms on
    /// the receiver's clock) of the group that completed.
    public mutating func update(arrivalDelta: Double, sendDelta: Double, arrival: Double) {
        deltas = min(deltas + 1, 1000)
        let first = firstArrival ?? arrival
        firstArrival = first
        accumulatedDelay += arrivalDelta - sendDelta
        smoothedDelay = Self.smoothingCoefficient * smoothedDelay + (1 - Self.smoothingCoefficient) * accumulatedDelay
        points[nextPoint] = (arrival - first, smoothedDelay)
        nextPoint = (nextPoint + 1) % Self.windowSize
        pointCount = min(pointCount + 1, Self.windowSize)
        var trend = previousTrend
        if pointCount == Self.windowSize, let slope = slope() { trend = slope }
        detect(trend: trend, sendDelta: sendDelta, now: arrival)
    }

    /// The least-squares slope of the window; nil when all points share one x.
    private func slope() -> Double? {
        var sumX = 0.0, sumY = 0.0
        for point in points { sumX += point.x; sumY += point.y }
        let meanX = sumX / Double(points.count), meanY = sumY / Double(points.count)
        var numerator = 0.0, denominator = 0.0
        for point in points {
            numerator += (point.x - meanX) * (point.y - meanY)
            denominator += (point.x - meanX) * (point.x - meanX)
        }
        return denominator == 0 ? nil : numerator / denominator
    }

    private mutating func detect(trend: Double, sendDelta: Double, now: Double) {
        guard deltas >= 2 else {
            state = .normal
            return
        }
        modifiedTrend = Double(min(deltas, Self.minimumDeltas)) * trend * Self.thresholdGain
        if modifiedTrend > threshold {
            let overUsing = timeOverUsing.map { $0 + sendDelta } ?? sendDelta / 2
            timeOverUsing = overUsing
            overuseCounter += 1
            if overUsing > Self.overusingTime && overuseCounter > 1 && trend >= previousTrend {
                timeOverUsing = 0
                overuseCounter = 0
                state = .overusing
            }
        } else if modifiedTrend < -threshold {
            timeOverUsing = nil
            overuseCounter = 0
            state = .underusing
        } else {
            timeOverUsing = nil
            overuseCounter = 0
            state = .normal
        }
        previousTrend = trend
        updateThreshold(now: now)
    }

    private mutating func updateThreshold(now: Double) {
        let last = lastThresholdUpdate ?? now
        lastThresholdUpdate = now
        let magnitude = abs(modifiedTrend)
        guard magnitude <= threshold + Self.maximumAdaptOffset else { return }
        let gain = magnitude < threshold ? Self.thresholdDown : Self.thresholdUp
        threshold += gain * (magnitude - threshold) * min(now - last, Self.maximumThresholdStep)
        threshold = min(max(threshold, Self.thresholdBounds.lowerBound), Self.thresholdBounds.upperBound)
    }
}
