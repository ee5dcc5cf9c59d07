@testable import Box
import Composition
import CPNG
import Foundation
import Layout
import Media
import StatusScreen
import Testing

/// The composed lesson for fixed I420 pictures against a stored image
/// (`Reference/lesson-640x360.png`): a speaker on stage (a 720p colour ramp scaled down), three
/// others in tiles — a checkerboard at the tile's aspect, concentric rings at 4:3
/// (pillarboxed), one whose camera is off (an avatar slate) — each with its name plate, the
/// box's own picture in the stage's corner (camera live), and the status bar. Everything the
/// screen draws goes through it: the sink's libyuv scaling, the BT.601 conversion, the fills,
/// FreeType's text in DejaVu Sans.
///
/// Tolerance: every colour component within 3 levels of the stored image (libyuv picks its
/// row functions by CPU — SSSE3, AVX2, AVX-512 — and they may round differently by a level;
/// anything wrong in geometry, colour or text is off by far more). The image was written by
/// this test (`CLASSBOX_WRITE_REFERENCE=1`) and checked by eye; the component checks of
/// `VideoWallTests` and `ScreenCompositorTests` judge the colours against the BT.601 formula.
@Suite struct ScreenReferenceImageTests {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Reference/lesson-640x360.png").path
    static let tolerance = 3

    /// A picture whose samples are a function of their position.
    final class Pattern {
        let memory: UnsafeMutablePointer<UInt8>
        let layout: VideoFrameLayout

        init(width: Int, height: Int, luma: (Int, Int) -> Int, u: (Int, Int) -> Int, v: (Int, Int) -> Int) {
            memory = .allocate(capacity: VideoFrameLayout.packedSize(width: width, height: height))
            layout = .packed(.i420, width: width, height: height, base: memory)
            func clamp(_ value: Int) -> UInt8 { UInt8(max(16, min(240, value))) }
            for y in 0..<height {
                for x in 0..<width { layout.planes.0[y * layout.strides.0 + x] = clamp(luma(x, y)) }
            }
            for y in 0..<height / 2 {
                for x in 0..<width / 2 {
                    layout.planes.1[y * layout.strides.1 + x] = clamp(u(x, y))
                    layout.planes.2![y * layout.strides.2 + x] = clamp(v(x, y))
                }
            }
        }

        deinit { memory.deallocate() }
    }

    @Test func theLessonMatchesTheStoredImage() throws {
        let (width, height) = (640, 360)
        let sink = ScreenVideoSink(), compositor = ScreenCompositor(screenWidth: width, screenHeight: height)
        let wall = VideoWall(screenWidth: width, screenHeight: height, compositor: compositor, tilePainter: try TilePainter(screenHeight: height),
                             barPainter: try StatusBarPainter(screenHeight: height), sink: sink, selfView: true)
        let canvas = VideoWallTests.Canvas(width: width, height: height)
        let plan = ScreenPlan(stage: "st-v0", others: ["o1-v0", "o2-v0", "o3-v0"],
                              names: ["st-v0": "Klasse 7a", "o1-v0": "Klasse 5c", "o2-v0": "AG Robotik", "o3-v0": "Fernunterricht 9b"],
                              cameraOff: ["o3-v0"])
        let status = StatusWording.text(for: .inLesson(room: "Klasse 4b", others: 4),
                                        indicators: ScreenIndicators(cameraLive: true, microphoneMuted: false), language: .de)
        let ramp = Pattern(width: 1280, height: 720, luma: { x, y in 16 + (x + y) * 219 / 2000 },
                           u: { x, _ in 64 + x * 128 / 640 }, v: { _, y in 64 + y * 128 / 360 })
        let checker = Pattern(width: 320, height: 180, luma: { x, y in (x / 20 + y / 20) % 2 == 0 ? 40 : 220 },
                              u: { _, y in y < 45 ? 200 : 128 }, v: { _, _ in 128 })
        let rings = Pattern(width: 320, height: 240, luma: { x, y in ((x - 160) * (x - 160) + (y - 120) * (y - 120)) / 300 % 2 == 0 ? 30 : 230 },
                            u: { _, _ in 110 }, v: { _, _ in 150 })
        let own = Pattern(width: 640, height: 360, luma: { _, y in y < 180 ? 200 : 90 }, u: { x, _ in x < 160 ? 90 : 170 }, v: { _, _ in 128 })

        _ = wall.compose(plan, generation: 1, status: status, cameraLive: true, on: canvas.canvas, buffer: 0)
        sink.show(DecodedVideoFrame(ssrc: 1, sourceName: "st-v0", picture: ramp.layout, rtpTimestamp: 0, isKeyframe: false))
        sink.show(DecodedVideoFrame(ssrc: 2, sourceName: "o1-v0", picture: checker.layout, rtpTimestamp: 0, isKeyframe: false))
        sink.show(DecodedVideoFrame(ssrc: 3, sourceName: "o2-v0", picture: rings.layout, rtpTimestamp: 0, isKeyframe: false))
        sink.showOwn(own.layout)
        #expect(wall.compose(plan, generation: 1, status: status, cameraLive: true, on: canvas.canvas, buffer: 0))

        // The composed screen as B, G, R, A with A opaque (XRGB's fourth byte is not drawn).
        var composed = [UInt8](repeating: 0xFF, count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                for component in 0..<3 { composed[(y * width + x) * 4 + component] = canvas.canvas.base[y * canvas.canvas.stride + x * 4 + component] }
            }
        }
        if ProcessInfo.processInfo.environment["CLASSBOX_WRITE_REFERENCE"] == "1" {
            #expect(classbox_png_write_bgra(Self.reference, composed, UInt32(width), UInt32(height), Int32(width * 4)) == 0)
        }
        var stored = [UInt8](repeating: 0, count: width * height * 4)
        let read = classbox_png_read_bgra(Self.reference, &stored, UInt32(width), UInt32(height))
        try #require(read == 0, "the stored image \(Self.reference) could not be read (\(read))")
        var worst = 0, differing = 0, first: (Int, Int)?
        for index in 0..<(width * height) {
            var off = 0
            for component in 0..<3 {
                let a = Int(composed[index * 4 + component]), b = Int(stored[index * 4 + component])
                off = max(off, abs(a - b))
            }
            if off > 0 { differing += 1 }
            if off > worst {
                worst = off
                first = (index % width, index / width)
            }
        }
        #expect(worst <= Self.tolerance, "\(differing) pixels differ from the stored image, by up to \(worst) levels (first at \(String(describing: first)))")
    }
}
