import Layout
import Testing

/// The classroom screen's layout for 1–9 others, with and without a share, on 16:9, 4:3 and
/// 21:9 screens: everybody shown, nothing overlapping, pictures as large as the rules allow.
@Suite struct ScreenLayoutTests {
    static let screens = [(1920, 1080), (1280, 720), (1024, 768), (2560, 1080)]

    static func names(_ count: Int) -> [String] { (0..<count).map { "p\($0)-v0" } }

    /// What must hold for every layout.
    static func checkInvariants(_ layout: ScreenLayout, screen: (Int, Int), expected: [String], stage: String?) {
        let bounds = ScreenRect(x: 0, y: 0, width: screen.0, height: screen.1)
        let cells = layout.cells
        #expect(cells.map(\.source).sorted() == expected.sorted(), "everybody shown once: \(cells.map(\.source))")
        #expect(layout.stage?.source == stage)
        for cell in cells {
            #expect(bounds.contains(cell.rect) && !cell.rect.isEmpty, "\(cell.rect) on the \(screen) screen")
            #expect([cell.rect.x, cell.rect.y, cell.rect.width, cell.rect.height].allSatisfy { $0 % 2 == 0 }, "even for I420: \(cell.rect)")
        }
        for (index, cell) in cells.enumerated() {
            for other in cells[(index + 1)...] {
                #expect(!cell.rect.intersects(other.rect), "\(cell.source) \(cell.rect) overlaps \(other.source) \(other.rect)")
            }
        }
        for tile in layout.tiles where layout.stage != nil {
            #expect(tile.rect.area * 4 <= layout.stage!.rect.area, "the stage is at least four tiles large")
            // Tiles are cut to the 16:9 picture (within the rounding to even pixels).
            #expect(abs(Double(tile.rect.width) / Double(tile.rect.height) - 16.0 / 9) < 0.04, "16:9 tile \(tile.rect)")
        }
        let tileSizes = Set(layout.tiles.map { [$0.rect.width, $0.rect.height] })
        #expect(tileSizes.count <= 1, "all tiles one size: \(tileSizes)")
    }

    @Test(arguments: 1...9)
    func everybodyIsShownOnEveryScreenWithAndWithoutAStage(others count: Int) {
        for screen in Self.screens {
            let engine = ScreenLayoutEngine(screenWidth: screen.0, screenHeight: screen.1)
            let names = Self.names(count)
            Self.checkInvariants(engine.layout(stage: nil, others: names, selfViewVisible: false), screen: screen, expected: names, stage: nil)
            Self.checkInvariants(engine.layout(stage: names[0], others: names, selfViewVisible: false), screen: screen, expected: names,
                                 stage: names[0])
            // A share on stage: the sharer's camera stays among the tiles.
            let share = "p0-v1"
            Self.checkInvariants(engine.layout(stage: share, others: names, selfViewVisible: true), screen: screen,
                                 expected: [share] + names, stage: share)
        }
    }

    @Test func aSpeakerOverThreeOthersOnAFullHDScreen() {
        let layout = ScreenLayoutEngine(screenWidth: 1920, screenHeight: 1080)
            .layout(stage: "a-v0", others: ["a-v0", "b-v0", "c-v0", "d-v0"], selfViewVisible: true)
        #expect(layout.stage?.rect == ScreenRect(x: 0, y: 0, width: 1920, height: 810))
        #expect(layout.tiles.map(\.rect) == [ScreenRect(x: 240, y: 810, width: 480, height: 270), ScreenRect(x: 720, y: 810, width: 480, height: 270),
                                            ScreenRect(x: 1200, y: 810, width: 480, height: 270)])
        #expect(layout.tiles.map(\.source) == ["b-v0", "c-v0", "d-v0"], "the screen's order kept")
        // The self view: 320x180, 30 pixels in from the stage's bottom-right corner.
        #expect(layout.selfView == ScreenRect(x: 1570, y: 600, width: 320, height: 180))
        #expect(layout.stage.map { $0.rect.contains(layout.selfView!) } == true)
    }

    @Test func gridsFollowTheScreensShape() {
        func columns(_ count: Int, _ width: Int, _ height: Int) -> Int {
            let layout = ScreenLayoutEngine(screenWidth: width, screenHeight: height).layout(stage: nil, others: Self.names(count), selfViewVisible: false)
            return layout.tiles.filter { $0.rect.y == layout.tiles.first?.rect.y }.count  // in the first row
        }
        #expect(columns(1, 1920, 1080) == 1)
        #expect(columns(2, 1920, 1080) == 2, "two side by side")
        #expect(columns(4, 1920, 1080) == 2, "2×2")
        #expect(columns(9, 1920, 1080) == 3, "3×3")
        #expect(columns(2, 1024, 768) == 1, "on 4:3 two 16:9 pictures are larger one above the other")
        #expect(columns(2, 2560, 1080) == 2 && columns(3, 2560, 1080) == 2, "on 21:9 side by side, a third below: larger than three in a row")
        let one = ScreenLayoutEngine(screenWidth: 1920, screenHeight: 1080).layout(stage: nil, others: ["a-v0"], selfViewVisible: false)
        #expect(one.tiles.first?.rect == ScreenRect(x: 0, y: 0, width: 1920, height: 1080))
    }

    @Test func aLoneSpeakerFillsTheScreenAndManyOthersGetATallerBand() {
        let engine = ScreenLayoutEngine(screenWidth: 1920, screenHeight: 1080)
        let alone = engine.layout(stage: "a-v0", others: ["a-v0"], selfViewVisible: false)
        #expect(alone.stage?.rect == ScreenRect(x: 0, y: 0, width: 1920, height: 1080) && alone.tiles.isEmpty && alone.selfView == nil)
        let many = engine.layout(stage: "a-v0", others: Self.names(8), selfViewVisible: false)
        #expect(many.stage?.rect.height == 720, "a third for the others when one row at a quarter holds too few")
        #expect(many.tiles.allSatisfy { $0.rect.y >= 720 })
    }

    @Test func picturesOfAnotherShapeAreLetterboxedInTheirCell() {
        let cell = ScreenRect(x: 100, y: 50, width: 640, height: 360)
        #expect(cell.fitting(aspect: 16.0 / 9) == cell)
        #expect(cell.fitting(aspect: 4.0 / 3) == ScreenRect(x: 180, y: 50, width: 480, height: 360), "pillarboxed")
        #expect(cell.fitting(aspect: 21.0 / 9) == ScreenRect(x: 100, y: 92, width: 640, height: 274), "letterboxed")
        #expect(ScreenRect(x: 0, y: 0, width: 0, height: 10).fitting(aspect: 1).isEmpty)
    }
}
