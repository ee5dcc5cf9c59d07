/// Groups the packets a feedback reports into the bursts they were sent in and gives the
/// delay change between consecutive groups, the signal GoogCC's delay detector reads
/// (libwebrtc `goog_cc/inter_arrival_delta.cc`, our own code on its rules).
///
/// A group is what left within 5 ms of its first packet: the box sends a video frame as one
/// burst, and its packets' spacing on arrival says nothing about the queue. A packet also
/// joins the group when it arrived within 5 ms of the group's last one having "caught up"
/// (its propagation delay fell: a queue drained a burst), for at most 100 ms. Times are µs:
/// send times on the box's clock, arrival times on the receiver's; only differences count.
public struct InterArrivalGrouping: Sendable {
    public static let sendTimeGroupLength: Int64 = 5_000
    static let burstDeltaThreshold: Int64 = 5_000
    static let maxBurstDuration: Int64 = 100_000
    /// An arrival clock that jumps this much against the box's own clock (the receiver
    /// restarted, or its clock stepped) starts afresh.
    static let arrivalTimeOffsetThreshold: Int64 = 3_000_000
    /// Groups that arrive out of order in a row before starting afresh.
    static let reorderedResetThreshold = 3

    struct Group {
        var firstSend: Int64 = 0
        var send: Int64 = 0
        var firstArrival: Int64 = 0
        /// Arrival of the group's last packet; nil while the group is empty.
        var complete: Int64?
        var localTime: Int64 = 0
        var size = 0
    }

    /// The change from one completed group to the next.
    public struct Deltas: Sendable, Equatable {
        public var send: Int64
        public var arrival: Int64
        public var size: Int
    }

    private var current = Group()
    private var previous = Group()
    private var reorderedInARow = 0

    public init() {}

    /// One acknowledged packet, in arrival order, with the box's clock when its feedback came
    /// (`localTime`); the deltas when it started a new group after two complete ones.
    public mutating func add(sentAt send: Int64, arrival: Int64, localTime: Int64, size: Int) -> Deltas? {
        var deltas: Deltas?
        if current.complete == nil {
            current.send = send
            current.firstSend = send
            current.firstArrival = arrival
        } else if current.firstSend > send {
            return nil  // sent before the group began: reordered, not part of the signal
        } else if startsNewGroup(send: send, arrival: arrival, current: current) {
            if let previousComplete = previous.complete, let currentComplete = current.complete {
                let sendDelta = current.send - previous.send
                let arrivalDelta = currentComplete - previousComplete
                let localDelta = current.localTime - previous.localTime
                if arrivalDelta - localDelta >= Self.arrivalTimeOffsetThreshold {
                    reset()
                    return nil
                }
                if arrivalDelta < 0 {
                    reorderedInARow += 1
                    if reorderedInARow >= Self.reorderedResetThreshold { reset() }
                    return nil
                }
                reorderedInARow = 0
                deltas = Deltas(send: sendDelta, arrival: arrivalDelta, size: current.size - previous.size)
            }
            previous = current
            current = Group(firstSend: send, send: send, firstArrival: arrival)
        } else {
            current.send = max(current.send, send)
        }
        current.size += size
        current.complete = arrival
        current.localTime = localTime
        return deltas
    }

    private func startsNewGroup(send: Int64, arrival: Int64, current: Group) -> Bool {
        guard let complete = current.complete else { return false }
        let arrivalDelta = arrival - complete
        let sendDelta = send - current.send
        if sendDelta == 0 { return false }
        let propagationDelta = arrivalDelta - sendDelta
        if propagationDelta < 0 && arrivalDelta <= Self.burstDeltaThreshold && arrival - current.firstArrival < Self.maxBurstDuration {
            return false
        }
        return send - current.firstSend > Self.sendTimeGroupLength
    }

    private mutating func reset() {
        current = Group()
        previous = Group()
        reorderedInARow = 0
    }
}
