@testable import Box
import Composition
import Layout
import Media
import Testing

/// The lesson's screen without a device: pictures through the screen's video sink into the
/// wall's layout, drawn into an in-memory canvas.
@Suite struct VideoWallTests {
    /// A flat I420 picture of one luma value (chroma neutral: a grey).
    final class FlatPicture {
        let memory: UnsafeMutablePointer<UInt8>
        let layout: VideoFrameLayout

        init(width: Int, height: Int, luma: UInt8) {
            memory = .allocate(capacity: VideoFrameLayout.packedSize(width: width, height: height))
            layout = .packed(.i420, width: width, height: height, base: memory)
            memory.initialize(repeating: luma, count: width * height)
            (memory + width * height).initialize(repeating: 128, count: width * height / 2)
        }

        deinit { memory.deallocate() }

        func frame(source: String) -> DecodedVideoFrame {
            DecodedVideoFrame(ssrc: 1, sourceName: source, picture: layout, rtpTimestamp: 0, isKeyframe: false)
        }
    }

    /// An XRGB canvas in memory.
    final class Canvas {
        let memory: UnsafeMutablePointer<UInt8>
        let canvas: ScreenCanvas
        init(width: Int, height: Int) {
            memory = .allocate(capacity: width * height * 4)
            memory.initialize(repeating: 7, count: width * height * 4)
            canvas = ScreenCanvas(base: memory, width: width, height: height, stride: width * 4)
        }
        deinit { memory.deallocate() }
    }

    /// BT.601 limited range: a grey of luma Y shows as (Y − 16) · 255 / 219.
    static func grey(_ luma: Int) -> Int { (luma - 16) * 255 / 219 }

    @Test func onlySourcesOnTheScreenAreScaledAndTheNewestPictureWins() {
        let sink = ScreenVideoSink()
        let first = FlatPicture(width: 640, height: 360, luma: 100), second = FlatPicture(width: 640, height: 360, luma: 200)
        sink.show(first.frame(source: "aa-v0"))
        #expect(sink.offScreen == 1 && sink.scaled == 0, "no tile yet: nothing scaled")
        sink.arrange([("aa-v0", ScreenRect(x: 0, y: 0, width: 320, height: 240))])
        sink.show(first.frame(source: "aa-v0"))
        sink.show(second.frame(source: "aa-v0"))
        let taken = sink.take("aa-v0")
        #expect(taken?.width == 320 && taken?.height == 180, "scaled into the tile with the aspect kept: \(String(describing: taken.map { ($0.width, $0.height) }))")
        #expect(taken.map { $0.planes.0[90 * $0.strides.0 + 160] } == 200, "the newest of two pictures")
        #expect(sink.take("aa-v0") == nil, "nothing new since")
        sink.arrange([("aa-v0", ScreenRect(x: 0, y: 0, width: 640, height: 360))])
        #expect(sink.take("aa-v0") == nil, "a new tile size drops the old pictures")
    }

    @Test func theWallDrawsSlatesThenPicturesAndOnlyWhatChanged() throws {
        let (width, height) = (1280, 720)
        let sink = ScreenVideoSink(), compositor = ScreenCompositor(screenWidth: width, screenHeight: height)
        let wall = VideoWall(screenWidth: width, screenHeight: height, compositor: compositor, sink: sink)
        let buffers = [Canvas(width: width, height: height), Canvas(width: width, height: height)]
        let plan = ScreenPlan(stage: "st-v0", others: ["o1-v0", "o2-v0"])
        #expect(wall.compose(plan, generation: 1, on: buffers[0].canvas, buffer: 0), "the first frame paints everything")
        let stage = try #require(wall.cells.first { $0.source == "st-v0" }), tile = try #require(wall.cells.first { $0.source == "o1-v0" })
        #expect(stage.rect.height > tile.rect.height * 2, "the stage large: \(stage.rect), a tile \(tile.rect)")
        let centre = { (rect: ScreenRect) in (rect.x + rect.width / 2, rect.y + rect.height / 2) }
        #expect(buffers[0].canvas.colour(x: centre(stage.rect).0, y: centre(stage.rect).1) == VideoWall.slate, "no picture yet: a slate")
        #expect(!wall.compose(plan, generation: 1, on: buffers[0].canvas, buffer: 0), "nothing new: nothing drawn")

        let speaker = FlatPicture(width: 1280, height: 720, luma: 180)
        sink.show(speaker.frame(source: "st-v0"))
        // Mark the tile: a redraw of it would overwrite the mark.
        compositor.fill(ScreenRect(x: centre(tile.rect).0, y: centre(tile.rect).1, width: 2, height: 2),
                        with: ScreenColour(red: 255, green: 0, blue: 0), on: buffers[0].canvas)
        #expect(wall.compose(plan, generation: 1, on: buffers[0].canvas, buffer: 0))
        let shown = buffers[0].canvas.colour(x: centre(stage.rect).0, y: centre(stage.rect).1)
        #expect(abs(Int(shown.green) - Self.grey(180)) <= 2, "the speaker's picture on stage: \(shown)")
        #expect(buffers[0].canvas.colour(x: centre(tile.rect).0, y: centre(tile.rect).1) == ScreenColour(red: 255, green: 0, blue: 0),
                "the unchanged tile was not drawn again")
        // The other buffer (KMS flips between two) gets the whole layout and the picture once.
        #expect(wall.compose(plan, generation: 1, on: buffers[1].canvas, buffer: 1))
        #expect(abs(Int(buffers[1].canvas.colour(x: centre(stage.rect).0, y: centre(stage.rect).1).green) - Self.grey(180)) <= 2)
        #expect(!wall.compose(plan, generation: 1, on: buffers[1].canvas, buffer: 1))

        // A new plan (someone else speaks): a new layout, painted whole.
        let next = ScreenPlan(stage: "o1-v0", others: ["st-v0", "o2-v0"])
        #expect(wall.compose(next, generation: 2, on: buffers[0].canvas, buffer: 0))
        let newStage = try #require(wall.cells.first)
        #expect(newStage.source == "o1-v0" && newStage.rect == stage.rect)
        #expect(buffers[0].canvas.colour(x: centre(stage.rect).0, y: centre(stage.rect).1) == VideoWall.slate, "o1 has sent nothing: a slate on stage")
    }
}
