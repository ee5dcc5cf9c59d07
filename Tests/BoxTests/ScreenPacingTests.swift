@testable import Box
import Display
import Foundation
import Logging
import Provisioning
import Testing

/// The screen thread paces itself by the stage: a picture for the self view (or a tile) that
/// comes between two of the stage's is composed together with the stage's next, so a 30 fps
/// stage and a 30 fps self view make about 30 composed frames a second, not 60 (with two
/// buffers each of those would convert the whole stage again). A still stage holds nothing
/// back. The real screen thread, sink and wall, drawing into an off-screen display.
@Suite struct ScreenPacingTests {
    final class Screen {
        let output = OffscreenDisplay(width: 1280, height: 720)
        let loop: ScreenLoop
        let stage = VideoWallTests.FlatPicture(width: 640, height: 360, luma: 120)
        let own = VideoWallTests.FlatPicture(width: 640, height: 360, luma: 200)

        init() throws {
            let status = ConferenceStatus()
            status.update {
                $0.situation = .inLesson(room: "Klasse 4b", others: 1)
                $0.inRoom = true
                $0.others = 1
                $0.cameraLive = true
            }
            let plan = ScreenPlanBoard()
            plan.update(ScreenPlan(stage: "aa-v0", others: []))
            let output = self.output
            loop = ScreenLoop(display: .defaults, status: status, plan: plan, runtimeDirectory: "/nonexistent", selfView: true,
                              logger: Logger(label: "test"), makeOutput: { output })
            try loop.start()
            // The first frame lays the lesson out (slates): the sink has its slots from then on.
            let deadline = Date().addingTimeInterval(10)
            while output.presented.load(ordering: .relaxed) == 0 && Date() < deadline { usleep(5_000) }
        }

        deinit { loop.stop() }

        var presented: Int { output.presented.load(ordering: .relaxed) }
    }

    @Test func theSelfViewRidesAlongWithTheStage() throws {
        let screen = try Screen()
        #expect(screen.presented > 0, "the lesson was laid out")
        let before = screen.presented
        for _ in 0..<30 {
            screen.loop.sink.show(screen.stage.frame(source: "aa-v0"))
            usleep(15_000)
            screen.loop.sink.showOwn(screen.own.layout)
            usleep(18_000)
        }
        usleep(100_000)
        let composed = screen.presented - before
        // Paced: one frame per stage picture (30), a few more when a stage picture came late.
        // Unpaced it is one per picture: 60.
        #expect(composed >= 25 && composed <= 45, "30 stage and 30 self-view pictures made \(composed) frames")
    }

    @Test func aStillStageHoldsTheSelfViewBackAtMostBriefly() throws {
        let screen = try Screen()
        screen.loop.sink.show(screen.stage.frame(source: "aa-v0"))
        usleep(100_000)
        let before = screen.presented
        var slowest = 0.0
        for _ in 0..<30 {
            let shown = screen.presented, began = Date()
            screen.loop.sink.showOwn(screen.own.layout)
            while screen.presented == shown && Date().timeIntervalSince(began) < 1 { usleep(1_000) }
            slowest = max(slowest, Date().timeIntervalSince(began))
            usleep(30_000)
        }
        let composed = screen.presented - before
        #expect(composed >= 29, "each of 30 self-view pictures composed while the stage is still: \(composed)")
        #expect(slowest < 0.5, "a self-view picture waited \(slowest) s for a stage that sends nothing")
    }
}
