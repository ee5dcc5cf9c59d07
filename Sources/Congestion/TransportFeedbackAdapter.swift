import RTCP

/// One packet of a transport-cc feedback joined with the send history: what a congestion
/// controller learns from (libwebrtc `PacketResult`).
public struct PacketResult: Sendable, Equatable {
    public var sequence: Int64
    public var sentAt: UInt64
    public var size: Int
    /// Arrival on the receiver's clock in µs; only differences between arrivals mean
    /// anything. Nil: reported lost.
    public var arrival: Int64?
}

/// Joins each transport-cc feedback the box receives with its send history (libwebrtc
/// `TransportFeedbackAdapter::ProcessTransportFeedback`): arrival times rebuilt from the
/// reference time and the deltas, reference times unwrapped across feedbacks (24 bits of
/// 64 ms), packets already acknowledged skipped, reports of packets the history no longer holds
/// counted, and lost feedback packets detected by gaps in the feedback count. The results of
/// the last feedback stay in `results` (a buffer reused, no allocation once it has grown).
public struct TransportFeedbackAdapter: Sendable {
    public private(set) var results: [PacketResult] = []
    public private(set) var statistics = Statistics()
    private var lastCount: UInt8?
    private var lastReference: Int64?
    private var firstArrival: Int64?

    public struct Statistics: Sendable, Equatable {
        public var feedbacks = 0
        /// Feedback packets that never came (gaps in their count).
        public var feedbacksLost = 0
        public var acknowledged = 0
        public var reportedLost = 0
        /// Reports of packets the history does not hold (too old, or never sent by us).
        public var unmatched = 0
        /// Octets acknowledged, and the span of their arrivals (µs): the average rate the
        /// receiver took over the call.
        public var acknowledgedOctets = 0
        public var arrivalSpan: Int64 = 0

        /// kbit/s acknowledged on average; nil before 100 ms of arrivals.
        public var averageAcknowledgedKbps: Int? {
            arrivalSpan >= 100_000 ? Int(Int64(acknowledgedOctets) * 8_000 / arrivalSpan) : nil
        }

        public init(feedbacks: Int = 0, feedbacksLost: Int = 0, acknowledged: Int = 0, reportedLost: Int = 0, unmatched: Int = 0,
                    acknowledgedOctets: Int = 0, arrivalSpan: Int64 = 0) {
            (self.feedbacks, self.feedbacksLost, self.acknowledged, self.reportedLost, self.unmatched) =
                (feedbacks, feedbacksLost, acknowledged, reportedLost, unmatched)
            (self.acknowledgedOctets, self.arrivalSpan) = (acknowledgedOctets, arrivalSpan)
        }
    }

    public init() {
        results.reserveCapacity(512)
    }

    /// 2^24 reference ticks: where the 24-bit reference time wraps.
    static let referenceWrap: Int64 = 1 << 24

    public mutating func process(_ feedback: TransportCCFeedback, history: inout TransportSendHistory) {
        results.removeAll(keepingCapacity: true)
        statistics.feedbacks += 1
        if let lastCount {
            // A gap forward is lost feedback; a step back (reordered, repeated) is not.
            let gap = Int(feedback.feedbackCount &- lastCount &- 1)
            if gap < 128 { statistics.feedbacksLost += gap }
        }
        lastCount = feedback.feedbackCount
        var reference = Int64(feedback.referenceTime)
        if let lastReference {
            // The nearest unwrapped value to the previous reference.
            let difference = (reference - lastReference) % Self.referenceWrap
            reference = lastReference + (difference > Self.referenceWrap / 2 ? difference - Self.referenceWrap
                : difference < -Self.referenceWrap / 2 ? difference + Self.referenceWrap : difference)
        }
        lastReference = reference
        var time = reference * Int64(TransportCCFeedback.referenceTickMicroseconds)
        for packet in feedback.packets {
            if let delta = packet.delta { time += Int64(delta) * Int64(TransportCCFeedback.deltaTickMicroseconds) }
            guard let (unwrapped, entry) = history.entry(packet.sequence) else {
                statistics.unmatched += 1
                continue
            }
            guard !entry.acknowledged else { continue }
            if packet.delta != nil {
                history.acknowledge(unwrapped)
                statistics.acknowledged += 1
                statistics.acknowledgedOctets += entry.size
                firstArrival = min(firstArrival ?? time, time)
                statistics.arrivalSpan = max(statistics.arrivalSpan, time - (firstArrival ?? time))
            } else {
                statistics.reportedLost += 1
            }
            results.append(PacketResult(sequence: unwrapped, sentAt: entry.sentAt, size: entry.size, arrival: packet.delta.map { _ in time }))
        }
    }
}
