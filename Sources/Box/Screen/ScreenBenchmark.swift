#if canImport(Glibc)
import Glibc
#endif
import Composition
import Display
import CYUV
import Layout
import Media
import StatusScreen

/// The classroom screen's cost, for `make bench` (issue 12): a 1080p screen in the lesson with
/// one speaker on stage and four others in tiles, each with a name plate, the status bar
/// below — and every source sending a new picture for every refresh (30 a second each, the
/// worst case: a tile whose source is still costs nothing).
///
/// Per frame, exactly the code of a call: ``ScreenVideoSink/show(_:)`` as the video receive
/// thread calls it for each source's decoded picture (the stage's at 720p, the tiles' at 180
/// lines, as the box asks the bridge), then ``VideoWall/compose(_:generation:status:cameraLive:on:buffer:)``
/// into one of two XRGB buffers in turn (an off-screen display), as into KMS's. The floor, measured in the same run
/// on the same pictures, is libyuv alone doing the least any compositor must: each picture
/// scaled to its tile (`I420Scale`, the box filter the sink uses) and converted into the buffer (`I420ToARGB`).
/// CPU time is the thread's own; each figure is the median over rounds of 30 frames after the
/// first, the two sides taking turns round by round.
public enum ScreenBenchmark {
    public struct Result: Sendable {
        public var width: Int
        public var height: Int
        public var tiles: Int
        public var measuredFrames: Int
        /// CPU µs per composed frame: the sink scaling every source's picture, and the wall.
        public var scalingMicroseconds: Double
        public var composingMicroseconds: Double
        public var microsecondsPerFrame: Double { scalingMicroseconds + composingMicroseconds }
        /// libyuv alone on the same pictures, CPU µs per frame.
        public var floorMicroseconds: Double
        /// Heap allocations per frame over the measured frames: the box's whole path, and
        /// libyuv alone (its scalers keep row buffers on the heap per call for ratios other
        /// than halves and quarters): the difference is the box's own.
        public var allocationsPerFrame: Double
        public var floorAllocationsPerFrame: Double
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    static let framesPerRound = 30

    public static func run(width: Int = 1920, height: Int = 1080, seconds: Double, allocations: () -> UInt64) throws -> Result {
        let sink = ScreenVideoSink(), compositor = ScreenCompositor(screenWidth: width, screenHeight: height)
        let wall: VideoWall
        do {
            wall = VideoWall(screenWidth: width, screenHeight: height, compositor: compositor, tilePainter: try TilePainter(screenHeight: height),
                             barPainter: try StatusBarPainter(screenHeight: height), sink: sink)
        } catch {
            throw Failure(description: "fonts: \(error)")
        }
        let names = ["stage-v0", "aaaa-v0", "bbbb-v0", "cccc-v0", "dddd-v0"]
        let plan = ScreenPlan(stage: names[0], others: Array(names.dropFirst()),
                              names: Dictionary(uniqueKeysWithValues: zip(names, ["Fernunterricht 7a", "Klasse 5c", "Frau Beispiel", "AG Robotik", "Herr Muster"])))
        let status = StatusWording.text(for: .inLesson(room: "Klasse 4b", others: 5),
                                        indicators: ScreenIndicators(cameraLive: false, microphoneMuted: false), language: .de)
        let pictures = names.enumerated().map { index, _ in index == 0 ? Picture(width: 1280, height: 720) : Picture(width: 320, height: 180) }
        let frames = zip(names, pictures).map { DecodedVideoFrame(ssrc: 1, sourceName: $0, picture: $1.layout, rtpTimestamp: 0, isKeyframe: false) }
        let screen = OffscreenDisplay(width: width, height: height)
        // The layout, and where libyuv alone puts each picture.
        _ = wall.compose(plan, generation: 1, status: status, on: screen.canvas, buffer: screen.bufferIndex)
        try screen.present()
        let rects = names.compactMap { name in wall.cells.first { $0.source == name }?.rect }
        guard rects.count == names.count else { throw Failure(description: "the layout has \(wall.cells.count) cells for \(names.count) sources") }
        let floor = zip(rects, pictures).map { rect, picture in
            FloorTile(target: rect.fitting(aspect: Double(picture.layout.width) / Double(picture.layout.height)), picture: picture)
        }

        let rounds = max(3, Int(seconds * 30) / framesPerRound)
        var scaling: [Double] = [], composing: [Double] = [], alone: [Double] = []
        scaling.reserveCapacity(rounds)
        composing.reserveCapacity(rounds)
        alone.reserveCapacity(rounds)
        var allocated: UInt64 = 0, allocatedAlone: UInt64 = 0
        var frame = 0
        for round in 0..<rounds {
            var scaleTime: UInt64 = 0, composeTime: UInt64 = 0
            let allocationsStart = allocations()
            for _ in 0..<framesPerRound {
                let start = threadCPUNanoseconds()
                for index in 0..<frames.count {
                    pictures[index].paint(frame: frame)
                    sink.show(frames[index])
                }
                let middle = threadCPUNanoseconds()
                guard wall.compose(plan, generation: 1, status: status, on: screen.canvas, buffer: screen.bufferIndex) else {
                    throw Failure(description: "frame \(frame): nothing composed")
                }
                composeTime += threadCPUNanoseconds() - middle
                try screen.present()
                scaleTime += middle - start
                frame += 1
            }
            let allocationsMiddle = allocations()
            let floorStart = threadCPUNanoseconds()
            for index in 0..<framesPerRound {
                for tile in floor {
                    tile.picture.paint(frame: frame + index)
                    tile.draw(on: screen.canvas)
                }
                try screen.present()
            }
            let floorTime = threadCPUNanoseconds() - floorStart
            let allocationsEnd = allocations()
            guard round > 0 else { continue }  // the warm-up: the sink's slots, libyuv's first rows
            allocated += allocationsMiddle - allocationsStart
            allocatedAlone += allocationsEnd - allocationsMiddle
            scaling.append(Double(scaleTime) / 1000 / Double(framesPerRound))
            composing.append(Double(composeTime) / 1000 / Double(framesPerRound))
            alone.append(Double(floorTime) / 1000 / Double(framesPerRound))
        }
        guard sink.scaled == frame * names.count else { throw Failure(description: "\(sink.scaled) pictures scaled of \(frame * names.count)") }
        let measured = Double((rounds - 1) * framesPerRound)
        return Result(width: width, height: height, tiles: names.count - 1, measuredFrames: Int(measured),
                      scalingMicroseconds: median(scaling), composingMicroseconds: median(composing), floorMicroseconds: median(alone),
                      allocationsPerFrame: Double(allocated) / measured, floorAllocationsPerFrame: Double(allocatedAlone) / measured)
    }

    /// A decoded picture: grey with a bar that moves with the frame number, so no two
    /// frames are alike.
    final class Picture {
        let memory: UnsafeMutablePointer<UInt8>
        let layout: VideoFrameLayout

        init(width: Int, height: Int) {
            let size = VideoFrameLayout.packedSize(width: width, height: height)
            memory = .allocate(capacity: size)
            memory.initialize(repeating: 128, count: size)
            layout = .packed(.i420, width: width, height: height, base: memory)
        }

        deinit { memory.deallocate() }

        func paint(frame: Int) {
            let column = (frame * 8) % layout.width
            for row in 0..<layout.height { layout.planes.0[row * layout.strides.0 + column] = UInt8(truncatingIfNeeded: frame) }
        }
    }

    /// The floor for one tile: libyuv scaling into a buffer of the tile's size and
    /// converting into the screen, with nothing of the box in between.
    final class FloorTile {
        let target: ScreenRect
        let picture: Picture
        let scaled: Picture

        init(target: ScreenRect, picture: Picture) {
            self.target = target
            self.picture = picture
            scaled = Picture(width: target.width, height: target.height)
        }

        func draw(on canvas: ScreenCanvas) {
            let source = picture.layout, destination = scaled.layout
            _ = I420Scale(source.planes.0, Int32(source.strides.0), source.planes.1, Int32(source.strides.1),
                          source.planes.2, Int32(source.strides.2), Int32(source.width), Int32(source.height),
                          destination.planes.0, Int32(destination.strides.0), destination.planes.1, Int32(destination.strides.1),
                          destination.planes.2, Int32(destination.strides.2), Int32(destination.width), Int32(destination.height),
                          kFilterBox)
            _ = I420ToARGB(destination.planes.0, Int32(destination.strides.0), destination.planes.1, Int32(destination.strides.1),
                           destination.planes.2, Int32(destination.strides.2), canvas.base + target.y * canvas.stride + target.x * 4,
                           Int32(canvas.stride), Int32(target.width), Int32(target.height))
        }
    }

    private static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    private static func threadCPUNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
