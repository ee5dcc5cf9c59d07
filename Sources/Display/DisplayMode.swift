/// One mode a screen offers (from its EDID, through the kernel), as the box chooses among them.
public struct DisplayMode: Sendable, Equatable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    /// Vertical refresh in Hz, as the kernel rounds it.
    public var refreshHertz: Int
    /// The screen's own preference (`DRM_MODE_TYPE_PREFERRED`): usually its native resolution.
    public var preferred: Bool
    public var interlaced: Bool

    public init(width: Int, height: Int, refreshHertz: Int, preferred: Bool = false, interlaced: Bool = false) {
        (self.width, self.height, self.refreshHertz, self.preferred, self.interlaced) = (width, height, refreshHertz, preferred, interlaced)
    }

    public var description: String { "\(width)x\(height)\(interlaced ? "i" : "")@\(refreshHertz)" }
}

/// What district IT asked for (`display.mode`): a size and maybe a refresh rate.
public struct RequestedDisplayMode: Sendable, Equatable, CustomStringConvertible {
    public var width: Int
    public var height: Int
    public var refreshHertz: Int?

    public init(width: Int, height: Int, refreshHertz: Int? = nil) {
        (self.width, self.height, self.refreshHertz) = (width, height, refreshHertz)
    }

    public var description: String { "\(width)x\(height)" + (refreshHertz.map { "@\($0)" } ?? "") }
}

/// Which of a screen's modes the box drives (no I/O).
///
/// * `display.mode` set and offered: that mode at the asked refresh, else at the nearest one
///   the screen offers; without a refresh, the highest up to 60 Hz (else the lowest above).
/// * Otherwise the screen's preferred mode — but never more than 1080 lines when the screen
///   offers 1920×1080: a 4K TV's preferred 3840×2160 would quadruple the cost of every
///   composed frame for pictures that arrive at 720 lines at most (the bridge forwards no
///   more), and a classroom watches from metres away. Progressive modes before interlaced.
/// * A screen that reports no preference: the largest progressive mode up to 1080 lines.
public enum DisplayModeChoice {
    /// The chosen mode and, when the request could not be met, why (for the log).
    public struct Choice: Sendable, Equatable {
        public var mode: DisplayMode
        public var note: String?
    }

    /// The most lines the box drives by default.
    public static let defaultMaximumHeight = 1080

    public static func choose(among offered: [DisplayMode], requested: RequestedDisplayMode?) -> Choice? {
        let progressive = offered.filter { !$0.interlaced }
        let candidates = progressive.isEmpty ? offered : progressive
        guard !candidates.isEmpty else { return nil }
        var note: String?
        if let requested {
            let sameSize = candidates.filter { $0.width == requested.width && $0.height == requested.height }
            if let hertz = requested.refreshHertz, let exact = sameSize.first(where: { $0.refreshHertz == hertz }) {
                return Choice(mode: exact, note: nil)
            }
            let nearest = requested.refreshHertz.flatMap { hertz in
                sameSize.min { (abs($0.refreshHertz - hertz), $0.refreshHertz) < (abs($1.refreshHertz - hertz), $1.refreshHertz) }
            }
            if let best = nearest ?? bestRefresh(sameSize) {
                let missed = requested.refreshHertz.map { "the screen offers \(requested.width)x\(requested.height) not at \($0) Hz; using \(best.refreshHertz) Hz" }
                return Choice(mode: best, note: missed)
            }
            note = "the screen does not offer \(requested); using its own choice"
        }
        let preferred = candidates.first { $0.preferred }
        if let preferred, preferred.height <= defaultMaximumHeight {
            return Choice(mode: preferred, note: note)
        }
        // A larger preference (4K), or none: the best mode up to 1080 lines, 1920×1080 if offered.
        let capped = candidates.filter { $0.height <= defaultMaximumHeight }
        let fullHD = capped.filter { $0.width == 1920 && $0.height == 1080 }
        if let mode = bestRefresh(fullHD) ?? bestRefresh(largest(capped)) {
            return Choice(mode: mode, note: note)
        }
        // Nothing at or under 1080 lines: the preference, else the smallest mode there is.
        let fallback = preferred ?? candidates.min { $0.width * $0.height < $1.width * $1.height }!
        return Choice(mode: fallback, note: note)
    }

    /// Of modes of one size: the highest refresh up to 60 Hz (a TV's 50/60 Hz, not a
    /// monitor's 144 Hz that costs compositions nobody sees), else the lowest above it.
    static func bestRefresh(_ modes: [DisplayMode]) -> DisplayMode? {
        let upTo60 = modes.filter { $0.refreshHertz <= 60 }
        if let best = upTo60.max(by: { ($0.refreshHertz, $0.preferred ? 1 : 0) < ($1.refreshHertz, $1.preferred ? 1 : 0) }) { return best }
        return modes.min { $0.refreshHertz < $1.refreshHertz }
    }

    /// The modes of the largest size among `modes`.
    static func largest(_ modes: [DisplayMode]) -> [DisplayMode] {
        guard let top = modes.max(by: { $0.width * $0.height < $1.width * $1.height }) else { return [] }
        return modes.filter { $0.width == top.width && $0.height == top.height }
    }
}
