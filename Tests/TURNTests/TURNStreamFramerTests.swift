import STUN
import Testing
@testable import TURN

/// Messages cut out of a TCP/TLS stream however the bytes arrive (RFC 8656 §12.5: ChannelData
/// padded to four octets on a stream, STUN messages whole).
struct TURNStreamFramerTests {
    static let stun = STUNMessage(method: TURN.refresh, messageClass: .successResponse, transactionID: Array(repeating: 3, count: 12),
                                  attributes: [.lifetime(seconds: 600)]).encoded(fingerprint: false)
    /// 13 octets of data on channel 0x4000, then 3 octets of padding.
    static let channelData: [UInt8] = [0x40, 0x00, 0x00, 13] + Array(1...13) + [0, 0, 0]

    @Test func messagesComeOutWholeHoweverTheStreamIsCut() throws {
        let stream = Self.stun + Self.channelData + Self.stun
        for chunk in [1, 2, 3, 5, 7, 64] {
            var framer = TURNStreamFramer()
            var frames: [[UInt8]] = []
            for start in stride(from: 0, to: stream.count, by: chunk) {
                frames += try stream[start..<min(start + chunk, stream.count)].withUnsafeBytes { try framer.append($0) }
            }
            #expect(frames == [Self.stun, Array(Self.channelData.prefix(17)), Self.stun], "in chunks of \(chunk)")
            let parsed = frames[1].withUnsafeBytes { TURN.channelData($0) }
            #expect(parsed?.channel == 0x4000 && parsed?.data == 4..<17)
        }
        #expect(TURNStreamFramer.padding(forChannelData: 13) == 3 && TURNStreamFramer.padding(forChannelData: 16) == 0)
    }

    @Test func aStreamOutOfStepIsAFailureNotAGuess() {
        var framer = TURNStreamFramer()
        #expect(throws: TURNStreamFramer.Failure.outOfStep(0x80)) {
            try [UInt8]([0x80, 0, 0, 4, 1, 2, 3, 4]).withUnsafeBytes { try framer.append($0) }
        }
    }
}
