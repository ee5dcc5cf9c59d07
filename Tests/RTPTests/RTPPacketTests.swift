import Glibc
import Testing
import Wire

/// Test signals for RFC 6464 levels (960 samples = 20 ms at 48 kHz).
enum Signals {
    static let silence = [Int16](repeating: 0, count: 960)
    static let fullSquare: [Int16] = (0..<960).map { $0 % 2 == 0 ? Int16.max : -Int16.max }
    static let square20dB: [Int16] = (0..<960).map { $0 % 2 == 0 ? Int16(3277) : -3277 }
    static let fullSine: [Int16] = (0..<960).map { (i: Int) -> Int16 in Int16(32767 * sin(2 * Double.pi * Double(i) / 48)) }
    static let whisper: [Int16] = (0..<960).map { $0 % 2 == 0 ? Int16(10) : -10 }
}
@testable import RTP

/// Byte-exact RTP headers, RFC 8285 extensions, RFC 6464 levels and RFC 7741 descriptors.
@Suite struct RTPPacketTests {
    func bytes(_ body: (inout ByteWriter) -> Void) -> [UInt8] {
        var storage = [UInt8](repeating: 0xEE, count: 256)
        let count = storage.withUnsafeMutableBytes { raw -> Int in
            var writer = ByteWriter(raw)
            body(&writer)
            return writer.offset
        }
        return Array(storage[0..<count])
    }

    @Test func headerLayout() {
        let packet = bytes {
            RTPHeader.write(marker: true, payloadType: 100, sequenceNumber: 0xABCD, timestamp: 0x0102_0304, ssrc: 0xCAFE_BABE,
                            hasExtension: false, into: &$0)
        }
        #expect(packet == [0x80, 0xE4, 0xAB, 0xCD, 0x01, 0x02, 0x03, 0x04, 0xCA, 0xFE, 0xBA, 0xBE])
    }

    /// RFC 8285 §4.2: one-byte elements, L = length − 1, padded to a 32-bit boundary.
    @Test func oneByteHeaderExtensions() {
        let values = RTPExtensionValues(audioLevel: AudioLevel(level: 42, voiceActivity: true), absSendTime: 0x12_3456,
                                        transportWideSequence: 0x0102)
        let block = bytes { RTPHeaderExtensions.write(values, ids: .jitsiDefaults, into: &$0) }
        #expect(block == [0xBE, 0xDE, 0x00, 0x03,
                          0x10, 0xAA,              // id 1, L=0: V=1, level 42
                          0x51, 0x01, 0x02,        // id 5, L=1: transport-wide sequence
                          0x32, 0x12, 0x34, 0x56,  // id 3, L=2: abs-send-time
                          0x00, 0x00, 0x00])       // padding
        let onlyLevel = bytes { RTPHeaderExtensions.write(RTPExtensionValues(audioLevel: AudioLevel(level: 127, voiceActivity: false)),
                                                          ids: RTPHeaderExtensionIDs(audioLevel: 7), into: &$0) }
        #expect(onlyLevel == [0xBE, 0xDE, 0x00, 0x01, 0x70, 0x7F, 0x00, 0x00])
        #expect(!RTPHeaderExtensions.hasAny(values, ids: .none))
        #expect(VP8Packetizer.extensionLength(values, ids: .jitsiDefaults) == block.count)
    }

    @Test func extensionElementsParseBack() {
        let packet = bytes {
            RTPHeader.write(marker: false, payloadType: 111, sequenceNumber: 1, timestamp: 2, ssrc: 3, hasExtension: true, into: &$0)
            RTPHeaderExtensions.write(RTPExtensionValues(audioLevel: AudioLevel(level: 30, voiceActivity: true), transportWideSequence: 9),
                                      ids: .jitsiDefaults, into: &$0)
            $0.write(UInt32(0xDEAD_BEEF))
        }
        packet.withUnsafeBytes { raw in
            guard let view = RTPPacketView(raw) else { Issue.record("did not parse"); return }
            #expect(view.header == RTPHeader(payloadType: 111, sequenceNumber: 1, timestamp: 2, ssrc: 3))
            #expect(view.extensionElements.map(\.id) == [1, 5])
            #expect(view.extensionElements.map { Array($0.data) } == [[0x9E], [0x00, 0x09]])
            #expect(Array(view.payload) == [0xDE, 0xAD, 0xBE, 0xEF])
            #expect(view.oneByteExtension(id: 1).map(Array.init) == [0x9E])
            #expect(view.oneByteExtension(id: 5).map(Array.init) == [0x00, 0x09])
            #expect(view.oneByteExtension(id: 3) == nil)
        }
        // An element that runs past the block ends the search; padding before an element is skipped.
        let overrun: [UInt8] = [0x90, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xBE, 0xDE, 0, 1, 0x00, 0x13, 0xAA, 0xBB]
        overrun.withUnsafeBytes { raw in
            let view = RTPPacketView(raw)
            #expect(view != nil && view?.oneByteExtension(id: 1) == nil)
        }
        let padded: [UInt8] = [0x90, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xBE, 0xDE, 0, 1, 0x00, 0x00, 0x10, 0x7F]
        padded.withUnsafeBytes { raw in
            #expect(RTPPacketView(raw)?.oneByteExtension(id: 1).map(Array.init) == [0x7F])
        }
    }

    @Test func paddingAndCSRCsAreHonouredOnParse() {
        let packet: [UInt8] = [0xA1, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0x55, 0x66, 0, 0, 3]
        packet.withUnsafeBytes { raw in
            let view = RTPPacketView(raw)
            #expect(view?.header.csrcs == [4])
            #expect(view.map { Array($0.payload) } == [0x55, 0x66])
            #expect(view?.paddingLength == 3)
        }
        let badPadding: [UInt8] = [0xA0, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x55, 9]
        #expect(badPadding.withUnsafeBytes { RTPPacketView($0) } == nil)
        let version1: [UInt8] = [0x40, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]
        #expect(version1.withUnsafeBytes { RTPPacketView($0) } == nil)
    }

    /// RFC 6464 §3: the level is −dBov of the packet's RMS; silence is 127.
    @Test(arguments: [
        (Signals.silence, UInt8(127), false),
        (Signals.fullSquare, UInt8(0), true),
        (Signals.square20dB, UInt8(20), true),
        (Signals.fullSine, UInt8(3), true),
        (Signals.whisper, UInt8(70), false),
    ] as [([Int16], UInt8, Bool)])
    func audioLevels(samples: [Int16], level: UInt8, voice: Bool) {
        let measured = samples.withUnsafeBufferPointer { AudioLevel(samples: $0) }
        #expect(measured == AudioLevel(level: level, voiceActivity: voice))
    }

    @Test func vp8DescriptorLayouts() {
        let basic = VP8PayloadDescriptor(startOfPartition: true, pictureID: 0x1234)
        #expect(bytes { basic.write(into: &$0) } == [0x90, 0x80, 0x92, 0x34])
        let layered = VP8PayloadDescriptor(nonReference: true, startOfPartition: false, pictureID: 0x7FFF, tl0PictureIndex: 200,
                                           temporalLayer: 2, layerSync: true)
        #expect(bytes { layered.write(into: &$0) } == [0xA0, 0xE0, 0xFF, 0xFF, 200, 0xA0])
        #expect(bytes { VP8PayloadDescriptor(startOfPartition: true).write(into: &$0) } == [0x10])
        let short: [UInt8] = [0x80, 0x80, 0x05]  // 7-bit PictureID
        short.withUnsafeBytes {
            var reader = ByteReader($0)
            #expect(VP8PayloadDescriptor.parse(&reader) == VP8PayloadDescriptor(startOfPartition: false, pictureID: 5, pictureIDIs15Bit: false))
        }
    }

    @Test(arguments: [
        VP8PayloadDescriptor(startOfPartition: true),
        VP8PayloadDescriptor(startOfPartition: true, pictureID: 0x1234),
        VP8PayloadDescriptor(nonReference: true, startOfPartition: false, partitionIndex: 3, pictureID: 77, tl0PictureIndex: 9,
                             temporalLayer: 1, layerSync: true, keyIndex: 4),
    ])
    func vp8DescriptorRoundTripsAndEveryPrefixFailsCleanly(_ descriptor: VP8PayloadDescriptor) {
        let encoded = bytes { descriptor.write(into: &$0) }
        #expect(encoded.count == descriptor.length)
        encoded.withUnsafeBytes {
            var reader = ByteReader($0)
            #expect(VP8PayloadDescriptor.parse(&reader) == descriptor)
        }
        for length in 0..<encoded.count {
            Array(encoded[0..<length]).withUnsafeBytes {
                var reader = ByteReader($0)
                #expect(VP8PayloadDescriptor.parse(&reader) == nil)
            }
        }
    }

    @Test func everyPrefixOfAnRTPPacketParsesOrFailsCleanly() {
        let packet = bytes {
            RTPHeader.write(marker: true, payloadType: 100, sequenceNumber: 7, timestamp: 8, ssrc: 9, hasExtension: true, into: &$0)
            RTPHeaderExtensions.write(RTPExtensionValues(transportWideSequence: 1), ids: .jitsiDefaults, into: &$0)
        }
        for length in 0..<packet.count {
            #expect(Array(packet[0..<length]).withUnsafeBytes { RTPPacketView($0) } == nil)
        }
        #expect(packet.withUnsafeBytes { RTPPacketView($0) } != nil)
    }
}
