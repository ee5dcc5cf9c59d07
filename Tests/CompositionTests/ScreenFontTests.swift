import Foundation
import Testing
import Composition
import Layout
import StatusScreen

/// FreeType text in the canvas, with Debian's DejaVu Sans (`make deps` installs it).
@Suite(.enabled(if: FileManager.default.fileExists(atPath: ScreenFont.defaultPath), "needs fonts-dejavu-core (make deps installs it)"))
struct ScreenFontTests {
    static let black = ScreenColour(red: 0, green: 0, blue: 0)
    static let white = ScreenColour(red: 255, green: 255, blue: 255)

    /// A canvas filled with `colour`.
    static func canvas(width: Int, height: Int, colour: ScreenColour) -> TestCanvas {
        let canvas = TestCanvas(width: width, height: height)
        ScreenCompositor(screenWidth: width, screenHeight: height).fill(canvas.canvas.bounds, with: colour, on: canvas.canvas)
        return canvas
    }

    /// Pixels whose colour is not `colour`, as a bounding box (nil: none).
    static func inked(_ canvas: ScreenCanvas, other colour: ScreenColour) -> ScreenRect? {
        var left = Int.max, top = Int.max, right = -1, bottom = -1
        for y in 0..<canvas.height {
            for x in 0..<canvas.width where canvas.colour(x: x, y: y) != colour {
                left = min(left, x); right = max(right, x); top = min(top, y); bottom = max(bottom, y)
            }
        }
        return right < 0 ? nil : ScreenRect(x: left, y: top, width: right - left + 1, height: bottom - top + 1)
    }

    @Test func germanAndEasternEuropeanLettersAreDrawnAsThemselvesAndOtherScriptsAsAQuestionMark() throws {
        let font = try ScreenFont(pixelSize: 32)
        for letter in "ÄÖÜäöüßğşłćčřžŁŠЖжΩ€„“–…".unicodeScalars {
            #expect(font.covers(letter), "\(letter) is rendered")
        }
        #expect(!font.covers("中"), "CJK is not rendered (DejaVu Sans has none)")
        #expect(font.width(of: "中") == font.width(of: "?"), "an uncovered letter takes the place of a ?")
    }

    @Test func widthIsTheSumOfTheLettersAndFollowsTheSize() throws {
        let small = try ScreenFont(pixelSize: 24), large = try ScreenFont(pixelSize: 48)
        let text = "Kamera privat"
        #expect(small.width(of: text) == text.reduce(0) { $0 + small.width(of: String($1)) })
        let ratio = Double(large.width(of: text)) / Double(small.width(of: text))
        #expect(abs(ratio - 2) < 0.1, "twice the size, about twice the width: \(ratio)")
        #expect(large.lineHeight > 48 && large.lineHeight < 64, "a line of a 48 px font: \(large.lineHeight) px")
    }

    /// The ink stays between the pen and its advance, above the descender and below the
    /// ascender; the umlaut's dots reach above the plain letter's x-height.
    @Test func inkLiesWithinTheLineAndTheUmlautHasItsDots() throws {
        let font = try ScreenFont(pixelSize: 40)
        func ink(_ text: String) -> ScreenRect? {
            let canvas = Self.canvas(width: 200, height: 100, colour: Self.black)
            font.draw(text, x: 20, baseline: 70, colour: Self.white, on: canvas.canvas)
            return Self.inked(canvas.canvas, other: Self.black)
        }
        let plain = try #require(ink("a")), umlaut = try #require(ink("ä")), word = try #require(ink("Hygiene"))
        #expect(umlaut.y < plain.y - 4, "ä's dots above a: \(umlaut) vs \(plain)")
        #expect(umlaut.maxY == plain.maxY, "both sit on the baseline: \(umlaut) vs \(plain)")
        #expect(word.x >= 20 - 2 && word.maxX <= 20 + font.width(of: "Hygiene") + 2, "ink within the advance: \(word)")
        #expect(word.y >= 70 - font.ascender && word.maxY <= 70 + font.descender, "ink within the line: \(word)")
        #expect(word.maxY > 70 + 3, "y and g descend below the baseline: \(word)")
    }

    /// Coverage is alpha: the same text over black, white and grey gives grey = the mix of
    /// the two in proportion (±1 for rounding), and fully covered pixels take the colour.
    @Test func coverageBlendsOverWhatIsThere() throws {
        let font = try ScreenFont(pixelSize: 28)
        let grey = ScreenColour(red: 100, green: 100, blue: 100), ink = ScreenColour(red: 250, green: 10, blue: 130)
        let canvases = [Self.black, Self.white, grey].map { background in
            let canvas = Self.canvas(width: 160, height: 48, colour: background)
            font.draw("Raum 7b", x: 4, baseline: 34, colour: ink, on: canvas.canvas)
            return canvas
        }
        var full = 0, partial = 0
        for y in 0..<48 {
            for x in 0..<160 {
                let onBlack = canvases[0].canvas.colour(x: x, y: y), onGrey = canvases[2].canvas.colour(x: x, y: y)
                // Alpha from the red channel over black: red = 250 · a / 255.
                // (250 · a + 127) / 255 is 250 only for a = 255: full coverage.
                let alpha = Double(onBlack.red) / 250, covered = onBlack.red == 250
                if covered { full += 1 } else if alpha > 0.01 { partial += 1 }
                let expected = 10 * alpha + 100 * (1 - alpha)
                #expect(abs(Double(onGrey.green) - expected) <= 1.5, "(\(x), \(y)): \(onGrey) for alpha \(alpha)")
                if covered { #expect(canvases[1].canvas.colour(x: x, y: y) == ink) }
            }
        }
        #expect(full > 50 && partial > 50, "solid and anti-aliased pixels: \(full), \(partial)")
    }

    @Test func nothingIsDrawnOutsideTheClip() throws {
        let font = try ScreenFont(pixelSize: 40)
        let canvas = Self.canvas(width: 300, height: 80, colour: Self.black)
        let clip = ScreenRect(x: 50, y: 10, width: 60, height: 40)
        font.draw("Mikrofon stumm", x: 10, baseline: 55, colour: Self.white, on: canvas.canvas, clip: clip)
        let ink = try #require(Self.inked(canvas.canvas, other: Self.black))
        #expect(clip.contains(ink), "ink \(ink) inside \(clip)")
        // Text starting left of the canvas and running past its right edge is clipped there.
        font.draw("Verbindung wird aufgebaut", x: -30, baseline: 40, colour: Self.white, on: canvas.canvas)
        #expect(Self.inked(canvas.canvas, other: Self.black) != nil)
    }

    @Test func wrappedLinesFitAndKeepEveryWord() throws {
        let font = try ScreenFont(pixelSize: 30)
        let text = "Der Raum „Klasse 7b“ hat das Passwort der Box abgelehnt. Bitte die IT der Schule informieren."
        let lines = font.wrap(text, maxWidth: 400)
        #expect(lines.count >= 3)
        for line in lines { #expect(font.width(of: line) <= 400, "\(line)") }
        #expect(lines.joined(separator: " ") == text)
        #expect(font.wrap("eins\nzwei", maxWidth: 1000) == ["eins", "zwei"])
        #expect(font.wrap("Donaudampfschifffahrtsgesellschaft", maxWidth: 50) == ["Donaudampfschifffahrtsgesellschaft"])
    }

    @Test func aMissingFontIsAClearError() {
        #expect(throws: ScreenFont.FontError.self) { try ScreenFont(path: "/nonexistent/font.ttf", pixelSize: 20) }
    }
}

/// Status screens as a teacher sees them, at two screen sizes.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: ScreenFont.defaultBoldPath), "needs fonts-dejavu-core (make deps installs it)"))
struct StatusScreenPainterTests {
    @Test(arguments: [(1280, 720), (1920, 1080)])
    func theWrongPasswordScreenIsCentredWithItsChips(size: (Int, Int)) throws {
        let (width, height) = size
        let painter = try StatusScreenPainter(screenWidth: width, screenHeight: height)
        let compositor = ScreenCompositor(screenWidth: width, screenHeight: height)
        let canvas = TestCanvas(width: width, height: height)
        for live in [false, true] {
            let text = StatusWording.text(for: .problem(.wrongPassword(room: "Klasse 7b")),
                                          indicators: ScreenIndicators(cameraLive: live), language: .de)
            let placed = painter.paint(text, with: compositor, on: canvas.canvas)
            #expect(abs(placed.title.x + placed.title.width / 2 - width / 2) <= 2, "title centred: \(placed.title)")
            #expect(placed.body.y > placed.title.maxY && placed.camera.y > placed.body.maxY, "title, text, chips from top to bottom: \(placed)")
            #expect(placed.camera.maxY <= height && placed.microphone.maxX <= width, "chips on the screen: \(placed)")
            #expect(placed.title.height < height / 8, "the title fits one line at \(width)×\(height): \(placed.title)")
            #expect(canvas.canvas.colour(x: 0, y: 0) == StatusScreenPainter.accent(of: .error), "the error accent along the top")
            let chipCorner = canvas.canvas.colour(x: placed.camera.x + 1, y: placed.camera.y + 1)
            #expect(chipCorner == (live ? StatusScreenPainter.liveRed : StatusScreenPainter.privateGrey), "camera chip \(chipCorner), live \(live)")
            #expect(canvas.canvas.colour(x: width / 2, y: height / 8) == .background)
            // Every pixel was painted: nothing of the canvas's old content is left.
            var untouched = 0
            for y in stride(from: 0, to: height, by: 3) {
                for x in stride(from: 0, to: width, by: 3) where canvas.canvas.colour(x: x, y: y) == TestCanvas.untouched { untouched += 1 }
            }
            #expect(untouched == 0)
        }
    }
}
