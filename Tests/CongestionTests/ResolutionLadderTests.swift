import Testing
@testable import Congestion

@Suite struct ResolutionLadderTests {
    /// Feeds `kbps` every 100 ms for `seconds`; the heights seen.
    func run(_ ladder: inout ResolutionLadder, kbps: Int, seconds: Double, from start: inout UInt64) -> [Int] {
        var heights: [Int] = []
        for _ in 0..<Int(seconds * 10) {
            heights.append(ladder.update(targetKbps: kbps, now: start).height)
            start += 100_000_000
        }
        return heights
    }

    @Test func aLastingDropStepsDownAfterTwoSecondsStraightToTheRungThatFits() {
        var ladder = ResolutionLadder(), now: UInt64 = 1_000_000_000
        #expect(run(&ladder, kbps: 1500, seconds: 3, from: &now).allSatisfy { $0 == 720 })
        let heights = run(&ladder, kbps: 200, seconds: 3, from: &now)
        #expect(heights.prefix(20).allSatisfy { $0 == 720 } && heights.dropFirst(20).allSatisfy { $0 == 180 }, "\(heights)")
        #expect(ladder.rung.fps == 15)
    }

    @Test func aDipShorterThanTwoSecondsKeepsThePicture() {
        var ladder = ResolutionLadder(), now: UInt64 = 0
        for _ in 0..<5 {
            _ = run(&ladder, kbps: 400, seconds: 1.5, from: &now)
            _ = run(&ladder, kbps: 1200, seconds: 0.5, from: &now)
        }
        #expect(ladder.rung.height == 720)
    }

    @Test func upOneRungAtATimeAfterFiveSecondsWellAbove() {
        var ladder = ResolutionLadder(), now: UInt64 = 0
        _ = run(&ladder, kbps: 100, seconds: 2.5, from: &now)
        #expect(ladder.rung.height == 180)
        // 270 kbit/s: above 360p's floor, not 10 % above: stays.
        _ = run(&ladder, kbps: 270, seconds: 10, from: &now)
        #expect(ladder.rung.height == 180)
        let heights = run(&ladder, kbps: 2000, seconds: 11, from: &now)
        #expect(heights[49] == 180 && heights[50] == 360 && heights[100] == 360 && heights[101] == 720, "\(heights)")
    }
}
