// libFuzzer harness: the audio receive path after SRTP — RTP parsing, the RFC 6464 level,
// the jitter buffer and the playout decisions (FEC, PLC, buffering, time-stretching) — driven
// by a decoder that fails, under- and over-delivers on the input's say. Built by
// Tests/Fuzz/build.sh (Swift sources only, so the decoder is a fake, not libopus).
//
// Input: one byte of decoder behaviour, then records of
//   [arrival delta ms: u8][control: u8][length: u16 big-endian][RTP packet: length bytes]
// control bits 0–2 pick the duration (2.5, 5, 10, 20, 40, 60, 120 ms, or an invalid 1000
// samples), bits 3–5 the number of extra 10 ms blocks rendered before the packet arrives.

private struct FuzzDecoder: AudioFrameDecoder {
    var behaviour: UInt8
    var calls = 0

    mutating func decode(_ packet: UnsafeRawBufferPointer, fec: Bool, into output: UnsafeMutableBufferPointer<Float>,
                         samples: Int) -> Int? {
        precondition(output.count >= samples && samples > 0 && !packet.isEmpty)
        calls += 1
        let first = packet[0]
        if behaviour & 1 != 0 && first % 7 == 0 { return nil }
        // Lie about the count now and then: the playout must clamp and pad.
        let claimed = behaviour & 2 != 0 && first % 5 == 0 ? samples + 480 : (behaviour & 4 != 0 && first % 3 == 0 ? samples / 2 : samples)
        for index in 0..<min(claimed, samples) { output[index] = Float(Int(first) - 128) / 128 * (fec ? 0.5 : 1) }
        return claimed
    }

    mutating func conceal(into output: UnsafeMutableBufferPointer<Float>, samples: Int) -> Int? {
        precondition(output.count >= samples && samples > 0)
        calls += 1
        if behaviour & 8 != 0 && calls % 3 == 0 { return nil }
        for index in 0..<samples { output[index] = 0.01 }
        return samples
    }

    mutating func reset() {}
}

private let fuzzDurations = [120, 240, 480, 960, 1920, 2880, 5760, 1000]

private func fuzzRender(_ playout: inout AudioPlayout<FuzzDecoder>, _ block: UnsafeMutableBufferPointer<Float>,
                        _ playback: inout UInt64) {
    _ = playout.render(into: block, now: playback)
    for sample in block { precondition(sample.isFinite && abs(sample) <= 1.01) }
    playback += 10_000_000
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAudioReceive(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard size > 0 else { return 0 }
    var configuration = JitterBufferConfiguration()
    configuration.slotCount = 16  // small, so overflow and restarts are reachable
    var playout = AudioPlayout(decoder: FuzzDecoder(behaviour: bytes[0]), configuration: configuration)
    let block = UnsafeMutableBufferPointer<Float>.allocate(capacity: configuration.blockSamples)
    defer { block.deallocate() }
    var offset = 1
    var arrival: UInt64 = 0
    var playback: UInt64 = 0

    while offset + 4 <= size {
        let delta = UInt64(bytes[offset]), control = bytes[offset + 1]
        let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
        offset += 4
        guard offset + length <= size else { break }
        let packet = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
        offset += length
        arrival += delta * 1_000_000
        for _ in 0..<Int((control >> 3) & 7) { fuzzRender(&playout, block, &playback) }
        while playback + 10_000_000 <= arrival { fuzzRender(&playout, block, &playback) }
        guard let view = RTPPacketView(packet) else { continue }
        var level: UInt8?
        for element in view.extensionElements where element.id == 1 && element.data.count >= 1 {
            level = element.data[0] & 0x7F
        }
        let outcome = playout.insert(sequence: view.header.sequenceNumber, timestamp: view.header.timestamp,
                                     duration: fuzzDurations[Int(control & 7)], audioLevel: level,
                                     marker: view.header.marker, payload: view.payload, arrival: arrival)
        if view.payload.isEmpty || control & 7 == 7 { precondition(outcome == .invalid) }
    }
    for _ in 0..<30 { fuzzRender(&playout, block, &playback) }

    let statistics = playout.statistics
    precondition(statistics.duplicates + statistics.late <= statistics.received)
    precondition(statistics.lost >= 0 && statistics.concealedBlocks >= 0 && statistics.bufferedDelayMilliseconds >= 0)
    precondition((40...500).contains(statistics.targetDelayMilliseconds))
    return 0
}
