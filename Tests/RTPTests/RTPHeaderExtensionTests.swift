import Testing
import Wire
@testable import RTP

/// Header extensions written after the packet was built.
@Suite struct RTPHeaderExtensionTests {
    /// The transport-wide number is stamped as the packet leaves: only its two octets change.
    @Test func theTransportSequenceIsStampedInPlace() {
        var packetizer = OpusPacketizer(ssrc: 0x2222, payloadType: 111, extensionIDs: .jitsiDefaults, initialSequenceNumber: 5)
        var buffer = [UInt8](repeating: 0, count: 64)
        let offset = buffer.withUnsafeMutableBytes {
            packetizer.writeHeader(into: $0, timestamp: 960, marker: false,
                                   extensions: RTPExtensionValues(audioLevel: AudioLevel(level: 20, voiceActivity: true), transportWideSequence: 0))
        }
        buffer[offset] = 0xFC
        let before = Array(buffer[0...offset])
        var packet = before
        let stamped = packet.withUnsafeMutableBytes {
            RTPHeaderExtensions.stampSendTime(in: $0, absSendTimeID: nil, absSendTime: 0, transportSequenceID: 5, nextTransportSequence: { 0xBEEF })
        }
        #expect(stamped == 0xBEEF)
        packet.withUnsafeBytes { raw in
            #expect(RTPPacketView(raw)?.oneByteExtension(id: 5).map(Array.init) == [0xBE, 0xEF])
        }
        #expect(zip(before, packet).filter { $0 != $1 }.count == 2)
        var taken = 0
        let missing = packet.withUnsafeMutableBytes {
            RTPHeaderExtensions.stampSendTime(in: $0, absSendTimeID: 3, absSendTime: 0xABCDEF, transportSequenceID: 3, nextTransportSequence: { taken += 1; return 1 })
        }
        #expect(missing == nil && taken == 0, "no element with id 3: nothing written, no number taken")
        #expect(zip(before, packet).filter { $0 != $1 }.count == 2)
    }
}
