import Testing
import Wire
@testable import RTP

/// Hand-built VP8 frames: a real frame tag (RFC 6386 §9.1) and, for key frames, the start code
/// and size (§9.2), then filler bytes standing for the compressed partitions.
enum VP8TestFrames {
    /// The 3-byte frame tag: P=0 for a key frame, version 0, show_frame 1.
    static func tag(keyframe: Bool, firstPartitionSize: Int) -> [UInt8] {
        let value = UInt32(firstPartitionSize) << 5 | 0x10 | (keyframe ? 0 : 1)
        return [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value >> 16)]
    }

    /// A key frame header; `scale` goes into the top two bits of both sizes.
    static func keyframeHeader(width: UInt16, height: UInt16, scale: UInt16 = 0, firstPartitionSize: Int = 1234) -> [UInt8] {
        let scaledWidth = width | scale << 14, scaledHeight = height | scale << 14
        return tag(keyframe: true, firstPartitionSize: firstPartitionSize) + [0x9D, 0x01, 0x2A,
            UInt8(scaledWidth & 0xFF), UInt8(scaledWidth >> 8), UInt8(scaledHeight & 0xFF), UInt8(scaledHeight >> 8)]
    }

    static func filler(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 131) ^ (seed &* 29) ^ ($0 >> 8)) }
    }

    static func keyframe(width: UInt16 = 640, height: UInt16 = 360, size: Int, seed: Int = 0) -> [UInt8] {
        keyframeHeader(width: width, height: height) + filler(size - 10, seed: seed)
    }

    static func deltaFrame(size: Int, seed: Int) -> [UInt8] {
        tag(keyframe: false, firstPartitionSize: 100) + filler(size - 3, seed: seed)
    }
}

func encoded(_ descriptor: VP8PayloadDescriptor) -> [UInt8] {
    var storage = [UInt8](repeating: 0, count: 8)
    let count = storage.withUnsafeMutableBytes { raw -> Int in
        var writer = ByteWriter(raw)
        descriptor.write(into: &writer)
        return writer.offset
    }
    return Array(storage[0..<count])
}

/// A parsed payload in plain values, so results (and errors) compare with `==`.
struct ParsedPayload: Equatable {
    var descriptor: VP8PayloadDescriptor
    var data: [UInt8]
    var header: VP8PayloadHeader?
    var startsFrame: Bool
}

func depacketize(_ bytes: [UInt8]) -> Result<ParsedPayload, VP8ReceiveError> {
    bytes.withUnsafeBytes { raw in
        do throws(VP8ReceiveError) {
            let packet = try VP8Depacketizer.depacketize(raw)
            return .success(ParsedPayload(descriptor: packet.descriptor, data: Array(packet.data), header: packet.header,
                                          startsFrame: packet.startsFrame))
        } catch {
            return .failure(error)
        }
    }
}

func parseHeader(_ bytes: [UInt8]) -> Result<VP8PayloadHeader, VP8ReceiveError> {
    bytes.withUnsafeBytes { raw in
        do throws(VP8ReceiveError) { return .success(try VP8PayloadHeader(parsing: raw)) } catch { return .failure(error) }
    }
}

/// A descriptor and the bytes it took.
struct ParsedDescriptor: Equatable {
    var descriptor: VP8PayloadDescriptor
    var length: Int
}

func parseDescriptor(_ bytes: [UInt8]) -> Result<ParsedDescriptor, VP8ReceiveError> {
    bytes.withUnsafeBytes { raw in
        var reader = ByteReader(raw)
        do throws(VP8ReceiveError) {
            let descriptor = try VP8PayloadDescriptor(parsing: &reader)
            return .success(ParsedDescriptor(descriptor: descriptor, length: reader.offset))
        } catch {
            return .failure(error)
        }
    }
}

/// RFC 7741 §4.2–4.3: descriptors and payload headers of received packets.
@Suite struct VP8DepacketizerTests {
    @Test func keyframeHeaderGivesTheSizeAndIgnoresTheScaleBits() {
        let bytes = VP8TestFrames.keyframeHeader(width: 1280, height: 720, scale: 2, firstPartitionSize: 0x5_4321)
        #expect(parseHeader(bytes) == .success(VP8PayloadHeader(isKeyframe: true, version: 0, showFrame: true,
                                                                firstPartitionSize: 0x5_4321, width: 1280, height: 720)))
    }

    @Test func theFrameTagIsLittleEndianWithTheKeyframeFlagInBitZero() {
        // RFC 6386 §9.1: P=1 (delta), version 2, show_frame 0, first partition size 0x2345.
        let value: UInt32 = 0x2345 << 5 | 2 << 1 | 1
        let bytes = [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value >> 16), 0xAA]
        #expect(bytes == [0xA5, 0x68, 0x04, 0xAA])
        #expect(parseHeader(bytes) == .success(VP8PayloadHeader(isKeyframe: false, version: 2, showFrame: false,
                                                                firstPartitionSize: 0x2345)))
    }

    @Test func everyTruncatedKeyframeHeaderFailsCleanly() {
        let bytes = VP8TestFrames.keyframeHeader(width: 320, height: 180)
        for length in 0..<bytes.count {
            let needed = length < 3 ? 3 : 10
            #expect(parseHeader(Array(bytes[0..<length])) == .failure(.truncatedPayloadHeader(available: length, needed: needed)))
        }
    }

    @Test func keyframesWithoutTheStartCodeOrWithoutAPictureAreRejected() {
        var wrongCode = VP8TestFrames.keyframeHeader(width: 320, height: 180)
        wrongCode[4] = 0x02
        #expect(parseHeader(wrongCode) == .failure(.invalidStartCode(0x9D, 0x02, 0x2A)))
        let noHeight = VP8TestFrames.keyframeHeader(width: 320, height: 0, scale: 1)
        #expect(parseHeader(noHeight) == .failure(.zeroDimension(width: 320, height: 0)))
    }

    @Test func theFirstPacketOfAFrameCarriesTheHeader() {
        let descriptor = VP8PayloadDescriptor(startOfPartition: true, pictureID: 0x1234, tl0PictureIndex: 7, temporalLayer: 0)
        let frame = VP8TestFrames.keyframe(width: 640, height: 360, size: 40)
        #expect(depacketize(encoded(descriptor) + frame) == .success(ParsedPayload(
            descriptor: descriptor, data: frame,
            header: VP8PayloadHeader(isKeyframe: true, firstPartitionSize: 1234, width: 640, height: 360), startsFrame: true)))
    }

    /// Only S=1 with PID=0 starts a frame; later packets' data is not a payload header.
    @Test(arguments: [(true, UInt8(1)), (false, UInt8(0))])
    func otherPacketsAreNotParsedForAHeader(startOfPartition: Bool, partitionIndex: UInt8) {
        let descriptor = VP8PayloadDescriptor(startOfPartition: startOfPartition, partitionIndex: partitionIndex, pictureID: 9)
        let data: [UInt8] = [0x00, 0xFF]  // would be a truncated key frame tag
        #expect(depacketize(encoded(descriptor) + data) == .success(ParsedPayload(descriptor: descriptor, data: data, header: nil,
                                                                                   startsFrame: false)))
    }

    /// Every prefix of a frame's first packet fails with the error of the part it cuts, and
    /// parses once the key frame header is whole.
    @Test func everyTruncatedPrefixOfAFirstPacketFailsCleanly() {
        let descriptor = VP8PayloadDescriptor(startOfPartition: true, pictureID: 0x7ABC, tl0PictureIndex: 200,
                                              temporalLayer: 2, layerSync: true, keyIndex: 3)
        let header = encoded(descriptor)
        let payload = header + VP8TestFrames.keyframe(size: 16)
        #expect(header.count == 6)
        for length in 0...payload.count {
            let result = depacketize(Array(payload[0..<length])).map(\.header)
            let expected: Result<VP8PayloadHeader?, VP8ReceiveError> = switch length {
            case 0..<6: .failure(.truncatedDescriptor(available: length))
            case 6: .failure(.emptyPayload)
            case 7..<9: .failure(.truncatedPayloadHeader(available: length - 6, needed: 3))
            case 9..<16: .failure(.truncatedPayloadHeader(available: length - 6, needed: 10))
            default: .success(VP8PayloadHeader(isKeyframe: true, firstPartitionSize: 1234, width: 640, height: 360))
            }
            #expect(result == expected, "prefix of \(length) bytes")
        }
    }

    @Test(arguments: [
        VP8PayloadDescriptor(startOfPartition: true),
        VP8PayloadDescriptor(startOfPartition: false, pictureID: 0x55, pictureIDIs15Bit: false),
        VP8PayloadDescriptor(startOfPartition: true, pictureID: 0x7FFF),
        VP8PayloadDescriptor(nonReference: true, startOfPartition: false, partitionIndex: 7, pictureID: 0, tl0PictureIndex: 255,
                             temporalLayer: 3, layerSync: true, keyIndex: 31),
        VP8PayloadDescriptor(startOfPartition: true, keyIndex: 5),
    ])
    func descriptorsRoundTripAndEveryPrefixFailsCleanly(_ descriptor: VP8PayloadDescriptor) {
        let bytes = encoded(descriptor)
        #expect(parseDescriptor(bytes) == .success(ParsedDescriptor(descriptor: descriptor, length: descriptor.length)))
        for cut in 0..<bytes.count {
            #expect(parseDescriptor(Array(bytes[0..<cut])) == .failure(.truncatedDescriptor(available: cut)))
        }
    }

    /// RFC 7741 §4.2: X=1 with no optional field is legal; T=0 with K=1 still takes the byte.
    @Test func extensionWithoutFieldsAndKeyIndexAlone() {
        #expect(parseDescriptor([0x80, 0x00, 0xAB]) == .success(ParsedDescriptor(descriptor: VP8PayloadDescriptor(startOfPartition: false),
                                                                                  length: 2)))
        #expect(depacketize([0x80, 0x10, 0x05, 0xCD]).map(\.data) == .success([0xCD]))
        #expect(depacketize([0x80, 0x10, 0x05, 0xCD]).map(\.descriptor) == .success(VP8PayloadDescriptor(startOfPartition: false,
                                                                                                           keyIndex: 5)))
    }
}
