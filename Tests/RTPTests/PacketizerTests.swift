import Testing
import Wire
@testable import RTP

/// Splitting frames into packets, and the send history.
@Suite struct PacketizerTests {
    struct Sent {
        var header: RTPHeader
        var descriptor: VP8PayloadDescriptor
        var payload: [UInt8]
        var size: Int
        var transportSequence: UInt16?
    }

    func packetize(_ packetizer: inout VP8Packetizer, frame: [UInt8], timestamp: UInt32 = 1000,
                   layer: VP8LayerInfo? = nil, transportStart: UInt16? = nil) -> [Sent] {
        var sent: [Sent] = []
        var transport = transportStart
        var buffer = [UInt8](repeating: 0, count: 1500)
        buffer.withUnsafeMutableBytes { raw in
            frame.withUnsafeBytes { frameBytes in
                _ = packetizer.packetize(frame: frameBytes, timestamp: timestamp, layer: layer, into: raw, extensions: {
                    defer { transport = transport.map { $0 &+ 1 } }
                    return RTPExtensionValues(transportWideSequence: transport)
                }) { packet, sequence in
                    let view = RTPPacketView(UnsafeRawBufferPointer(packet))!
                    #expect(view.header.sequenceNumber == sequence)
                    var reader = ByteReader(view.payload)
                    let descriptor = VP8PayloadDescriptor.parse(&reader)!
                    let tseq = view.extensionElements.first { $0.id == 5 }.map { UInt16($0.data[0]) << 8 | UInt16($0.data[1]) }
                    sent.append(Sent(header: view.header, descriptor: descriptor, payload: Array(reader.readBytes(reader.remaining)!),
                                     size: packet.count, transportSequence: tseq))
                }
            }
        }
        return sent
    }

    func makePacketizer(sequence: UInt16 = 100, pictureID: UInt16 = 7) -> VP8Packetizer {
        VP8Packetizer(ssrc: 0x1111, payloadType: 100, extensionIDs: .jitsiDefaults, maxPacketSize: 1200,
                      initialSequenceNumber: sequence, initialPictureID: pictureID)
    }

    @Test func aSmallFrameIsOnePacketWithStartAndMarker() {
        var packetizer = makePacketizer()
        let sent = packetize(&packetizer, frame: [1, 2, 3])
        #expect(sent.count == 1)
        #expect(sent[0].header.marker && sent[0].descriptor.startOfPartition)
        #expect(sent[0].descriptor.pictureID == 7 && sent[0].header.sequenceNumber == 100 && sent[0].header.timestamp == 1000)
        #expect(sent[0].payload == [1, 2, 3])
        #expect(packetizer.pictureID == 8 && packetizer.sequenceNumber == 101)
    }

    @Test(arguments: [1200, 5000, 20_000, 65_000])
    func largeFramesSplitIntoNearEqualPacketsWithinTheMTU(frameSize: Int) {
        var packetizer = makePacketizer()
        let frame = (0..<frameSize).map { UInt8(truncatingIfNeeded: $0 * 31) }
        let sent = packetize(&packetizer, frame: frame, transportStart: 65534)
        #expect(sent.allSatisfy { $0.size <= 1200 })
        #expect(sent.flatMap(\.payload) == frame)
        let sizes = sent.map(\.payload.count)
        #expect(sizes.max()! - sizes.min()! <= 1)
        #expect(sent.map(\.descriptor.startOfPartition) == [true] + Array(repeating: false, count: sent.count - 1))
        #expect(sent.map(\.header.marker) == Array(repeating: false, count: sent.count - 1) + [true])
        #expect(Set(sent.compactMap(\.descriptor.pictureID)) == [7] && Set(sent.map(\.header.timestamp)) == [1000])
        #expect(sent.map(\.header.sequenceNumber) == (0..<sent.count).map { 100 + UInt16($0) })
        #expect(sent.map(\.transportSequence) == (0..<sent.count).map { 65534 &+ UInt16($0) })
        // Fewest packets the MTU allows: one fewer would not fit.
        let capacity = 1200 - 12 - 8 - 4
        #expect(sent.count == (frameSize + capacity - 1) / capacity)
    }

    @Test func sequenceNumbersAndPictureIDsWrap() {
        var packetizer = makePacketizer(sequence: 0xFFFF, pictureID: 0x7FFF)
        let first = packetize(&packetizer, frame: [1])
        let second = packetize(&packetizer, frame: [2])
        #expect(first[0].header.sequenceNumber == 0xFFFF && second[0].header.sequenceNumber == 0)
        #expect(first[0].descriptor.pictureID == 0x7FFF && second[0].descriptor.pictureID == 0)
    }

    @Test func temporalLayersCarryTL0PictureIndexAndTID() {
        var packetizer = makePacketizer()
        let pattern: [VP8LayerInfo] = [.init(temporalLayer: 0, layerSync: false), .init(temporalLayer: 1, layerSync: true),
                                       .init(temporalLayer: 0, layerSync: false), .init(temporalLayer: 1, layerSync: false)]
        let descriptors = pattern.map { packetize(&packetizer, frame: [0], layer: $0)[0].descriptor }
        #expect(descriptors.map(\.tl0PictureIndex) == [1, 1, 2, 2])
        #expect(descriptors.map(\.temporalLayer) == [0, 1, 0, 1])
        #expect(descriptors.map(\.layerSync) == [false, true, false, false])
    }

    @Test func opusHeadersLeaveRoomForThePayloadInPlace() {
        var packetizer = OpusPacketizer(ssrc: 0x2222, payloadType: 111, extensionIDs: .jitsiDefaults, initialSequenceNumber: 5)
        var buffer = [UInt8](repeating: 0, count: 64)
        let offset = buffer.withUnsafeMutableBytes {
            packetizer.writeHeader(into: $0, timestamp: 960, marker: true,
                                   extensions: RTPExtensionValues(audioLevel: AudioLevel(level: 20, voiceActivity: true)))
        }
        #expect(offset == 20)
        buffer[offset] = 0xFC  // an Opus TOC byte, as the encoder would write it
        Array(buffer[0...offset]).withUnsafeBytes { raw in
            let view = RTPPacketView(raw)
            #expect(view?.header == RTPHeader(marker: true, payloadType: 111, sequenceNumber: 5, timestamp: 960, ssrc: 0x2222))
            #expect(view.map { Array($0.payload) } == [0xFC])
            #expect(view?.extensionElements.first.map { Array($0.data) } == [0x94])
        }
        #expect(packetizer.sequenceNumber == 6)
    }

    @Test func historyKeepsPacketsUntilOverwrittenOrTooOld() {
        let history = SendHistory(capacity: 4, slotSize: 16, maximumAgeNanoseconds: 1_000_000_000)
        for sequence in UInt16(65533)...UInt16(65535) {
            let packet = [UInt8](repeating: UInt8(sequence & 0xFF), count: 10)
            packet.withUnsafeBytes { history.store($0, sequenceNumber: sequence, sentAt: 100) }
        }
        [UInt8](repeating: 0, count: 3).withUnsafeBytes { history.store($0, sequenceNumber: 0, sentAt: 200) }
        #expect(history.withPacket(sequenceNumber: 65534, now: 300) { Array($0) } == [UInt8](repeating: 0xFE, count: 10))
        #expect(history.withPacket(sequenceNumber: 0, now: 300) { $0.count } == 3)
        // 65532 shared a slot with 0 and was overwritten; 1 was never sent.
        #expect(history.withPacket(sequenceNumber: 65532, now: 300) { _ in true } == nil)
        #expect(history.withPacket(sequenceNumber: 1, now: 300) { _ in true } == nil)
        #expect(history.withPacket(sequenceNumber: 65535, now: 1_000_000_101) { _ in true } == nil, "older than a second")
        #expect(SendHistory(bitrateKbps: 8000, slotSize: 1200).capacity >= 1024)
    }
}
