import Composition
import Layout
import Media
import StatusScreen

/// The lesson on the classroom screen: the plan laid out by `ScreenLayoutEngine` above the
/// status bar, each tile showing its source's newest picture with the participant's name
/// plate, an avatar slate where the camera is off or the source has sent nothing (not
/// forwarded by the bridge).
///
/// The box's own picture shows small in the stage's corner while the camera is live; the
/// moment the screen learns the switch closed, the self view is the private slate, and the
/// sink stops taking the box's pictures (their memory goes with the slot).
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
    /// Whether the lesson shows the self view (a box whose camera can go live).
    private let showsSelfView: Bool
    /// Whether the sink has a slot for the box's own pictures (only while live).
    private var ownArranged = false
    private var layout: ScreenLayout
    private var planGeneration = -1
    private var layoutVersion = 0
    /// Per source: the picture taken last (valid until the next take) and how many came.
    private var pictures: [String: (picture: VideoFrameLayout, version: Int)] = [:]
    /// Per output buffer: the layout it shows, the picture version drawn per source (-1: a
    /// slate for a camera that is off) and the status bar's text.
    private var drawn: [Int: (layout: Int, versions: [String: Int], bar: StatusText?)] = [:]

    init(screenWidth: Int, screenHeight: Int, compositor: ScreenCompositor, tilePainter: TilePainter,
         barPainter: StatusBarPainter, sink: ScreenVideoSink, selfView: Bool = false) {
        showsSelfView = selfView
        bar = ScreenRect(x: 0, y: screenHeight - barPainter.height, width: screenWidth, height: barPainter.height)
        engine = ScreenLayoutEngine(screenWidth: screenWidth, screenHeight: bar.y)
        layout = engine.layout(stage: nil, others: [], selfViewVisible: selfView)
        self.compositor = compositor
        self.tilePainter = tilePainter
        self.barPainter = barPainter
        self.sink = sink
    }

    /// The screen shows something else (a status screen) or is gone: the sink stops scaling
    /// for it, and the next compose lays out and paints every buffer whole.
    func suspend() {
        guard planGeneration != -1 || !drawn.isEmpty || ownArranged else { return }
        planGeneration = -1
        drawn = [:]
        pictures = [:]
        ownArranged = false
        sink.arrange([])
    }

    /// The cells of the current layout, kept (the layout's own list is built on each call,
    /// and the wall reads it with every frame).
    private(set) var cells: [ScreenLayout.Cell] = []
    /// The layout in one line: `stage NAME WxH+X+Y; tiles NAME WxH+X+Y, …; self WxH+X+Y`.
    var layoutSummary: String {
        var parts: [String] = []
        if let stage = layout.stage { parts.append("stage \(stage.source) \(stage.rect)") }
        if !layout.tiles.isEmpty { parts.append("tiles " + layout.tiles.map { "\($0.source) \($0.rect)" }.joined(separator: ", ")) }
        if let rect = layout.selfView { parts.append("self \(rect)") }
        return parts.isEmpty ? "empty" : parts.joined(separator: "; ")
    }

    /// Where the self view is (for tests).
    var selfViewRect: ScreenRect? { layout.selfView }

    /// Brings buffer `buffer` (shown by `canvas`) up to date, the bar showing `status`, the
    /// self view the box's picture while `cameraLive`; true when anything was drawn.
    func compose(_ plan: ScreenPlan, generation: Int, status: StatusText, cameraLive: Bool = false,
                 on canvas: ScreenCanvas, buffer: Int) -> Bool {
        let ownLive = cameraLive && showsSelfView
        if generation != planGeneration {
            planGeneration = generation
            self.plan = plan
            layout = engine.layout(stage: plan.stage, others: plan.others, selfViewVisible: showsSelfView)
            cells = layout.cells
            arrangeSink(ownLive: ownLive)
            // Until a picture in the new size comes, each source's last one, scaled.
            pictures = [:]
            for cell in cells where !plan.cameraOff.contains(cell.source) {
                if let last = sink.retiredPicture(cell.source) { pictures[cell.source] = (last, 0) }
            }
            layoutVersion += 1
        } else if ownLive != ownArranged {
            arrangeSink(ownLive: ownLive)
            pictures[ScreenVideoSink.ownSource] = nil
            // Pictures of slots retired by the previous arrange are gone now (what was drawn
            // of them stays on screen until the source's next picture).
            pictures = pictures.filter { $0.value.version > 0 }
        }
        for cell in cells {
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
        var coveredSelfView = false
        for cell in cells {
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
            coveredSelfView = coveredSelfView || layout.selfView.map(cell.rect.intersects) == true
            changed = true
        }
        if let rect = layout.selfView {
            // Drawn after the stage it sits on, again whenever the stage was drawn over it.
            let own = ScreenVideoSink.ownSource
            if ownLive, let picture = sink.take(own) { pictures[own] = (picture, (pictures[own]?.version ?? 0) + 1) }
            let version = ownLive ? pictures[own]?.version ?? 0 : -1
            if state.versions[own] != version || coveredSelfView {
                if ownLive, let picture = pictures[own]?.picture, compositor.draw(picture, in: rect, on: canvas) != nil {
                } else {
                    tilePainter.paintOwnSlate(in: rect, label: status.camera, live: ownLive, with: compositor, on: canvas)
                }
                state.versions[own] = version
                changed = true
            }
        }
        drawn[buffer] = state
        return changed
    }

    /// The sink's slots: every tile whose camera is on, and the self view while live. A
    /// camera that is off gets none: its tile is a slate until the plan says it is on.
    private func arrangeSink(ownLive: Bool) {
        var slots = cells.filter { !plan.cameraOff.contains($0.source) }.map { ($0.source, $0.rect) }
        if ownLive, let rect = layout.selfView { slots.append((ScreenVideoSink.ownSource, rect)) }
        sink.arrange(slots)
        ownArranged = ownLive
    }
}
