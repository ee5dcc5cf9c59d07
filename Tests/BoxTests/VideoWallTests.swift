@testable import Box
import Composition
import Layout
import Media
import StatusScreen
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

    static let status = StatusWording.text(for: .inLesson(room: "Klasse 4b", others: 2),
                                           indicators: ScreenIndicators(cameraLive: false, microphoneMuted: false), language: .de)

    static func wall(width: Int, height: Int, compositor: ScreenCompositor, sink: ScreenVideoSink) throws -> VideoWall {
        VideoWall(screenWidth: width, screenHeight: height, compositor: compositor, tilePainter: try TilePainter(screenHeight: height),
                  barPainter: try StatusBarPainter(screenHeight: height), sink: sink)
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
        let wall = try Self.wall(width: width, height: height, compositor: compositor, sink: sink)
        let buffers = [Canvas(width: width, height: height), Canvas(width: width, height: height)]
        let plan = ScreenPlan(stage: "st-v0", others: ["o1-v0", "o2-v0"])
        #expect(wall.compose(plan, generation: 1, status: Self.status, on: buffers[0].canvas, buffer: 0), "the first frame paints everything")
        let stage = try #require(wall.cells.first { $0.source == "st-v0" }), tile = try #require(wall.cells.first { $0.source == "o1-v0" })
        #expect(stage.rect.height > tile.rect.height * 2, "the stage large: \(stage.rect), a tile \(tile.rect)")
        let centre = { (rect: ScreenRect) in (rect.x + rect.width / 2, rect.y + rect.height / 2) }
        #expect(buffers[0].canvas.colour(x: centre(stage.rect).0, y: centre(stage.rect).1) == VideoWall.slate, "no picture yet: a slate")
        #expect(!wall.compose(plan, generation: 1, status: Self.status, on: buffers[0].canvas, buffer: 0), "nothing new: nothing drawn")

        let speaker = FlatPicture(width: 1280, height: 720, luma: 180)
        sink.show(speaker.frame(source: "st-v0"))
        // Mark the tile: a redraw of it would overwrite the mark.
        compositor.fill(ScreenRect(x: centre(tile.rect).0, y: centre(tile.rect).1, width: 2, height: 2),
                        with: ScreenColour(red: 255, green: 0, blue: 0), on: buffers[0].canvas)
        #expect(wall.compose(plan, generation: 1, status: Self.status, on: buffers[0].canvas, buffer: 0))
        let shown = buffers[0].canvas.colour(x: centre(stage.rect).0, y: centre(stage.rect).1)
        #expect(abs(Int(shown.green) - Self.grey(180)) <= 2, "the speaker's picture on stage: \(shown)")
        #expect(buffers[0].canvas.colour(x: centre(tile.rect).0, y: centre(tile.rect).1) == ScreenColour(red: 255, green: 0, blue: 0),
                "the unchanged tile was not drawn again")
        // The other buffer (KMS flips between two) gets the whole layout and the picture once.
        #expect(wall.compose(plan, generation: 1, status: Self.status, on: buffers[1].canvas, buffer: 1))
        #expect(abs(Int(buffers[1].canvas.colour(x: centre(stage.rect).0, y: centre(stage.rect).1).green) - Self.grey(180)) <= 2)
        #expect(!wall.compose(plan, generation: 1, status: Self.status, on: buffers[1].canvas, buffer: 1))

        // A new plan (someone else speaks): a new layout, painted whole.
        let next = ScreenPlan(stage: "o1-v0", others: ["st-v0", "o2-v0"])
        #expect(wall.compose(next, generation: 2, status: Self.status, on: buffers[0].canvas, buffer: 0))
        let newStage = try #require(wall.cells.first)
        #expect(newStage.source == "o1-v0" && newStage.rect == stage.rect)
        #expect(buffers[0].canvas.colour(x: centre(stage.rect).0, y: centre(stage.rect).1) == VideoWall.slate, "o1 has sent nothing: a slate on stage")
        // The old speaker, now in a tile, shows its last picture there at once (scaled), not a
        // slate until its next picture comes in the tile's size.
        let moved = try #require(wall.cells.first { $0.source == "st-v0" })
        let inTile = buffers[0].canvas.colour(x: centre(moved.rect).0, y: centre(moved.rect).1)
        #expect(abs(Int(inTile.green) - Self.grey(180)) <= 2, "the last picture in its new tile: \(inTile)")
        #expect(wall.compose(next, generation: 2, status: Self.status, on: buffers[1].canvas, buffer: 1))
        #expect(abs(Int(buffers[1].canvas.colour(x: centre(moved.rect).0, y: centre(moved.rect).1).green) - Self.grey(180)) <= 2,
                "and in the other buffer")
    }

    /// Name plates on pictures and slates, an avatar disc for a camera that is off, and the
    /// status bar below the tiles, painted again only when its text changes.
    @Test func namesAvatarsAndTheStatusBar() throws {
        let (width, height) = (1280, 720)
        let sink = ScreenVideoSink(), compositor = ScreenCompositor(screenWidth: width, screenHeight: height)
        let wall = try Self.wall(width: width, height: height, compositor: compositor, sink: sink)
        let canvas = Canvas(width: width, height: height)
        let plan = ScreenPlan(stage: "st-v0", others: ["off-v0", "anon-v0"], names: ["st-v0": "Klasse 7a", "off-v0": "Frau Beispiel"],
                              cameraOff: ["off-v0"])
        let speaker = FlatPicture(width: 1280, height: 720, luma: 16)  // black: the plate's text stands out
        #expect(wall.compose(plan, generation: 1, status: Self.status, on: canvas.canvas, buffer: 0))
        sink.show(speaker.frame(source: "st-v0"))
        let off = FlatPicture(width: 640, height: 360, luma: 235)
        sink.show(off.frame(source: "off-v0"))
        #expect(sink.offScreen == 1, "a camera that is off has no slot: its stray picture is not scaled")
        #expect(wall.compose(plan, generation: 1, status: Self.status, on: canvas.canvas, buffer: 0))

        let cells = Dictionary(uniqueKeysWithValues: wall.cells.map { ($0.source, $0.rect) })
        let stage = try #require(cells["st-v0"]), offTile = try #require(cells["off-v0"]), anonymous = try #require(cells["anon-v0"])
        #expect(stage.maxY <= wall.bar.y && offTile.maxY <= wall.bar.y, "pictures end above the bar: \(stage), \(offTile), bar \(wall.bar)")
        #expect(wall.bar.maxY == height && wall.bar.height == 44)

        func pixels(in rect: ScreenRect, where test: (ScreenColour) -> Bool) -> Int {
            var count = 0
            for y in rect.y..<rect.maxY { for x in rect.x..<rect.maxX where test(canvas.canvas.colour(x: x, y: y)) { count += 1 } }
            return count
        }
        let bright = { (colour: ScreenColour) in colour.red > 200 && colour.green > 200 && colour.blue > 200 }
        // The plate: bottom left of the stage picture, light text on the plate colour.
        let plateArea = ScreenRect(x: stage.x, y: stage.maxY - stage.height / 8, width: stage.width / 3, height: stage.height / 8)
        #expect(pixels(in: plateArea, where: { $0 == TilePainter.plate }) > 1000, "a plate")
        #expect(pixels(in: plateArea, where: bright) > 50, "with the name on it")
        #expect(pixels(in: ScreenRect(x: stage.maxX - stage.width / 3, y: stage.y, width: stage.width / 3, height: stage.height / 2), where: bright) == 0,
                "the rest of the black picture untouched")

        // The camera that is off: a slate with a disc of its colour and its initials, and its plate.
        let disc = TilePainter.disc(in: offTile)
        let discColour = canvas.canvas.colour(x: disc.x + disc.width / 2, y: disc.y + disc.height / 8)
        #expect(TilePainter.avatarColours.contains(discColour), "the disc: \(discColour)")
        #expect(pixels(in: disc, where: bright) > 20, "initials on the disc")
        #expect(TilePainter.initials(of: "Frau Beispiel") == "FB" && TilePainter.initials(of: "klasse 7a") == "K7")
        #expect(canvas.canvas.colour(x: offTile.x + offTile.width / 8, y: offTile.y + offTile.height / 8) == VideoWall.slate)
        // No name: a plain slate, no disc.
        #expect(canvas.canvas.colour(x: anonymous.x + anonymous.width / 2, y: anonymous.y + anonymous.height / 2) == VideoWall.slate)

        // The bar: the camera chip grey while private, red once live; repainted only then.
        let live = StatusScreenPainter.liveRed, grey = StatusScreenPainter.privateGrey
        #expect(pixels(in: wall.bar, where: { $0 == live }) == 0 && pixels(in: wall.bar, where: { $0 == grey }) > 1000)
        #expect(!wall.compose(plan, generation: 1, status: Self.status, on: canvas.canvas, buffer: 0), "nothing changed")
        let liveStatus = StatusWording.text(for: .inLesson(room: "Klasse 4b", others: 2),
                                            indicators: ScreenIndicators(cameraLive: true, microphoneMuted: false), language: .de)
        #expect(wall.compose(plan, generation: 1, status: liveStatus, on: canvas.canvas, buffer: 0))
        #expect(pixels(in: wall.bar, where: { $0 == live }) > 500, "the LIVE chip is red")
        #expect(pixels(in: wall.bar, where: bright) > 100, "with its text, the room's and the microphone's")
    }

    /// The self view: the private slate while the camera is private (the box's pictures not
    /// even taken), the picture while live, drawn again over a stage redrawn beneath it, and
    /// the private slate again the moment the screen learns the switch closed.
    @Test func theSelfViewShowsTheClassOnlyWhileTheCameraIsLive() throws {
        let (width, height) = (1280, 720)
        let sink = ScreenVideoSink(), compositor = ScreenCompositor(screenWidth: width, screenHeight: height)
        let wall = VideoWall(screenWidth: width, screenHeight: height, compositor: compositor, tilePainter: try TilePainter(screenHeight: height),
                             barPainter: try StatusBarPainter(screenHeight: height), sink: sink, selfView: true)
        let canvas = Canvas(width: width, height: height)
        let plan = ScreenPlan(stage: "st-v0", others: ["o1-v0"])
        let own = FlatPicture(width: 1280, height: 720, luma: 235), speaker = FlatPicture(width: 1280, height: 720, luma: 60)
        func compose(live: Bool) -> Bool {
            wall.compose(plan, generation: 1, status: Self.status, cameraLive: live, on: canvas.canvas, buffer: 0)
        }
        #expect(compose(live: false))
        let rect = try #require(wall.selfViewRect)
        let stage = try #require(wall.cells.first { $0.source == "st-v0" }).rect
        #expect(stage.contains(rect), "in the stage's corner: \(rect) in \(stage)")
        let corner = (rect.x + rect.width / 8, rect.y + rect.height / 8), centre = (rect.x + rect.width / 2, rect.y + rect.height / 2)
        #expect(canvas.canvas.colour(x: corner.0, y: corner.1) == StatusScreenPainter.privateGrey, "private: the slate")
        sink.showOwn(own.layout)
        #expect(sink.offScreen == 1 && sink.scaled == 0, "private: the box's own picture is not even scaled")

        #expect(compose(live: true), "going live is drawn")
        sink.showOwn(own.layout)
        #expect(sink.scaled == 1)
        #expect(compose(live: true))
        #expect(abs(Int(canvas.canvas.colour(x: centre.0, y: centre.1).green) - Self.grey(235)) <= 2, "live: the class sees itself")
        sink.show(speaker.frame(source: "st-v0"))
        #expect(compose(live: true))
        #expect(abs(Int(canvas.canvas.colour(x: centre.0, y: centre.1).green) - Self.grey(235)) <= 2, "drawn again over the new stage picture")
        #expect(abs(Int(canvas.canvas.colour(x: stage.x + stage.width / 2, y: stage.y + stage.height / 2).green) - Self.grey(60)) <= 2)

        sink.showOwn(own.layout)  // a picture taken just before the switch closed
        #expect(compose(live: false))
        #expect(canvas.canvas.colour(x: corner.0, y: corner.1) == StatusScreenPainter.privateGrey, "the switch closed: the slate at once")
        #expect(compose(live: false) == false, "and nothing more to draw")
        sink.showOwn(own.layout)
        #expect(sink.offScreen == 2, "the slot went with the switch")
    }
}

