import Testing
@testable import Wire

@Suite struct WireTests {
    @Test func sequenceNumberOrderAcrossWrap() {
        #expect(SequenceNumber.isNewer(1, than: 0xFFFF))
        #expect(!SequenceNumber.isNewer(0xFFFF, than: 1))
        #expect(!SequenceNumber.isNewer(5, than: 5))
        #expect(SequenceNumber.distance(from: 0xFFFE, to: 3) == 5)
        #expect(SequenceNumber.distance(from: 3, to: 0xFFFE) == -5)
    }

    @Test func unwrapperCountsAcrossWraps() {
        var unwrapper = SequenceUnwrapper()
        let values = [65534, 65535, 0, 1, 65535, 2].map { unwrapper.unwrap(UInt16($0)) }
        #expect(values == [65534, 65535, 65536, 65537, 65535, 65538])
    }

    @Test func mediaClocks() {
        #expect(MediaClock.rtpTimestamp(nanoseconds: 1_000_000_000, rate: 90000, offset: 10) == 90010)
        #expect(MediaClock.rtpTimestamp(nanoseconds: 20_000_000, rate: 48000, offset: UInt32.max) == 959)
        // A camera's wall-clock stamps (2023 as ns since 1970): no overflow, steps still exact.
        let wall: UInt64 = 1_700_000_000_000_000_000
        #expect(MediaClock.rtpTimestamp(nanoseconds: wall + 1_000_000_000, rate: 90000, offset: 0)
                &- MediaClock.rtpTimestamp(nanoseconds: wall, rate: 90000, offset: 0) == 90000)
        _ = MediaClock.rtpTimestamp(nanoseconds: .max, rate: 90000, offset: 7)
        #expect(MediaClock.absSendTime(nanoseconds: 1_500_000_000) == 0x06_0000)
        #expect(MediaClock.absSendTime(nanoseconds: 64_000_000_000) == 0)
        // 1970-01-01 is 2,208,988,800 s after the NTP epoch; half a second is 0x8000_0000.
        #expect(MediaClock.ntp(unixNanoseconds: 500_000_000) == (UInt64(2_208_988_800) << 32 | 0x8000_0000))
    }

    @Test func readerFailsCleanlyOnShortInput() {
        [UInt8]([1, 2, 3]).withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            #expect(reader.readUInt32() == nil)
            #expect(reader.readUInt16() == 0x0102)
            #expect(reader.readUInt16() == nil)
            #expect(reader.readUInt8() == 3)
            #expect(reader.readUInt8() == nil && reader.readBytes(1) == nil && reader.readBytes(0)?.count == 0)
        }
    }
}
