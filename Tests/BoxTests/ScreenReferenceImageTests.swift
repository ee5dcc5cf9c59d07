@testable import Box
import ClassboxTestSupport
import Composition
import Display
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
/// Tolerance: at most 0.2 % of the pixels may have a colour component more than 3 levels off
/// the stored image (libyuv picks its row functions by CPU — SSSE3, AVX2, AVX-512 — and they
/// may round differently by a level; FreeType's anti-aliased edges may move with Debian's
/// package; anything wrong in geometry, colour or text is off in far more pixels). The image
/// was written by this test (`CLASSBOX_WRITE_REFERENCE=1` writes it again, through the
/// snapshot display's libpng) and checked by eye; both images are read back by GStreamer's
/// PNG decoder. The component checks of `VideoWallTests` and `ScreenCompositorTests` judge the
/// colours against the BT.601 formula.
@Suite struct ScreenReferenceImageTests {
    static let reference = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Reference/lesson-640x360.png").path
    static let tolerance = 3
    static let allowedShare = 0.002

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

    @Test(.enabled(if: ScreenSnapshot.available, "GStreamer (make deps) reads the images"))
    func theLessonMatchesTheStoredImage() throws {
        let (width, height) = (640, 360)
        let sink = ScreenVideoSink(), compositor = ScreenCompositor(screenWidth: width, screenHeight: height)
        let wall = VideoWall(screenWidth: width, screenHeight: height, compositor: compositor, tilePainter: try TilePainter(screenHeight: height),
                             barPainter: try StatusBarPainter(screenHeight: height), sink: sink, selfView: true)
        let composedPath = FileManager.default.temporaryDirectory.appendingPathComponent("lesson-\(UUID().uuidString).png").path
        defer { try? FileManager.default.removeItem(atPath: composedPath) }
        let output = SnapshotDisplay(path: composedPath, width: width, height: height)
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

        _ = wall.compose(plan, generation: 1, status: status, cameraLive: true, on: output.canvas, buffer: 0)
        sink.show(DecodedVideoFrame(ssrc: 1, sourceName: "st-v0", picture: ramp.layout, rtpTimestamp: 0, isKeyframe: false))
        sink.show(DecodedVideoFrame(ssrc: 2, sourceName: "o1-v0", picture: checker.layout, rtpTimestamp: 0, isKeyframe: false))
        sink.show(DecodedVideoFrame(ssrc: 3, sourceName: "o2-v0", picture: rings.layout, rtpTimestamp: 0, isKeyframe: false))
        sink.showOwn(own.layout)
        #expect(wall.compose(plan, generation: 1, status: status, cameraLive: true, on: output.canvas, buffer: 0))

        try output.present()
        if ProcessInfo.processInfo.environment["CLASSBOX_WRITE_REFERENCE"] == "1" {
            try? FileManager.default.removeItem(atPath: Self.reference)
            try FileManager.default.copyItem(atPath: composedPath, toPath: Self.reference)
        }
        let composed = try #require(try ScreenSnapshot.read(composedPath), "the composed screen read back")
        let stored = try #require(try ScreenSnapshot.read(Self.reference), "the stored image \(Self.reference) read")
        try #require(stored.width == width && stored.height == height, "the stored image is \(stored.width)x\(stored.height)")
        var worst = 0, beyond = 0, first: (Int, Int)?
        for y in 0..<height {
            for x in 0..<width {
                let a = composed.pixel(x: x, y: y), b = stored.pixel(x: x, y: y)
                let off = max(abs(a.red - b.red), abs(a.green - b.green), abs(a.blue - b.blue))
                if off > Self.tolerance {
                    beyond += 1
                    if first == nil { first = (x, y) }
                }
                worst = max(worst, off)
            }
        }
        let share = Double(beyond) / Double(width * height)
        #expect(share <= Self.allowedShare,
                "\(beyond) pixels (\(share * 100) %) more than \(Self.tolerance) levels off the stored image, up to \(worst) (first at \(String(describing: first)))")
    }
}
