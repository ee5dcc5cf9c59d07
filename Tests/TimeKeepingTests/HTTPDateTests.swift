import Testing
@testable import TimeKeeping

/// RFC 9110 §5.6.7's three forms of the same instant, and what is not a date.
struct HTTPDateTests {
    // Sun, 06 Nov 1994 08:49:37 GMT (the RFC's example), as `date -u -d ... +%s` gives it.
    static let example: Int64 = 784_111_777

    @Test func theThreeFormsOfTheRFCsExampleAgree() {
        #expect(HTTPDate.seconds("Sun, 06 Nov 1994 08:49:37 GMT") == Self.example)
        #expect(HTTPDate.seconds("Sunday, 06-Nov-94 08:49:37 GMT") == Self.example)
        #expect(HTTPDate.seconds("Sun Nov  6 08:49:37 1994") == Self.example)
    }

    @Test func datesAroundLeapYearsAndTheEpoch() {
        #expect(HTTPDate.seconds("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPDate.seconds("Tue, 29 Feb 2000 12:00:00 GMT") == 951_825_600)
        #expect(HTTPDate.seconds("Mon, 07 Dec 2026 10:07:22 GMT") == 1_796_638_042)
        #expect(HTTPDate.seconds("Wednesday, 01-Jan-69 00:00:00 GMT") == 3_124_224_000)  // two digits < 70: 2069
    }

    @Test func whatIsNotADateGivesNil() {
        for text in ["", "GMT", "Sun, 30 Feb 2026 08:49:37 GMT", "Sun, 29 Feb 2100 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                     "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC",
                     "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT", "Sun, 06 Nov 1969 08:49:37 GMT",
                     "Sun, +6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT", "Sun, 06 Nov 1994 8:49:37 GMT",
                     "Sun, 06 Nov ١٩٩٤ 08:49:37 GMT", "1796638042"] {
            #expect(HTTPDate.seconds(text) == nil, "\(text)")
        }
    }
}

struct HTTPResponseHeadTests {
    static let answer = "HTTP/1.1 404 Not Found\r\nServer: test\r\ndate:  Mon, 07 Dec 2026 10:07:22 GMT \r\nContent-Length: 0\r\n\r\nbody"

    @Test func theStatusAndTheDateAreRead() {
        #expect(HTTPResponseHead.read(Array(Self.answer.utf8)) == .complete(HTTPResponseHead(status: 404, date: 1_796_638_042)))
        #expect(HTTPResponseHead.read(Array("HTTP/1.0 200 OK\r\n\r\n".utf8)) == .complete(HTTPResponseHead(status: 200, date: nil)))
    }

    @Test func everyPrefixBeforeTheEmptyLineIsIncomplete() {
        let bytes = Array(Self.answer.utf8)
        let end = bytes.count - "body".utf8.count
        for length in 0..<end {
            #expect(HTTPResponseHead.read(bytes[..<length]) == .incomplete, "\(length)")
        }
    }

    @Test func whatIsNotHTTPIsMalformed() {
        for text in ["SSH-2.0-OpenSSH\r\n\r\n", "HTTP/2 200\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
                     "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"] {
            guard case .malformed = HTTPResponseHead.read(Array(text.utf8)) else {
                Issue.record("\(text.debugDescription) was not refused")
                continue
            }
        }
        let endless = Array("HTTP/1.1 200 OK\r\n".utf8) + Array(repeating: UInt8(ascii: "a"), count: HTTPResponseHead.maximumSize)
        guard case .malformed = HTTPResponseHead.read(endless) else {
            Issue.record("a head without end was not refused")
            return
        }
    }
}

struct ClockCorrectionTests {
    let second: Int64 = 1_000_000_000

    @Test func aClockAtItsFloorIsSteppedForward() {
        // The box thinks it is 2026-12-01 (its floor); the server says a week later.
        let now = 1_796_083_200 * second
        let correction = ClockCorrection.decide(serverDate: 1_796_083_200 + 7 * 86_400, roundTrip: 200_000_000, sinceAnswer: 0, realtimeNow: now + 200_000_000)
        #expect(correction == .stepForward(nanoseconds: 7 * 86_400 * second + 500_000_000 + 100_000_000 - 200_000_000))
        // The real-time clock stepped by 100 s after the answer (timesyncd's floor): counted once, not twice.
        #expect(ClockCorrection.decide(serverDate: 1_796_083_200 + 7 * 86_400, roundTrip: 200_000_000, sinceAnswer: 10_000_000,
                                       realtimeNow: now + 200_000_000 + 10_000_000 + 100 * second)
                == .stepForward(nanoseconds: 7 * 86_400 * second + 400_000_000 - 100 * second))
    }

    @Test func withinTwoSecondsNothingIsDone() {
        let now = 1_796_083_200 * second + 300_000_000
        #expect(ClockCorrection.decide(serverDate: 1_796_083_200, roundTrip: 20_000_000, sinceAnswer: 0, realtimeNow: now) == .agrees(offsetNanoseconds: 210_000_000))
        #expect(ClockCorrection.decide(serverDate: 1_796_083_201, roundTrip: 0, sinceAnswer: 0, realtimeNow: now) == .agrees(offsetNanoseconds: 1_200_000_000))
        #expect(ClockCorrection.decide(serverDate: 1_796_083_202, roundTrip: 0, sinceAnswer: 0, realtimeNow: now) == .stepForward(nanoseconds: 2_200_000_000))
    }

    @Test func aClockAheadIsNeverMovedBack() {
        let now = 1_796_083_200 * second
        #expect(ClockCorrection.decide(serverDate: 1_796_083_200 - 3600, roundTrip: 0, sinceAnswer: 0, realtimeNow: now) == .ahead(nanoseconds: 3600 * second - 500_000_000))
    }
}
