import Testing
import Wire
@testable import RTCP

func bytes(_ body: (inout ByteWriter) -> Void) -> [UInt8] {
    var storage = [UInt8](repeating: 0xEE, count: 1500)
    let count = storage.withUnsafeMutableBytes { raw -> Int in
        var writer = ByteWriter(raw)
        body(&writer)
        return writer.offset
    }
    return Array(storage[0..<count])
}

func parse(_ packet: [UInt8]) -> [RTCPPacket]? { packet.withUnsafeBytes { RTCPPacket.parseCompound($0) } }

@Suite struct RTCPPacketTests {
    static let block = ReceptionReport(ssrc: 0x0102_0304, fractionLost: 64, cumulativeLost: -3, extendedHighestSequence: 0x0001_0010,
                                       jitter: 42, lastSenderReport: 0xAABB_CCDD, delaySinceLastSenderReport: 65536)

    @Test func senderReportLayout() {
        let report = SenderReport(ssrc: 0x1111_1111, ntpTimestamp: 0x0102_0304_0506_0708, rtpTimestamp: 90000, packetCount: 10,
                                  octetCount: 1200, reports: [Self.block])
        let encoded = bytes { report.write(into: &$0) }
        #expect(Array(encoded[0..<4]) == [0x81, 200, 0x00, 0x0C], "V=2, RC=1, PT=SR, 13 words")
        #expect(encoded.count == 52)
        #expect(Array(encoded[32..<36]) == [0x40, 0xFF, 0xFF, 0xFD], "fraction 64/256, cumulative −3 in 24 bits")
        #expect(parse(encoded) == [.senderReport(report)])
    }

    @Test func compoundReportWithSourceDescription() {
        let compound = bytes {
            ReceiverReport(ssrc: 0x2222_2222, reports: [Self.block]).write(into: &$0)
            SourceDescriptionChunk.write([SourceDescriptionChunk(ssrc: 0x2222_2222, cname: "box")], into: &$0)
        }
        // SDES: header, SSRC, CNAME item (type 1, length 3, "box"), null terminator, padding to a word.
        #expect(Array(compound[32...]) == [0x81, 202, 0, 3, 0x22, 0x22, 0x22, 0x22, 1, 3, 0x62, 0x6F, 0x78, 0, 0, 0])
        #expect(parse(compound) == [.receiverReport(ReceiverReport(ssrc: 0x2222_2222, reports: [Self.block])),
                                    .sourceDescription([SourceDescriptionChunk(ssrc: 0x2222_2222, cname: "box")])])
    }

    /// RFC 4585 §6.2.1: PID is the first lost packet, bit i of BLP the loss of PID+i+1.
    @Test func nackPacksPidAndBitmask() {
        let nack = TransportLayerNACK(sender: 1, media: 2, lostSequenceNumbers: [101, 100, 103, 117, 118])
        let encoded = bytes { nack.write(into: &$0) }
        #expect(Array(encoded[12...]) == [0x00, 0x64, 0x00, 0x05, 0x00, 0x75, 0x00, 0x01], "100 with 101 and 103; 117 with 118")
        #expect(parse(encoded).map { $0 == [.nack(TransportLayerNACK(sender: 1, media: 2, lostSequenceNumbers: [100, 101, 103, 117, 118]))] } == true)
        let wrapped = TransportLayerNACK(sender: 1, media: 2, lostSequenceNumbers: [1, 65535])
        #expect(Array(bytes { wrapped.write(into: &$0) }[12...]) == [0xFF, 0xFF, 0x00, 0x02], "65535, then 1 two later")
    }

    @Test func pictureLossAndFullIntraRequests() {
        let pli = bytes { PayloadFeedback.writePictureLossIndication(sender: 7, media: 9, into: &$0) }
        #expect(pli == [0x81, 206, 0, 2, 0, 0, 0, 7, 0, 0, 0, 9])
        #expect(parse(pli) == [.pictureLossIndication(sender: 7, media: 9)])
        let fir = bytes { PayloadFeedback.writeFullIntraRequest(sender: 7, media: 9, sequence: 3, into: &$0) }
        #expect(parse(fir) == [.fullIntraRequest(sender: 7, entries: [.init(ssrc: 9, sequence: 3)])])
    }

    @Test func rembCarriesMantissaAndExponent() {
        // 'REMB', 1 SSRC, exponent 2, mantissa 0x3FFFF → 1,048,572 bit/s.
        let packet: [UInt8] = [0x8F, 206, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0x52, 0x45, 0x4D, 0x42, 1, 0x0B, 0xFF, 0xFF, 0, 0, 0x12, 0x34]
        #expect(parse(packet) == [.remb(ReceiverEstimatedMaximumBitrate(sender: 1, bitrate: 1_048_572, ssrcs: [0x1234]))])
    }

    /// A transport-cc feedback with a run-length chunk and a two-bit status vector chunk.
    @Test func transportWideFeedbackDecodes() {
        let packet: [UInt8] = [0x8F, 205, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2,
                               0x00, 0x0A, 0x00, 0x06, 0x00, 0x00, 0x10, 0x07,  // base 10, 6 packets, ref 16 (×64 ms), count 7
                               0x20, 0x03,                                      // run length: 3 × "small delta"
                               0xE0, 0x00,                                      // two-bit vector: large, then not received
                               0x04, 0x08, 0x0C, 0xFF, 0xFE]                    // deltas 4, 8, 12 (small), −2 (large)
        guard case .transportCC(let feedback)? = parse(packet + [0, 0, 0])?.first else { Issue.record("not parsed"); return }
        #expect(feedback.baseSequence == 10 && feedback.referenceTime == 16 && feedback.feedbackCount == 7)
        #expect(feedback.packets.map(\.sequence) == [10, 11, 12, 13, 14, 15])
        #expect(feedback.packets.map(\.delta) == [4, 8, 12, -2, nil, nil])
    }

    @Test func goodbyeWithReason() {
        let bye = bytes { Goodbye.write(ssrcs: [5, 6], reason: "lesson over", into: &$0) }
        #expect(parse(bye) == [.goodbye(ssrcs: [5, 6], reason: "lesson over")])
    }

    /// RFC 3550 ends each SDES chunk with one or more null octets up to a 32-bit boundary. A
    /// 16-character CNAME (the box's, like browsers') gives exactly two, which receivers that
    /// read the end marker as a type/length pair (aiortc) also parse.
    @Test func aSixteenCharacterCNAMEEndsEachChunkWithTwoNulls() {
        let sdes = bytes {
            SourceDescriptionChunk.write([SourceDescriptionChunk(ssrc: 7, cname: "classbox-abcdefg"),
                                          SourceDescriptionChunk(ssrc: 8, cname: "classbox-abcdefg")], into: &$0)
        }
        #expect(sdes.count == 4 + 2 * 24)
        for chunk in 0..<2 {
            let start = 4 + chunk * 24
            #expect(sdes[start + 4] == 1 && sdes[start + 5] == 16, "CNAME item of 16 octets")
            #expect(Array(sdes[start + 22..<start + 24]) == [0, 0], "two null octets end chunk \(chunk)")
        }
        #expect(parse(sdes) == [.sourceDescription([SourceDescriptionChunk(ssrc: 7, cname: "classbox-abcdefg"),
                                                    SourceDescriptionChunk(ssrc: 8, cname: "classbox-abcdefg")])])
    }

    @Test func malformedAndTruncatedCompoundsAreRejected() {
        let compound = bytes {
            SenderReport(ssrc: 1, ntpTimestamp: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5, reports: [Self.block]).write(into: &$0)
            SourceDescriptionChunk.write([SourceDescriptionChunk(ssrc: 1, cname: "abcdef")], into: &$0)
        }
        for length in 0..<compound.count where length != 52 {  // 52: the SR alone, a valid compound
            #expect(parse(Array(compound[0..<length])) == nil, "prefix \(length)")
        }
        var badVersion = compound
        badVersion[0] = 0x41
        #expect(parse(badVersion) == nil)
        var overlong = compound
        overlong[3] = 0x40
        #expect(parse(overlong) == nil)
        #expect(parse([0x80, 210, 0, 0]) == [.other(packetType: 210, format: 0)], "unknown types are skipped, not fatal")
    }
}

/// A sender report's RTP time is the media clock at the report's own instant.
@Suite struct RTPClockMarkTests {
    @Test func theRTPTimeIsExtrapolatedToTheReportsInstantAtTheClockRate() {
        let mark = RTPClockMark(timestamp: 4_294_967_000, capturedAt: 10_000_000_000)
        #expect(mark.timestamp(at: 10_000_000_000, clockRate: 90000) == 4_294_967_000)
        #expect(mark.timestamp(at: 10_033_333_333, clockRate: 90000) == 4_294_967_000 &+ 2999, "a frame later, across the wrap")
        #expect(mark.timestamp(at: 11_500_000_000, clockRate: 48000) == 4_294_967_000 &+ 72_000)
        #expect(mark.timestamp(at: 9_990_000_000, clockRate: 48000) == 4_294_967_000 &- 480, "a capture time after the clock read")
    }

    @Test func aStreamsReportTimeNeverGoesBack() {
        var timeline = SenderReportTimeline()
        let onTime = RTPClockMark(timestamp: 4_294_967_000, capturedAt: 10_000_000_000)
        #expect(timeline.timestamp(for: onTime, at: 10_500_000_000, clockRate: 48000) == 4_294_967_000 &+ 24_000)
        // A second later a mark taken 1.25 s late: its RTP time lies behind the last report's.
        let late = RTPClockMark(timestamp: 4_294_967_000 &+ 12_000, capturedAt: 11_500_000_000)
        #expect(timeline.timestamp(for: late, at: 11_500_000_000, clockRate: 48000) == 4_294_967_000 &+ 72_000, "the last mapping carried on")
        #expect(timeline.heldBack == 1)
        // A sound mark is used as it is again.
        let sound = RTPClockMark(timestamp: 4_294_967_000 &+ 120_000, capturedAt: 12_500_000_000)
        #expect(timeline.timestamp(for: sound, at: 12_600_000_000, clockRate: 48000) == 4_294_967_000 &+ 124_800)
        #expect(timeline.heldBack == 1)
    }
}
