import Testing
import Composition
import Layout
import Media

/// A 4:2:0 picture of four flat quadrants (top left, top right, bottom left, bottom right),
/// each given as limited-range BT.601 YUV, in memory the test owns.
final class QuadrantPicture {
    let memory: UnsafeMutablePointer<UInt8>
    let layout: VideoFrameLayout

    init(width: Int, height: Int, format: VideoFrameLayout.Format = .i420, quadrants: [(y: UInt8, u: UInt8, v: UInt8)]) {
        memory = .allocate(capacity: VideoFrameLayout.packedSize(width: width, height: height))
        layout = .packed(format, width: width, height: height, base: memory)
        func quadrant(_ column: Int, _ row: Int, _ width: Int, _ height: Int) -> (y: UInt8, u: UInt8, v: UInt8) {
            quadrants[(row < height / 2 ? 0 : 2) + (column < width / 2 ? 0 : 1)]
        }
        for row in 0..<height {
            for column in 0..<width { layout.planes.0[row * layout.strides.0 + column] = quadrant(column, row, width, height).y }
        }
        for row in 0..<height / 2 {
            for column in 0..<width / 2 {
                let value = quadrant(column, row, width / 2, height / 2)
                switch format {
                case .i420:
                    layout.planes.1[row * layout.strides.1 + column] = value.u
                    layout.planes.2![row * layout.strides.2 + column] = value.v
                case .nv12:
                    layout.planes.1[row * layout.strides.1 + 2 * column] = value.u
                    layout.planes.1[row * layout.strides.1 + 2 * column + 1] = value.v
                }
            }
        }
    }

    deinit { memory.deallocate() }
}

/// An XRGB canvas pre-filled with a colour no drawing uses, to see what was left alone.
final class TestCanvas {
    static let untouched = ScreenColour(red: 1, green: 2, blue: 3)
    let memory: UnsafeMutablePointer<UInt8>
    let canvas: ScreenCanvas

    init(width: Int, height: Int, padding: Int = 32) {
        let stride = width * 4 + padding
        memory = .allocate(capacity: stride * height)
        canvas = ScreenCanvas(base: memory, width: width, height: height, stride: stride)
        for row in 0..<height {
            for column in 0..<width {
                let pixel = memory + row * stride + column * 4
                pixel[0] = Self.untouched.blue; pixel[1] = Self.untouched.green; pixel[2] = Self.untouched.red; pixel[3] = 0
            }
        }
    }

    deinit { memory.deallocate() }
}

/// BT.601 limited range to RGB, from the standard's coefficients (not libyuv's tables).
func expectedColour(y: UInt8, u: UInt8, v: UInt8) -> ScreenColour {
    let luma = 1.164 * (Double(y) - 16), cb = Double(u) - 128, cr = Double(v) - 128
    func clamp(_ value: Double) -> UInt8 { UInt8(max(0, min(255, value.rounded()))) }
    return ScreenColour(red: clamp(luma + 1.596 * cr), green: clamp(luma - 0.813 * cr - 0.391 * cb), blue: clamp(luma + 2.018 * cb))
}

/// libyuv's conversion stays within this of the exact formula: its coefficients are 6-bit
/// fixed point, which costs up to 6 levels on saturated colours (blue 249 for 255).
let tolerance = 6

func close(_ a: ScreenColour, _ b: ScreenColour) -> Bool {
    abs(Int(a.red) - Int(b.red)) <= tolerance && abs(Int(a.green) - Int(b.green)) <= tolerance
        && abs(Int(a.blue) - Int(b.blue)) <= tolerance
}

// Red, green, blue and a light grey in limited-range BT.601.
let quadrantColours: [(y: UInt8, u: UInt8, v: UInt8)] = [(81, 90, 240), (145, 54, 34), (41, 240, 110), (180, 128, 128)]

@Suite struct ScreenCompositorTests {
    /// A 4:3 picture in a 16:9 tile: scaled to the tile's height, pillarboxed, each quadrant
    /// the colour the standard gives, the bars the background, nothing outside the tile touched.
    @Test(arguments: [VideoFrameLayout.Format.i420, .nv12])
    func aPictureIsScaledIntoItsTileWithItsAspectKept(format: VideoFrameLayout.Format) throws {
        let picture = QuadrantPicture(width: 64, height: 48, format: format, quadrants: quadrantColours)
        let screen = TestCanvas(width: 400, height: 240)
        let compositor = ScreenCompositor(screenWidth: 400, screenHeight: 240)
        let tile = ScreenRect(x: 40, y: 20, width: 320, height: 180)
        let drawn = try #require(compositor.draw(picture.layout, in: tile, on: screen.canvas))
        #expect(drawn == ScreenRect(x: 80, y: 20, width: 240, height: 180))
        let expected = quadrantColours.map { expectedColour(y: $0.y, u: $0.u, v: $0.v) }
        let centres = [(140, 65), (260, 65), (140, 155), (260, 155)]
        for (index, centre) in centres.enumerated() {
            let colour = screen.canvas.colour(x: centre.0, y: centre.1)
            #expect(close(colour, expected[index]), "quadrant \(index): \(colour), expected \(expected[index])")
        }
        for point in [(40, 20), (79, 199), (320, 100), (359, 20)] {
            #expect(screen.canvas.colour(x: point.0, y: point.1) == .background, "bar at \(point)")
        }
        for point in [(39, 100), (360, 100), (200, 19), (200, 200), (0, 0), (399, 239)] {
            #expect(screen.canvas.colour(x: point.0, y: point.1) == TestCanvas.untouched, "outside the tile at \(point)")
        }
    }

    /// A picture of exactly the fitted size is converted without scaling: every pixel of a
    /// quadrant has its colour, right up to the quadrant's edge.
    @Test func aPictureOfTheTilesSizeIsConvertedPixelForPixel() throws {
        // 96 lines: the quadrants' edge (line 48) falls between two chroma rows.
        let picture = QuadrantPicture(width: 160, height: 96, quadrants: quadrantColours)
        let screen = TestCanvas(width: 160, height: 96)
        let compositor = ScreenCompositor(screenWidth: 160, screenHeight: 96)
        let drawn = try #require(compositor.draw(picture.layout, in: screen.canvas.bounds, on: screen.canvas))
        #expect(drawn == screen.canvas.bounds)
        let expected = quadrantColours.map { expectedColour(y: $0.y, u: $0.u, v: $0.v) }
        var wrong = 0
        for row in 0..<96 {
            for column in 0..<160 where !close(screen.canvas.colour(x: column, y: row), expected[(row < 48 ? 0 : 2) + (column < 80 ? 0 : 1)]) {
                wrong += 1
            }
        }
        #expect(wrong == 0, "\(wrong) pixels off by more than \(tolerance)")
        // The bytes as the scan-out reads XRGB8888 (little-endian B, G, R, X): the top-left red.
        #expect(screen.memory[2] > 240 && screen.memory[1] < 10 && screen.memory[0] < 10 && screen.memory[3] == 0xFF)
    }

    /// Upscaling a small picture (a 180-line layer on a 1080-line stage) works as well.
    @Test func aSmallPictureIsScaledUpToTheStage() throws {
        let picture = QuadrantPicture(width: 32, height: 18, quadrants: quadrantColours)
        let screen = TestCanvas(width: 640, height: 360)
        let compositor = ScreenCompositor(screenWidth: 640, screenHeight: 360)
        let drawn = try #require(compositor.draw(picture.layout, in: screen.canvas.bounds, on: screen.canvas))
        #expect(drawn == screen.canvas.bounds)
        let expected = expectedColour(y: quadrantColours[3].y, u: quadrantColours[3].u, v: quadrantColours[3].v)
        #expect(close(screen.canvas.colour(x: 480, y: 270), expected))
    }

    /// Fills are clipped to the canvas; a tile reaching past the screen draws nothing rather
    /// than a cut-off picture; an empty picture draws nothing.
    @Test func fillsAreClippedAndPicturesPastTheScreenAreRefused() {
        let screen = TestCanvas(width: 100, height: 60)
        let compositor = ScreenCompositor(screenWidth: 100, screenHeight: 60)
        let colour = ScreenColour(red: 200, green: 10, blue: 90)
        compositor.fill(ScreenRect(x: 80, y: -10, width: 50, height: 30), with: colour, on: screen.canvas)
        #expect(screen.canvas.colour(x: 99, y: 0) == colour && screen.canvas.colour(x: 80, y: 19) == colour)
        #expect(screen.canvas.colour(x: 79, y: 0) == TestCanvas.untouched && screen.canvas.colour(x: 90, y: 20) == TestCanvas.untouched)
        let picture = QuadrantPicture(width: 64, height: 48, quadrants: quadrantColours)
        #expect(compositor.draw(picture.layout, in: ScreenRect(x: 60, y: 0, width: 80, height: 60), on: screen.canvas) == nil)
        #expect(compositor.draw(picture.layout, in: ScreenRect(x: 0, y: 0, width: 0, height: 60), on: screen.canvas) == nil)
        #expect(screen.canvas.colour(x: 70, y: 30) == TestCanvas.untouched)
    }

    /// Every tile of a real layout (the stage and three others on a 16:9 screen) gets its
    /// picture inside its own cell, and cells do not paint over each other.
    @Test func aLayoutsTilesAreDrawnEachInItsCell() throws {
        let screen = TestCanvas(width: 640, height: 360)
        let compositor = ScreenCompositor(screenWidth: 640, screenHeight: 360)
        let layout = ScreenLayoutEngine(screenWidth: 640, screenHeight: 360)
            .layout(stage: "a-v0", others: ["b-v0", "c-v0", "d-v0"], selfViewVisible: false)
        let pictures = (0..<4).map { index in
            QuadrantPicture(width: 64, height: 36, quadrants: Array(repeating: quadrantColours[index], count: 4))
        }
        for (index, cell) in layout.cells.enumerated() {
            let drawn = try #require(compositor.draw(pictures[index].layout, in: cell.rect, on: screen.canvas))
            #expect(cell.rect.contains(drawn))
        }
        for (index, cell) in layout.cells.enumerated() {
            let centre = screen.canvas.colour(x: cell.rect.x + cell.rect.width / 2, y: cell.rect.y + cell.rect.height / 2)
            let colour = quadrantColours[index]
            #expect(close(centre, expectedColour(y: colour.y, u: colour.u, v: colour.v)), "cell \(cell.source): \(centre)")
        }
    }
}
