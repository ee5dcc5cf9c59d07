// libFuzzer harness: RTCP compound parsing (reports, SDES, BYE, NACK, PLI, FIR, REMB,
// transport-cc), and writing back what parsed; transport-cc feedback written back must read
// the same, and joined with a send history it acknowledges each packet once. The same input
// also drives the transport-cc generator: each 4 octets are a sequence step, an arrival step
// and a marker, and every feedback it writes must parse and report only packets that
// arrived. Built by Tests/Fuzz/build.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRTCP(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    var storage = [UInt8](repeating: 0, count: 65536 * 4)
    if let packets = RTCPPacket.parseCompound(input) {
        storage.withUnsafeMutableBytes { raw in
            var writer = ByteWriter(raw)
            for packet in packets {
                switch packet {
                case .senderReport(let report) where report.reports.count < 32: report.write(into: &writer)
                case .receiverReport(let report) where report.reports.count < 32: report.write(into: &writer)
                case .nack(let nack) where nack.lostSequenceNumbers.count < 1000: nack.write(into: &writer)
                case .transportCC(let feedback) where feedback.packets.count < 4000:
                    roundTrip(feedback)
                    join(feedback)
                default: break
                }
            }
        }
    }
    generate(input)
    return 0
}

/// Joined with a history of 3 000 packets sent (around the feedback's base), twice: every
/// result is a packet of the history, none is acknowledged twice.
private func join(_ feedback: TransportCCFeedback) {
    var history = TransportSendHistory()
    for index in 0..<3000 {
        history.record(sequence: feedback.baseSequence &- 1000 &+ UInt16(index), size: 1200, at: UInt64(index) * 1_000_000)
    }
    var adapter = TransportFeedbackAdapter()
    var acknowledged = Set<Int64>()
    for _ in 0..<2 {
        adapter.process(feedback, history: &history)
        precondition(adapter.results.count <= feedback.packets.count, "more results than reports")
        for result in adapter.results where result.arrival != nil {
            precondition(acknowledged.insert(result.sequence).inserted, "a packet acknowledged twice")
        }
    }
    // The estimator reads whatever the join gives (arrivals in any order, sizes, times),
    // twice to reach its second group and the rate control.
    var estimator = DelayBasedEstimator(startBps: 1_000_000)
    estimator.process(adapter.results, at: 1_000_000)
    let estimate = estimator.process(adapter.results, at: 1_100_000)
    precondition(estimate.bps >= 5_000 && estimate.bps <= 30_000_000, "an estimate outside its bounds: \(estimate)")
}

/// Written and read again, a feedback is the same.
private func roundTrip(_ feedback: TransportCCFeedback) {
    var storage = [UInt8](repeating: 0, count: 20 + 4000 * 3)
    let again = storage.withUnsafeMutableBytes { raw -> [RTCPPacket]? in
        var writer = ByteWriter(raw)
        feedback.write(into: &writer)
        return RTCPPacket.parseCompound(UnsafeRawBufferPointer(rebasing: raw[0..<writer.offset]))
    }
    precondition(again == [.transportCC(feedback)], "transport-cc feedback changed on the way through")
}

/// The generator fed from the input: every feedback parses, and reports as received only
/// sequence numbers that arrived.
private func generate(_ input: UnsafeRawBufferPointer) {
    var generator = TransportFeedbackGenerator()
    var arrived = Set<UInt16>()
    var sequence: UInt16 = 0, now: UInt64 = 1_000_000_000
    var storage = [UInt8](repeating: 0, count: 1500)
    var offset = 0
    while offset + 4 <= input.count {
        sequence &+= UInt16(input[offset]) &- 8  // mostly forward, sometimes back (reordering, duplicates)
        now += UInt64(input[offset + 1]) << (input[offset + 2] & 0x1F)
        offset += 4
        arrived.insert(sequence)
        let due = generator.received(sequence: sequence, mediaSSRC: 1, marker: input[offset - 1] & 1 == 1, now: now)
        guard due || generator.isDue(now: now) else { continue }
        var more = true
        while more {
            storage.withUnsafeMutableBytes { raw in
                var writer = ByteWriter(raw)
                more = generator.write(sender: 2, into: &writer)
                guard case .transportCC(let feedback)? = RTCPPacket.parseCompound(UnsafeRawBufferPointer(rebasing: raw[0..<writer.offset]))?.first else {
                    preconditionFailure("the generator wrote a feedback that does not parse")
                }
                for packet in feedback.packets where packet.delta != nil {
                    precondition(arrived.contains(packet.sequence), "reported a packet that never arrived")
                }
            }
        }
    }
}
