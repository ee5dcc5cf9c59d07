/// A rectangle on the screen in pixels. The layout keeps x, y, width and height even, so an
/// I420 picture (chroma at half resolution) scaled into it starts and ends on whole chroma
/// samples.
public struct ScreenRect: Sendable, Equatable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var area: Int { width * height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }

    public func contains(_ other: ScreenRect) -> Bool {
        other.x >= x && other.y >= y && other.maxX <= maxX && other.maxY <= maxY
    }

    public func intersects(_ other: ScreenRect) -> Bool {
        x < other.maxX && other.x < maxX && y < other.maxY && other.y < maxY
    }

    public var description: String { "\(width)x\(height)+\(x)+\(y)" }

    /// The largest rectangle of `aspect` (width / height) inside this one, centred: the
    /// picture letter- or pillarboxed, as a TV shows a picture of another shape.
    public func fitting(aspect: Double) -> ScreenRect {
        guard !isEmpty, aspect > 0 else { return ScreenRect(x: x, y: y, width: 0, height: 0) }
        var fittedWidth = width, fittedHeight = Int((Double(width) / aspect).rounded(.down))
        if fittedHeight > height {
            fittedHeight = height
            fittedWidth = Int((Double(height) * aspect).rounded(.down))
        }
        fittedWidth = Self.even(fittedWidth)
        fittedHeight = Self.even(fittedHeight)
        return ScreenRect(x: x + Self.even((width - fittedWidth) / 2), y: y + Self.even((height - fittedHeight) / 2),
                          width: fittedWidth, height: fittedHeight)
    }

    static func even(_ value: Int) -> Int { value & ~1 }
}

/// What the classroom screen shows, and where: the stage (the dominant speaker, or a screen
/// share instead), the others in tiles, the class's own picture small while its camera is
/// live. Cells are the areas the layout gives each picture; a picture keeps its own aspect
/// inside its cell (`ScreenRect.fitting`), the rest of the cell is background.
public struct ScreenLayout: Sendable, Equatable {
    public struct Cell: Sendable, Equatable {
        /// The video source shown (Jitsi's source name).
        public var source: String
        public var rect: ScreenRect
    }

    public var stage: Cell?
    public var tiles: [Cell]
    public var selfView: ScreenRect?

    /// Every cell, stage first.
    public var cells: [Cell] { (stage.map { [$0] } ?? []) + tiles }
}

/// Places the others' videos on a screen of any shape (no I/O, no state: the same input
/// gives the same layout, so a compositor redraws only when it changes).
///
/// * Nobody on stage (nobody has spoken yet, no share): everybody in an even grid — 1, 2 side
///   by side, 2×2, 3×2, 3×3, 4×4 on a 16:9 screen — with as many columns as make the pictures
///   largest on this screen (a 4:3 screen stacks two, a 21:9 one puts three as two and one).
/// * Somebody on stage and nobody else: the stage fills the screen.
/// * Stage and others: the others in a band along the bottom, a quarter of the screen high
///   (a third when their tiles get much larger so), laid out as the grid above; the stage
///   takes the rest (1 + 3 on a 16:9 screen: a 1920×810 stage over three 480×270 tiles).
/// * The self view, while the camera is live: a sixth of the screen's width, 16:9, in the
///   stage's bottom-right corner (in the screen's when nobody is on stage: it may then cover
///   part of a tile).
/// Pictures are assumed 16:9 (cameras and shares send it; other shapes are letterboxed).
public struct ScreenLayoutEngine: Sendable {
    public var screenWidth: Int
    public var screenHeight: Int
    /// The aspect the layout plans cells for.
    public static let pictureAspect = 16.0 / 9.0

    public init(screenWidth: Int, screenHeight: Int) {
        self.screenWidth = ScreenRect.even(max(0, screenWidth))
        self.screenHeight = ScreenRect.even(max(0, screenHeight))
    }

    /// The layout for the sources on screen: `stage` (nil: nobody) and `others`, in the
    /// order the screen lists them (the stage's source is not repeated among them).
    public func layout(stage: String?, others: [String], selfViewVisible: Bool) -> ScreenLayout {
        let screen = ScreenRect(x: 0, y: 0, width: screenWidth, height: screenHeight)
        let others = others.filter { $0 != stage }
        var result = ScreenLayout(stage: nil, tiles: [], selfView: nil)
        var stageArea = screen
        if let stage {
            if !others.isEmpty {
                let band = bandHeight(for: others.count)
                stageArea = ScreenRect(x: 0, y: 0, width: screenWidth, height: screenHeight - band)
                let strip = ScreenRect(x: 0, y: screenHeight - band, width: screenWidth, height: band)
                result.tiles = zip(others, Self.grid(count: others.count, in: strip)).map { ScreenLayout.Cell(source: $0, rect: $1) }
            }
            result.stage = ScreenLayout.Cell(source: stage, rect: stageArea)
        } else {
            result.tiles = zip(others, Self.grid(count: others.count, in: screen)).map { ScreenLayout.Cell(source: $0, rect: $1) }
        }
        if selfViewVisible { result.selfView = selfView(in: stageArea) }
        return result
    }

    /// A quarter of the screen; a third when one row at a quarter cannot hold the tiles at
    /// full band height (more than four on 16:9) and a third makes them a quarter larger or
    /// more (from seven others on 16:9): a taller band costs the stage.
    func bandHeight(for count: Int) -> Int {
        let quarter = ScreenRect.even(screenHeight / 4), third = ScreenRect.even(screenHeight / 3)
        let perRow = Int(Double(screenWidth) / (Double(quarter) * Self.pictureAspect))
        guard count > max(1, perRow) else { return quarter }
        func tileArea(_ height: Int) -> Int {
            Self.grid(count: count, in: ScreenRect(x: 0, y: 0, width: screenWidth, height: height)).first?.area ?? 0
        }
        return tileArea(third) * 4 >= tileArea(quarter) * 5 ? third : quarter
    }

    /// The self view: a sixth of the width, 16:9, in the bottom-right corner of `area`, a
    /// margin of 1/64 of the width from its edges.
    func selfView(in area: ScreenRect) -> ScreenRect {
        let width = ScreenRect.even(screenWidth / 6), height = ScreenRect.even(Int(Double(width) / Self.pictureAspect))
        let margin = ScreenRect.even(screenWidth / 64)
        return ScreenRect(x: ScreenRect.even(area.maxX - margin - width), y: ScreenRect.even(area.maxY - margin - height),
                          width: width, height: height)
    }

    /// `count` equal cells in rows inside `area`, the columns chosen so that a 16:9 picture
    /// in each cell is largest; the grid is centred, a short last row centred too.
    static func grid(count: Int, in area: ScreenRect) -> [ScreenRect] {
        guard count > 0, !area.isEmpty else { return [] }
        var best = (columns: 1, pictureArea: -1)
        for columns in 1...count {
            let rows = (count + columns - 1) / columns
            let cell = ScreenRect(x: 0, y: 0, width: area.width / columns, height: area.height / rows)
            let picture = cell.fitting(aspect: pictureAspect).area
            if picture >= best.pictureArea { best = (columns, picture) }  // a tie: the wider grid, as tile views are
        }
        let columns = best.columns, rows = (count + columns - 1) / columns
        // Cells as large as the picture needs (not the whole area), so the grid stays together.
        let fitted = ScreenRect(x: 0, y: 0, width: area.width / columns, height: area.height / rows).fitting(aspect: pictureAspect)
        let cellWidth = fitted.width, cellHeight = fitted.height
        let top = area.y + ScreenRect.even((area.height - rows * cellHeight) / 2)
        var cells: [ScreenRect] = []
        cells.reserveCapacity(count)
        for row in 0..<rows {
            let inRow = min(columns, count - row * columns)
            let left = area.x + ScreenRect.even((area.width - inRow * cellWidth) / 2)
            for column in 0..<inRow {
                cells.append(ScreenRect(x: left + column * cellWidth, y: top + row * cellHeight, width: cellWidth, height: cellHeight))
            }
        }
        return cells
    }
}
