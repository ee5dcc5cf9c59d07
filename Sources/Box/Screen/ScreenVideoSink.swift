import Layout
import Media
import Runtime
import VideoScaling

/// The others' decoded pictures on their way to the classroom screen.
///
/// The video receive thread (`show`) scales each picture straight from libvpx's frame into
/// the size of its tile on the screen — the one copy a screen needs — and the screen thread
/// (`take`) converts the newest one into the scan-out buffer. Per source three pictures
/// rotate (being written, newest, being read), so neither thread waits for the other and a
/// picture is never torn; a picture the screen did not take before the next arrived is
/// replaced (the screen shows the newest, at most one refresh late).
///
/// Memory is allocated when the screen's layout changes (`arrange`), sized for each tile,
/// never per frame. Sources not on the screen are not scaled at all.
final class ScreenVideoSink: VideoSink, SelfViewSink, @unchecked Sendable {
    /// The self view's slot: a name no Jitsi source has (theirs are `<endpoint>-v<n>`).
    static let ownSource = "classbox:self"

    /// One source's three pictures and which is which.
    final class Slot {
        let scalers: [VideoScaler]
        let size: (width: Int, height: Int)
        var writing = 0, newest = 1, reading = 2
        var fresh = false
        /// When the newest picture came (monotonic ns; 0: none yet).
        var arrivedAt: UInt64 = 0
        /// The picture in `newest` (valid while it is not being written).
        var pictures: [VideoFrameLayout?] = [nil, nil, nil]

        init(width: Int, height: Int) {
            size = (width, height)
            scalers = (0..<3).map { _ in VideoScaler(maxWidth: width, maxHeight: height) }
        }
    }

    private let lock = Lock()
    private var slots: [String: Slot] = [:]
    /// The slots the last `arrange` replaced (a tile that changed size) or dropped, kept until
    /// the next: their newest picture shows in the new tile until one in its size comes.
    private var retired: [String: Slot] = [:]
    /// Pictures scaled, and dropped for want of a tile (not on screen) or of a fit; under the lock.
    private var scaledCount = 0
    private var offScreenCount = 0
    var scaled: Int { lock.withLock { scaledCount } }
    var offScreen: Int { lock.withLock { offScreenCount } }
    /// Called (on the video thread) after a new picture is ready: wakes the screen thread.
    /// Set before any picture can come (the screen loop's init).
    let onPicture: (@Sendable () -> Void)?

    init(onPicture: (@Sendable () -> Void)? = nil) {
        self.onPicture = onPicture
    }

    /// The screen's tiles by source name (screen thread, when the layout changes): a source
    /// keeps its slot when its tile keeps its size.
    func arrange(_ tiles: [(source: String, size: ScreenRect)]) {
        lock.withLock {
            var next: [String: Slot] = [:]
            for tile in tiles where !tile.size.isEmpty {
                if let slot = slots[tile.source], slot.size == (tile.size.width, tile.size.height) {
                    next[tile.source] = slot
                } else {
                    next[tile.source] = Slot(width: tile.size.width, height: tile.size.height)
                }
            }
            retired = slots.filter { next[$0.key] !== $0.value }
            slots = next
        }
    }

    /// Screen thread, after `arrange`: the newest picture `source` had in the slot it lost,
    /// to show (scaled) until the first picture in its new size comes — the new speaker's
    /// picture on stage at once, not a slate while the bridge switches layers. Valid until the
    /// next `arrange`: the video thread never writes the pictures a slot has published.
    func retiredPicture(_ source: String) -> VideoFrameLayout? {
        lock.withLock {
            guard let slot = retired[source] else { return nil }
            return slot.fresh ? slot.pictures[slot.newest] : slot.pictures[slot.reading]
        }
    }

    /// Video receive thread: scales the picture into its source's free picture.
    func show(_ frame: DecodedVideoFrame) {
        guard let name = frame.sourceName else { return }
        show(frame.picture, source: name)
    }

    /// Video sending thread: the box's own picture for the self view.
    func showOwn(_ picture: VideoFrameLayout) {
        show(picture, source: Self.ownSource)
    }

    private func show(_ picture: VideoFrameLayout, source name: String) {
        let target: (slot: Slot, index: Int)? = lock.withLock {
            guard let slot = slots[name] else { return nil }
            return (slot, slot.writing)
        }
        guard let target else {
            lock.withLock { offScreenCount &+= 1 }
            return
        }
        let fitted = ScreenRect(x: 0, y: 0, width: target.slot.size.width, height: target.slot.size.height)
            .fitting(aspect: Double(picture.width) / Double(max(1, picture.height)))
        guard !fitted.isEmpty, let scaled = target.slot.scalers[target.index].scale(picture, width: fitted.width, height: fitted.height) else {
            lock.withLock { offScreenCount &+= 1 }
            return
        }
        lock.withLock {
            // The layout may have changed meanwhile: only a slot still in place is updated.
            guard let slot = slots[name], slot === target.slot else { return }
            slot.pictures[slot.writing] = scaled
            swap(&slot.writing, &slot.newest)
            slot.fresh = true
            slot.arrivedAt = Monotonic.nanoseconds()
            scaledCount &+= 1
        }
        onPicture?()
    }

    func sourceEnded(ssrc: UInt32) {}

    /// Screen thread: whether `source` has a picture not taken yet, and when its newest came
    /// (nil: no slot or no picture yet) — the screen paces itself by the stage's pictures.
    func arrival(_ source: String) -> (fresh: Bool, at: UInt64)? {
        lock.withLock {
            guard let slot = slots[source], slot.arrivedAt != 0 else { return nil }
            return (slot.fresh, slot.arrivedAt)
        }
    }

    /// Screen thread: the newest picture of `source` if one came since the last take (it
    /// stays valid until the next take of the same source), else nil.
    func take(_ source: String) -> VideoFrameLayout? {
        lock.withLock {
            guard let slot = slots[source], slot.fresh else { return nil }
            swap(&slot.reading, &slot.newest)
            slot.fresh = false
            return slot.pictures[slot.reading]
        }
    }
}
