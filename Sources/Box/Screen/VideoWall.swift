import Composition
import Layout
import Media

/// The lesson on the classroom screen: the plan laid out by `ScreenLayoutEngine`, each tile
/// showing its source's newest picture, a slate where a source has sent none (camera off,
/// not forwarded by the bridge).
///
/// Only what changed is drawn: per output buffer the wall remembers which picture of each
/// tile it holds, so with KMS's two buffers a tile is drawn into each buffer once per new
/// picture and not at all while its source is still; a new layout repaints the buffer whole.
final class VideoWall {
    static let slate = ScreenColour(red: 44, green: 48, blue: 56)

    private let engine: ScreenLayoutEngine
    private let compositor: ScreenCompositor
    private let sink: ScreenVideoSink
    private var layout: ScreenLayout
    private var planGeneration = -1
    private var layoutVersion = 0
    /// Per source: the picture taken last (valid until the next take) and how many came.
    private var pictures: [String: (picture: VideoFrameLayout, version: Int)] = [:]
    /// Per output buffer: the layout it shows and the picture version drawn per source.
    private var drawn: [Int: (layout: Int, versions: [String: Int])] = [:]

    init(screenWidth: Int, screenHeight: Int, compositor: ScreenCompositor, sink: ScreenVideoSink) {
        engine = ScreenLayoutEngine(screenWidth: screenWidth, screenHeight: screenHeight)
        layout = engine.layout(stage: nil, others: [], selfViewVisible: false)
        self.compositor = compositor
        self.sink = sink
    }

    /// The screen shows something else (a status screen) or is gone: the sink stops scaling
    /// for it, and the next compose lays out and paints every buffer whole.
    func suspend() {
        guard planGeneration != -1 || !drawn.isEmpty else { return }
        planGeneration = -1
        drawn = [:]
        pictures = [:]
        sink.arrange([])
    }

    /// The cells of the current layout (for tests and the log).
    var cells: [ScreenLayout.Cell] { layout.cells }

    /// Brings buffer `buffer` (shown by `canvas`) up to date; true when anything was drawn.
    func compose(_ plan: ScreenPlan, generation: Int, on canvas: ScreenCanvas, buffer: Int) -> Bool {
        if generation != planGeneration {
            planGeneration = generation
            layout = engine.layout(stage: plan.stage, others: plan.others, selfViewVisible: false)
            // New slots: the pictures taken from the old ones are gone with them.
            sink.arrange(layout.cells.map { ($0.source, $0.rect) })
            pictures = [:]
            layoutVersion += 1
        }
        for cell in layout.cells {
            if let picture = sink.take(cell.source) {
                pictures[cell.source] = (picture, (pictures[cell.source]?.version ?? 0) + 1)
            }
        }
        // Taken out and put back, so the versions are mutated in place, not copied per frame.
        var state = drawn.removeValue(forKey: buffer) ?? (layout: -1, versions: [:])
        var changed = false
        if state.layout != layoutVersion {
            compositor.fill(canvas.bounds, with: .background, on: canvas)
            state = (layoutVersion, [:])
            changed = true
        }
        for cell in layout.cells {
            let version = pictures[cell.source]?.version ?? 0
            guard state.versions[cell.source] != version else { continue }
            if let picture = pictures[cell.source]?.picture, compositor.draw(picture, in: cell.rect, on: canvas) != nil {
            } else {
                drawSlate(cell.rect, on: canvas)
            }
            state.versions[cell.source] = version
            changed = true
        }
        drawn[buffer] = state
        return changed
    }

    /// A tile without a picture: a lighter panel inside a margin of background (a ninetieth
    /// of its height), so neighbouring slates stay apart.
    private func drawSlate(_ rect: ScreenRect, on canvas: ScreenCanvas) {
        compositor.fill(rect, with: .background, on: canvas)
        let margin = max(2, (rect.height / 90) & ~1)
        compositor.fill(ScreenRect(x: rect.x + margin, y: rect.y + margin, width: rect.width - 2 * margin, height: rect.height - 2 * margin),
                        with: Self.slate, on: canvas)
    }
}
