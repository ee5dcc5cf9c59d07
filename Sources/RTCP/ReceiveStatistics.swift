import Wire

/// What arrives of one remote stream, for the reception report blocks the box sends back
/// (RFC 3550 §6.4.1, App. A.3 loss and A.8 jitter). The bridge's downlink estimator uses
/// the loss in these reports, so they must be true.
public struct ReceiveStatistics: Sendable {
    public let ssrc: UInt32
    public let clockRate: UInt32
    private var unwrapper = SequenceUnwrapper()
    private var base: Int64?
    private var highest: Int64 = 0
    public private(set) var received: Int64 = 0
    private var expectedPrior: Int64 = 0
    private var receivedPrior: Int64 = 0
    /// Interarrival jitter in timestamp units, as RFC 3550 A.8 keeps it (scaled by 16).
    private var jitterScaled: Int64 = 0
    private var lastTransit: Int64?
    private var lastSenderReportNTP: UInt32 = 0
    private var lastSenderReportArrival: UInt64?

    public init(ssrc: UInt32, clockRate: UInt32) {
        self.ssrc = ssrc
        self.clockRate = clockRate
    }

    /// A packet arrived at `now` (monotonic ns).
    public mutating func received(sequence: UInt16, rtpTimestamp: UInt32, now: UInt64) {
        let extended = unwrapper.unwrap(sequence)
        if base == nil {
            base = extended
            highest = extended
        }
        highest = max(highest, extended)
        received += 1
        // A.8: transit = arrival − timestamp (both in timestamp units); jitter += (|D| − jitter)/16.
        // In the timestamp's own 32-bit arithmetic, so a timestamp wrap (every 13 h at 90 kHz)
        // is a difference like any other, not a jump of 2^32.
        let arrival = MediaClock.rtpTimestamp(nanoseconds: now, rate: clockRate, offset: 0)
        let transit = Int64(arrival &- rtpTimestamp)
        if let lastTransit {
            let difference = Int64(abs(Int32(truncatingIfNeeded: transit &- lastTransit)))
            jitterScaled += difference - (jitterScaled + 8) >> 4
        }
        lastTransit = transit
    }

    /// The source's SR arrived; its NTP time is echoed back for round-trip measurement.
    public mutating func senderReport(ntpTimestamp: UInt64, now: UInt64) {
        lastSenderReportNTP = UInt32(truncatingIfNeeded: ntpTimestamp >> 16)
        lastSenderReportArrival = now
    }

    /// A report block for this source, covering the interval since the previous one.
    public mutating func report(now: UInt64) -> ReceptionReport? {
        guard let base else { return nil }
        let expected = highest - base + 1
        let lost = expected - received
        let expectedInterval = expected - expectedPrior
        let receivedInterval = received - receivedPrior
        expectedPrior = expected
        receivedPrior = received
        let lostInterval = expectedInterval - receivedInterval
        let fraction = expectedInterval == 0 || lostInterval <= 0 ? 0 : UInt8(min(255, (lostInterval << 8) / expectedInterval))
        let delay = lastSenderReportArrival.map { UInt32(truncatingIfNeeded: (now - $0) * 65536 / 1_000_000_000) } ?? 0
        return ReceptionReport(ssrc: ssrc, fractionLost: fraction, cumulativeLost: Int32(clamping: lost),
                               extendedHighestSequence: UInt32(truncatingIfNeeded: highest), jitter: UInt32(clamping: jitterScaled >> 4),
                               lastSenderReport: lastSenderReportArrival == nil ? 0 : lastSenderReportNTP,
                               delaySinceLastSenderReport: delay)
    }
}

/// Which sequence numbers of a received stream are missing, and when to ask for them
/// again (RFC 4585 generic NACK): after a gap, each missing packet is requested, then again
/// every round-trip time, up to a limit, and given up after it is too old to be useful.
public struct NACKGenerator: Sendable {
    struct Missing {
        var since: UInt64
        var requests: Int
        var lastRequest: UInt64?
    }

    public var maximumRequests = 10
    public var maximumAge: UInt64 = 1_000_000_000
    /// At most this many sequence numbers per NACK (the oldest first; the rest wait for the
    /// next round): enough for any loss a picture survives, and a feedback packet that always
    /// fits the RTCP buffer, whatever a sender's sequence numbers do.
    public var maximumPerRequest = 200
    /// A gap wider than this is a restart of the stream, not loss.
    public var maximumGap: Int64 = 1000
    private var unwrapper = SequenceUnwrapper()
    private var highest: Int64?
    private var missing: [Int64: Missing] = [:]

    public init() {}

    public mutating func received(sequence: UInt16, now: UInt64) {
        let extended = unwrapper.unwrap(sequence)
        guard let highest else {
            self.highest = extended
            return
        }
        if extended > highest {
            if extended - highest <= maximumGap {
                for lost in (highest + 1)..<extended { missing[lost] = Missing(since: now, requests: 0) }
            } else {
                missing.removeAll()
            }
            self.highest = extended
        } else {
            missing[extended] = nil  // a late or retransmitted packet filled its gap
        }
    }

    /// The sequence numbers to put in a NACK now, each asked for at most once per `retryInterval`.
    public mutating func due(now: UInt64, retryInterval: UInt64) -> [UInt16] {
        var requested: [UInt16] = []
        for (sequence, entry) in missing.sorted(by: { $0.key < $1.key }) {
            if now - entry.since > maximumAge || entry.requests >= maximumRequests {
                missing[sequence] = nil
                continue
            }
            if let last = entry.lastRequest, now - last < retryInterval { continue }
            guard requested.count < maximumPerRequest else { break }
            missing[sequence]?.requests += 1
            missing[sequence]?.lastRequest = now
            requested.append(UInt16(truncatingIfNeeded: sequence))
        }
        return requested
    }

    public var missingCount: Int { missing.count }
}
