@testable import Box
import Composition
import Display
import Foundation
import Logging
import Provisioning
import Synchronization
import Testing

/// The screen thread paces itself by the stage: a picture for the self view (or a tile) that
/// comes between two of the stage's is composed together with the stage's next, so a stage
/// and a self view at the same frame rate make one composed frame per stage picture, not two
/// (with two buffers each of those would convert the whole stage again). A still stage holds
/// nothing back, and nothing waits longer than one frame.
@Suite struct ScreenPacingTests {
    static let ms: UInt64 = 1_000_000

    /// The rule alone, on a manual clock (the box's 40 ms and 33 ms).
    @Test func theRule() {
        func wait(now: UInt64, stage: (fresh: Bool, at: UInt64)?, since: UInt64? = nil) -> UInt64? {
            ScreenLoop.stageWait(now: now * Self.ms, stage: stage.map { ($0.fresh, $0.at * Self.ms) }, waitingSince: since.map { $0 * Self.ms },
                                 pacing: 40 * Self.ms, longest: 33 * Self.ms).map { $0 / Self.ms }
        }
        #expect(wait(now: 1010, stage: nil) == nil, "no stage (or no picture on it yet): nothing to wait for")
        #expect(wait(now: 1010, stage: (true, 1005)) == nil, "the stage's own new picture: compose now")
        #expect(wait(now: 1010, stage: (false, 1000)) == 30, "the stage's last came 10 ms ago: wait until 40 ms after it")
        #expect(wait(now: 1040, stage: (false, 1000)) == nil, "40 ms without a stage picture: a still stage holds nothing back")
        #expect(wait(now: 1002, stage: (false, 1000)) == 33, "and never more than one frame from when the waiting began")
        #expect(wait(now: 1020, stage: (false, 1000), since: 1002) == 15, "a later wake-up keeps the first wait's end")
        #expect(wait(now: 1035, stage: (false, 1000), since: 1002) == nil, "one frame waited: compose")
    }

    final class Screen {
        let output = OffscreenDisplay(width: 640, height: 360)
        let loop: ScreenLoop
        let stage = VideoWallTests.FlatPicture(width: 320, height: 180, luma: 120)
        let own = VideoWallTests.FlatPicture(width: 320, height: 180, luma: 200)

        /// Generous bounds (250 ms to the stage's next, 200 ms at most), so that a busy test
        /// machine's late wake-ups do not decide the outcome.
        init() throws {
            let status = ConferenceStatus.inLesson(room: "Klasse 4b", others: 1)
            let plan = ScreenPlanBoard()
            plan.update(ScreenPlan(stage: "aa-v0", others: []))
            let output = self.output
            loop = ScreenLoop(display: .defaults, status: status, plan: plan, runtimeDirectory: "/nonexistent", selfView: true,
                              logger: Logger(label: "test"), makeOutput: { output }, stagePacing: 250 * ScreenPacingTests.ms,
                              longestWait: 200 * ScreenPacingTests.ms)
            try loop.start()
            // The first frame lays the lesson out (slates): the sink has its slots from then on.
            let deadline = Date().addingTimeInterval(10)
            while output.presented.load(ordering: .relaxed) == 0 && Date() < deadline { usleep(5_000) }
        }

        deinit { loop.stop() }

        var presented: Int { output.presented.load(ordering: .relaxed) }

        /// Sleeps until `start` + `seconds` (absolute deadlines: no drift from late wake-ups).
        func sleep(until seconds: Double, from start: Date) {
            let left = start.addingTimeInterval(seconds).timeIntervalSinceNow
            if left > 0 { usleep(UInt32(left * 1_000_000)) }
        }
    }

    @Test func theSelfViewRidesAlongWithTheStage() throws {
        let screen = try Screen()
        #expect(screen.presented > 0, "the lesson was laid out")
        let before = screen.presented, start = Date()
        for index in 0..<12 {
            screen.sleep(until: Double(index) * 0.1, from: start)
            screen.loop.sink.show(screen.stage.frame(source: "aa-v0"))
            screen.sleep(until: Double(index) * 0.1 + 0.03, from: start)
            screen.loop.sink.showOwn(screen.own.layout)
        }
        usleep(300_000)
        let composed = screen.presented - before
        // Paced: one frame per stage picture (12; the last self view waits out its 200 ms).
        // Unpaced: one per picture, 24.
        #expect(composed >= 11 && composed <= 16, "12 stage and 12 self-view pictures made \(composed) frames")
    }

    @Test func aStillStageHoldsTheSelfViewBackAtMostBriefly() throws {
        let screen = try Screen()
        screen.loop.sink.show(screen.stage.frame(source: "aa-v0"))
        usleep(300_000)
        let before = screen.presented
        var slowest = 0.0
        for _ in 0..<10 {
            let shown = screen.presented, began = Date()
            screen.loop.sink.showOwn(screen.own.layout)
            while screen.presented == shown && Date().timeIntervalSince(began) < 2 { usleep(1_000) }
            slowest = max(slowest, Date().timeIntervalSince(began))
            usleep(30_000)
        }
        let composed = screen.presented - before
        #expect(composed == 10, "each of 10 self-view pictures composed while the stage is still: \(composed)")
        #expect(slowest < 1, "a self-view picture waited \(slowest) s for a stage that sends nothing")
    }
}

/// A refused page flip (KMS says EBUSY now and then) does not lose the frame: what was drawn
/// is presented again soon, though nothing new comes to draw.
@Suite struct ScreenFlipRetryTests {
    /// An in-memory screen whose first `refusals` presents fail as a busy flip does.
    final class RefusingDisplay: ScreenOutput {
        let inner = OffscreenDisplay(width: 640, height: 360)
        let refusals = Atomic<Int>(0)
        let attempts = Atomic<Int>(0)
        var width: Int { inner.width }
        var height: Int { inner.height }
        var summary: String { "refusing \(inner.summary)" }
        var eventDescriptor: Int32? { nil }
        var isFlipPending: Bool { false }
        var canvas: ScreenCanvas { inner.canvas }
        var bufferIndex: Int { inner.bufferIndex }
        func handleEvents() {}

        func present() throws(DisplayError) -> Bool {
            attempts.wrappingAdd(1, ordering: .relaxed)
            if refusals.load(ordering: .relaxed) > 0 {
                refusals.wrappingSubtract(1, ordering: .relaxed)
                throw .bufferFailed("page flip", errno: EBUSY)
            }
            return try inner.present()
        }
    }

    func shown(_ output: RefusingDisplay, within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while output.inner.presented.load(ordering: .relaxed) == 0 && Date() < deadline { usleep(5_000) }
        return output.inner.presented.load(ordering: .relaxed) > 0
    }

    @Test func aStatusScreenWhoseFlipWasRefusedIsShownAfterAll() throws {
        let output = RefusingDisplay()
        output.refusals.store(1, ordering: .relaxed)
        let status = ConferenceStatus()  // "starting": a status screen whose text does not change
        let loop = ScreenLoop(display: .defaults, status: status, plan: ScreenPlanBoard(), runtimeDirectory: "/nonexistent",
                              logger: Logger(label: "test"), makeOutput: { output })
        try loop.start()
        defer { loop.stop() }
        #expect(shown(output, within: 3), "presented after the refusal: \(output.attempts.load(ordering: .relaxed)) attempts")
    }

    @Test func aLessonFrameWhoseFlipWasRefusedIsShownAfterAll() throws {
        let output = RefusingDisplay()
        let plan = ScreenPlanBoard()
        plan.update(ScreenPlan(stage: "aa-v0", others: []))
        output.refusals.store(1, ordering: .relaxed)
        let loop = ScreenLoop(display: .defaults, status: .inLesson(room: "Klasse 4b", others: 1), plan: plan,
                              runtimeDirectory: "/nonexistent", logger: Logger(label: "test"), makeOutput: { output })
        try loop.start()
        defer { loop.stop() }
        #expect(shown(output, within: 3), "the lesson's first frame presented after the refusal: \(output.attempts.load(ordering: .relaxed)) attempts")
    }
}
