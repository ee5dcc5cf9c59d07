import Composition
import Display
import Glibc
import Logging
import Provisioning
import Runtime
import StatusScreen
import Synchronization

/// The classroom screen's thread: finds the screen (`display.device`), keeps it when it is
/// switched off and on or swapped (hotplug uevents, and a look every 10 s for screens that
/// send none), and paints what the box is doing in the provisioned language, matching the
/// LEDs for camera and microphone. It repaints when the text changes (the snapshot display
/// also once a second, so its file stays fresh); between changes it sleeps in `poll`.
///
/// A box without a screen works as before: `auto` with no connected screen logs it once and
/// keeps looking. Nothing shown is stored; the snapshot file (simulated board only) is
/// removed when the box stops.
final class ScreenLoop: @unchecked Sendable {
    private let display: ProvisioningConfig.Display
    private let status: ConferenceStatus
    private let plan: ScreenPlanBoard
    let sink: ScreenVideoSink
    private let runtimeDirectory: String
    /// Whether the lesson shows the box's own picture (its camera can go live).
    private let selfView: Bool
    private let logger: Logger
    /// A screen given instead of the provisioned one (`make bench`'s off-screen call).
    private let makeOutput: (() -> any ScreenOutput)?
    private let wake: Wakeup
    private let stopped = Atomic<Bool>(false)
    private var thread: BackgroundThread?

    /// How often the box looks for a screen when none is found and no uevent says one came.
    static let probeInterval: UInt64 = 10_000_000_000
    /// The snapshot is rewritten this often even when nothing changed.
    static let snapshotInterval: UInt64 = 1_000_000_000
    static let snapshotName = "screen.png"
    /// A picture for a tile or the self view waits for the stage's next, so that both go into
    /// one composed frame (with two buffers, a frame composed for a small tile alone would
    /// convert the whole stage into the other buffer again) — but only while the stage had a
    /// picture within `stagePacing` (40 ms: a 30 fps stage brings one every 33 ms), and never
    /// longer than `longestWait` (33 ms): at most one frame of added latency.
    private let stagePacing: UInt64
    private let longestWait: UInt64

    init(display: ProvisioningConfig.Display, status: ConferenceStatus, plan: ScreenPlanBoard, runtimeDirectory: String,
         selfView: Bool = false, logger: Logger, makeOutput: (() -> any ScreenOutput)? = nil,
         stagePacing: UInt64 = 40_000_000, longestWait: UInt64 = 33_000_000) {
        self.display = display
        self.stagePacing = stagePacing
        self.longestWait = longestWait
        self.makeOutput = makeOutput
        self.selfView = selfView
        self.plan = plan
        let wake = Wakeup()
        self.wake = wake
        sink = ScreenVideoSink(onPicture: { wake.signal() })
        self.status = status
        self.runtimeDirectory = runtimeDirectory
        self.logger = logger
    }

    func start() throws {
        guard display.device != .none || makeOutput != nil else { return }
        thread = try BackgroundThread(name: "classbox-screen") { [self] in run() }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        wake.signal()
        thread?.join()
        thread = nil
    }

    /// One screen as found: its output, and what paints on it at its size.
    private struct Screen {
        let output: any ScreenOutput
        let compositor: ScreenCompositor
        let painter: StatusScreenPainter
        let wall: VideoWall
    }

    private func run() {
        let hotplug = display.device == .snapshot || makeOutput != nil ? nil : HotplugMonitor()
        var screen: Screen?
        var lastProbe: UInt64?
        var lastProblem: String?
        var shown: StatusText?
        var lastPresent: UInt64 = 0
        var failures = 0
        var loggedGeneration = -1
        var timeout: Int32 = 200
        var composed: (generation: Int, cameraLive: Bool, text: StatusText)?
        var waitingSince: UInt64?
        /// A frame drawn but not shown (a refused flip): presented again even when nothing new came.
        var unshown = false
        while !stopped.load(ordering: .relaxed) {
            let now = Monotonic.nanoseconds()
            if screen == nil, lastProbe.map({ now >= $0 + Self.probeInterval }) ?? true {
                lastProbe = now
                screen = open(reporting: &lastProblem)
                shown = nil
            }
            var entries = [pollfd(fd: wake.descriptor, events: Int16(POLLIN), revents: 0)]
            if let descriptor = hotplug?.descriptor { entries.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)) }
            if let descriptor = screen?.output.eventDescriptor { entries.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&entries, nfds_t(entries.count), timeout)
            timeout = 200
            wake.drain()
            if let hotplug, entries[1].revents != 0, hotplug.drmHotplugOccurred() {
                if let kms = screen?.output as? KMSDisplay, !kms.isConnected() {
                    logger.notice("screen disconnected: \(kms.summary)", metadata: ["event": "screen.lost"])
                    screen?.wall.suspend()
                    screen = nil
                }
                if screen == nil { lastProbe = nil }  // look again now: a screen may have come
            }
            guard let current = screen else { continue }
            current.output.handleEvents()
            guard !current.output.isFlipPending else { continue }
            let snapshot = status.current
            let isSnapshot = current.output is SnapshotDisplay
            let board = plan.current
            if case .inLesson = snapshot.situation, board.plan.stage != nil || !board.plan.others.isEmpty {
                // The snapshot is a file for people to look at: once a second is enough.
                guard !isSnapshot || now >= lastPresent + Self.snapshotInterval else { continue }
                let text = statusText(snapshot)
                let moment = Monotonic.nanoseconds()
                if !isSnapshot, let composed, composed == (board.generation, snapshot.cameraLive, text),
                   let wait = Self.stageWait(now: moment, stage: board.plan.stage.flatMap(sink.arrival), waitingSince: waitingSince,
                                             pacing: stagePacing, longest: longestWait) {
                    if waitingSince == nil { waitingSince = moment }
                    timeout = Int32((wait + 999_999) / 1_000_000)
                    continue
                }
                composed = (board.generation, snapshot.cameraLive, text)
                waitingSince = nil
                guard current.wall.compose(board.plan, generation: board.generation, status: text,
                                           cameraLive: snapshot.cameraLive, on: current.output.canvas, buffer: current.output.bufferIndex)
                        || isSnapshot || unshown else { continue }
                if board.generation != loggedGeneration {
                    // Where each source is (source names, never display names): for IT, and for
                    // the QEMU tier, which reads the pictures back from the screen.
                    loggedGeneration = board.generation
                    logger.info("screen layout: \(current.wall.layoutSummary)", metadata: ["event": "screen.layout"])
                }
                shown = nil
            } else {
                let text = statusText(snapshot)
                guard text != shown || unshown || (isSnapshot && now >= lastPresent + Self.snapshotInterval) else { continue }
                current.painter.paint(text, with: current.compositor, on: current.output.canvas)
                current.wall.suspend()
                composed = nil
                loggedGeneration = -1  // back in the lesson, the layout is logged again
                shown = text
            }
            do {
                try current.output.present()
                lastPresent = now
                failures = 0
                unshown = false
            } catch {
                // A flip refused once (EBUSY) is tried again soon with what was drawn (the wall
                // counts it as drawn, so nothing new would ask for it); a screen that keeps
                // refusing (gone, or another program took it) is looked for again.
                failures += 1
                unshown = true
                timeout = 20
                guard failures >= 3 else { continue }
                unshown = false
                if lastProblem != error.description {
                    lastProblem = error.description
                    logger.warning("the screen failed: \(error); looking for it again", metadata: ["event": "screen.failed"])
                }
                current.wall.suspend()
                screen = nil
                failures = 0
            }
        }
        (screen?.output as? SnapshotDisplay)?.remove()
    }

    /// Nanoseconds to wait for the stage's next picture before composing, or nil to compose
    /// now: there is no stage picture to wait for, the stage has a new picture itself, none
    /// came within `pacing` (a still or stalled stage does not hold the others back), or the
    /// wait that began at `waitingSince` has lasted `longest`. Only the pictures wait: a new
    /// layout, the bar's text and the camera's state are composed at once (the caller's part).
    static func stageWait(now: UInt64, stage: (fresh: Bool, at: UInt64)?, waitingSince: UInt64?,
                          pacing: UInt64, longest: UInt64) -> UInt64? {
        guard let stage, !stage.fresh else { return nil }
        let due = min(stage.at + pacing, (waitingSince ?? now) + longest)
        return now < due ? due - now : nil
    }

    /// What the screen says now.
    func statusText(_ snapshot: ConferenceSnapshot) -> StatusText {
        var situation = snapshot.situation
        if case .inLesson(let room, _) = situation { situation = .inLesson(room: room, others: snapshot.others) }
        return StatusWording.text(for: situation, indicators: ScreenIndicators(cameraLive: snapshot.cameraLive, microphoneMuted: snapshot.micMuted),
                                  language: ScreenLanguage(rawValue: display.language.rawValue) ?? .de)
    }

    /// The provisioned screen, or nil (logged once per distinct reason).
    private func open(reporting lastProblem: inout String?) -> Screen? {
        let requested = display.mode.map { RequestedDisplayMode(width: $0.width, height: $0.height, refreshHertz: $0.refreshHertz) }
        let output: any ScreenOutput
        do throws(DisplayError) {
            if let makeOutput {
                output = makeOutput()
            } else {
                switch display.device {
                case .none: return nil
                case .snapshot:
                    mkdir(runtimeDirectory, 0o700)
                    output = SnapshotDisplay(path: runtimeDirectory + "/" + Self.snapshotName, width: requested?.width ?? 1280, height: requested?.height ?? 720)
                case .automatic: output = try KMSDisplay(requested: requested)
                case .card(let path): output = try KMSDisplay(path: path, requested: requested)
                }
            }
        } catch {
            if lastProblem != error.description {
                lastProblem = error.description
                // Without a screen the box works on; an explicitly named card is worth a warning.
                if case .card = display.device { logger.warning("no screen: \(error)", metadata: ["event": "screen.none"]) }
                else { logger.info("no screen: \(error); the box works without one and takes one plugged in later", metadata: ["event": "screen.none"]) }
            }
            return nil
        }
        do {
            let painter = try StatusScreenPainter(screenWidth: output.width, screenHeight: output.height)
            lastProblem = nil
            let note = (output as? KMSDisplay)?.modeNote.map { " (\($0))" } ?? ""
            logger.info("screen: \(output.summary)\(note)", metadata: ["event": "screen.found"])
            let compositor = ScreenCompositor(screenWidth: output.width, screenHeight: output.height)
            let wall = VideoWall(screenWidth: output.width, screenHeight: output.height, compositor: compositor,
                                 tilePainter: try TilePainter(screenHeight: output.height),
                                 barPainter: try StatusBarPainter(screenHeight: output.height), sink: sink, selfView: selfView)
            return Screen(output: output, compositor: compositor, painter: painter, wall: wall)
        } catch {
            if lastProblem != error.description {
                lastProblem = error.description
                logger.error("the screen cannot show text: \(error)", metadata: ["event": "screen.none"])
            }
            return nil
        }
    }
}
