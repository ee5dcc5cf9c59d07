import Composition
import Layout
import Media
import StatusScreen

/// The lesson on the classroom screen: the plan laid out by `ScreenLayoutEngine` above the
/// status bar, each tile showing its source's newest picture with the participant's name
/// plate, an avatar slate where the camera is off or the source has sent nothing (not
/// forwarded by the bridge).
///
/// Only what changed is drawn: per output buffer the wall remembers which picture of each
/// tile it holds, so with KMS's two buffers a tile is drawn into each buffer once per new
/// picture and not at all while its source is still; a new layout repaints the buffer whole.
final class VideoWall {
    static let slate = TilePainter.slate

    private let engine: ScreenLayoutEngine
    private let compositor: ScreenCompositor
    private let tilePainter: TilePainter
    private let barPainter: StatusBarPainter
    /// The status bar's strip, below the layout.
    let bar: ScreenRect
    private let sink: ScreenVideoSink
    private var plan = ScreenPlan.empty
    private var layout: ScreenLayout
    private var planGeneration = -1
    private var layoutVersion = 0
    /// Per source: the picture taken last (valid until the next take) and how many came.
    private var pictures: [String: (picture: VideoFrameLayout, version: Int)] = [:]
    /// Per output buffer: the layout it shows, the picture version drawn per source (-1: a
    /// slate for a camera that is off) and the status bar's text.
    private var drawn: [Int: (layout: Int, versions: [String: Int], bar: StatusText?)] = [:]

    init(screenWidth: Int, screenHeight: Int, compositor: ScreenCompositor, tilePainter: TilePainter,
         barPainter: StatusBarPainter, sink: ScreenVideoSink) {
        bar = ScreenRect(x: 0, y: screenHeight - barPainter.height, width: screenWidth, height: barPainter.height)
        engine = ScreenLayoutEngine(screenWidth: screenWidth, screenHeight: bar.y)
        layout = engine.layout(stage: nil, others: [], selfViewVisible: false)
        self.compositor = compositor
        self.tilePainter = tilePainter
        self.barPainter = barPainter
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

    /// Brings buffer `buffer` (shown by `canvas`) up to date, the bar showing `status`; true
    /// when anything was drawn.
    func compose(_ plan: ScreenPlan, generation: Int, status: StatusText, on canvas: ScreenCanvas, buffer: Int) -> Bool {
        if generation != planGeneration {
            planGeneration = generation
            self.plan = plan
            layout = engine.layout(stage: plan.stage, others: plan.others, selfViewVisible: false)
            // New slots: the pictures taken from the old ones are gone with them. A camera
            // that is off gets none: its tile is a slate until the plan says it is on.
            sink.arrange(layout.cells.filter { !plan.cameraOff.contains($0.source) }.map { ($0.source, $0.rect) })
            pictures = [:]
            layoutVersion += 1
        }
        for cell in layout.cells {
            if let picture = sink.take(cell.source) {
                pictures[cell.source] = (picture, (pictures[cell.source]?.version ?? 0) + 1)
            }
        }
        // Taken out and put back, so the versions are mutated in place, not copied per frame.
        var state = drawn.removeValue(forKey: buffer) ?? (layout: -1, versions: [:], bar: nil)
        var changed = false
        if state.layout != layoutVersion {
            compositor.fill(canvas.bounds, with: .background, on: canvas)
            state = (layoutVersion, [:], nil)
            changed = true
        }
        if state.bar != status {
            barPainter.paint(status, in: bar, with: compositor, on: canvas)
            state.bar = status
            changed = true
        }
        for cell in layout.cells {
            let cameraOff = self.plan.cameraOff.contains(cell.source)
            let version = cameraOff ? -1 : pictures[cell.source]?.version ?? 0
            guard state.versions[cell.source] != version else { continue }
            let name = self.plan.names[cell.source]
            if !cameraOff, let picture = pictures[cell.source]?.picture, let drawnAt = compositor.draw(picture, in: cell.rect, on: canvas) {
                if let name { tilePainter.paintPlate(name, over: drawnAt, with: compositor, on: canvas) }
            } else {
                tilePainter.paintSlate(in: cell.rect, name: name, with: compositor, on: canvas)
            }
            state.versions[cell.source] = version
            changed = true
        }
        drawn[buffer] = state
        return changed
    }
}
