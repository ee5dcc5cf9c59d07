import Layout
internal import CFreeType

/// Text for the classroom screen: the glyphs of one TrueType font at one pixel size, rendered
/// by FreeType to 8-bit coverage once, at init, and blended into the canvas from then on.
///
/// Why FreeType at run time rather than a glyph atlas made at build time: the pixel size
/// follows the screen (a 720p projector and a 1080p TV get text of the same *apparent* size,
/// a title a fifteenth of the height), and FreeType's hinting makes small text crisp on
/// the screen it is drawn for. The font is Debian's DejaVu Sans (`fonts-dejavu-core`): it
/// covers Latin with every European diacritic, Greek and Cyrillic — the names of a German
/// class — and is in every Debian system, the box's image too.
///
/// What is rendered: Latin (Basic to Extended-B), Greek, Cyrillic, general punctuation and
/// the euro sign, where the font has them; anything else is drawn as the font's "?" rather
/// than rendered on demand, so drawing never allocates and the font needs no lock. Scripts
/// that need shaping (Arabic, Indic) would need HarfBuzz; not attempted. No kerning: the
/// legacy kern table FreeType reads without HarfBuzz is missing in most modern fonts, and
/// at screen sizes its absence is not seen.
public final class ScreenFont: @unchecked Sendable {
    /// One rendered glyph: its coverage at `offset` in the store, `width` × `rows` bytes,
    /// placed `left` right of the pen and `top` above the baseline.
    struct Glyph {
        var offset: Int
        var width: Int
        var rows: Int
        var left: Int
        var top: Int
        var advance: Int
    }

    public enum FontError: Error, CustomStringConvertible {
        case cannotOpen(path: String, code: Int32)
        case unusable(path: String, why: String)

        public var description: String {
            switch self {
            case .cannotOpen(let path, let code): "cannot open the font \(path) (FreeType error \(code))"
            case .unusable(let path, let why): "the font \(path) cannot be used: \(why)"
            }
        }
    }

    /// The font the box ships with (Debian `fonts-dejavu-core`).
    public static let defaultPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    public static let defaultBoldPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

    /// The code points rendered at init.
    static let renderedRanges: [ClosedRange<UInt32>] = [
        0x20...0x7E, 0xA0...0x24F,  // Latin: Basic, Latin-1 Supplement, Extended-A and -B
        0x370...0x3FF, 0x400...0x4FF,  // Greek, Cyrillic
        0x2010...0x2027, 0x2030...0x203A, 0x20AC...0x20AC,  // dashes, quotes, ellipsis, per mille, euro
    ]

    public let pixelSize: Int
    /// Pixels from the baseline up to the top of the tallest glyphs, and down to the bottom
    /// of the deepest (positive); their sum is the height of a line of text.
    public let ascender: Int
    public let descender: Int
    public var lineHeight: Int { ascender + descender }

    private let glyphs: [UInt32: Glyph]
    private let coverage: [UInt8]
    private let fallback: Glyph

    /// Renders the font at `path` to `pixelSize` (the em height in pixels).
    public init(path: String = ScreenFont.defaultPath, pixelSize: Int) throws(FontError) {
        precondition(pixelSize > 0, "a font has a size")
        var library: FT_Library?
        guard FT_Init_FreeType(&library) == 0, let library else { throw .unusable(path: path, why: "FreeType did not start") }
        defer { FT_Done_FreeType(library) }
        var face: FT_Face?
        let opened = FT_New_Face(library, path, 0, &face)
        guard opened == 0, let face else { throw .cannotOpen(path: path, code: opened) }
        defer { FT_Done_Face(face) }
        guard FT_Set_Pixel_Sizes(face, 0, FT_UInt(pixelSize)) == 0 else { throw .unusable(path: path, why: "no size \(pixelSize) px") }

        var glyphs: [UInt32: Glyph] = [:]
        var coverage: [UInt8] = []
        for range in Self.renderedRanges {
            for code in range where FT_Get_Char_Index(face, FT_ULong(code)) != 0 {
                guard FT_Load_Char(face, FT_ULong(code), classbox_ft_load_render_light()) == 0, let slot = face.pointee.glyph else { continue }
                let bitmap = slot.pointee.bitmap
                guard Int32(bitmap.pixel_mode) == classbox_ft_pixel_mode_gray() || bitmap.rows == 0 else { continue }
                let width = Int(bitmap.width), rows = Int(bitmap.rows)
                let glyph = Glyph(offset: coverage.count, width: width, rows: rows, left: Int(slot.pointee.bitmap_left),
                                  top: Int(slot.pointee.bitmap_top), advance: Int((slot.pointee.advance.x + 32) >> 6))
                // The pitch may be padded, or negative (rows stored bottom-up from `buffer`):
                // the top row then is the last one in memory.
                let pitch = Int(bitmap.pitch)
                let top = pitch >= 0 ? 0 : (rows - 1) * -pitch
                for row in 0..<rows {
                    let start = bitmap.buffer! + top + row * pitch
                    coverage.append(contentsOf: UnsafeBufferPointer(start: start, count: width))
                }
                glyphs[code] = glyph
            }
        }
        guard let question = glyphs[UInt32(("?" as Unicode.Scalar).value)], glyphs.count > 90 else {
            throw .unusable(path: path, why: "it lacks the Latin letters")
        }
        let metrics = face.pointee.size.pointee.metrics
        self.pixelSize = pixelSize
        ascender = Int((metrics.ascender + 63) >> 6)
        descender = Int((-metrics.descender + 63) >> 6)
        self.glyphs = glyphs
        self.coverage = coverage
        fallback = question
    }

    /// Whether `scalar` is drawn as itself (not as "?").
    public func covers(_ scalar: Unicode.Scalar) -> Bool { glyphs[scalar.value] != nil }

    private func glyph(_ scalar: Unicode.Scalar) -> Glyph { glyphs[scalar.value] ?? fallback }

    /// The advance width of `text` in pixels.
    public func width<S: StringProtocol>(of text: S) -> Int {
        text.unicodeScalars.reduce(0) { $0 + glyph($1).advance }
    }

    /// Draws `text` with the left end of its baseline at (`x`, `baseline`) in `colour`,
    /// each glyph's coverage blended over what the canvas holds, clipped to `clip` (the whole
    /// canvas when nil). Returns the pen's x after the text. Allocates nothing.
    @discardableResult
    public func draw<S: StringProtocol>(_ text: S, x: Int, baseline: Int, colour: ScreenColour,
                                        on canvas: ScreenCanvas, clip: ScreenRect? = nil) -> Int {
        let bounds = clip.map { ScreenCompositor.clip($0, to: canvas.bounds) } ?? canvas.bounds
        var pen = x
        coverage.withUnsafeBufferPointer { store in
            for scalar in text.unicodeScalars {
                let glyph = glyph(scalar)
                blend(glyph, store: store, x: pen + glyph.left, y: baseline - glyph.top, colour: colour, on: canvas, bounds: bounds)
                pen += glyph.advance
            }
        }
        return pen
    }

    /// dst = (src·a + dst·(255 − a)) / 255 per channel, rounded: coverage as alpha.
    private func blend(_ glyph: Glyph, store: UnsafeBufferPointer<UInt8>, x: Int, y: Int, colour: ScreenColour,
                       on canvas: ScreenCanvas, bounds: ScreenRect) {
        let left = max(x, bounds.x), right = min(x + glyph.width, bounds.maxX)
        let top = max(y, bounds.y), bottom = min(y + glyph.rows, bounds.maxY)
        guard left < right, top < bottom else { return }
        let red = Int(colour.red), green = Int(colour.green), blue = Int(colour.blue)
        for row in top..<bottom {
            let source = glyph.offset + (row - y) * glyph.width - x
            let line = canvas.base + row * canvas.stride
            for column in left..<right {
                let alpha = Int(store[source + column])
                guard alpha > 0 else { continue }
                let pixel = line + column * 4
                let inverse = 255 - alpha
                pixel[0] = UInt8((blue * alpha + Int(pixel[0]) * inverse + 127) / 255)
                pixel[1] = UInt8((green * alpha + Int(pixel[1]) * inverse + 127) / 255)
                pixel[2] = UInt8((red * alpha + Int(pixel[2]) * inverse + 127) / 255)
            }
        }
    }

    /// `text` broken into lines no wider than `maxWidth` at spaces (a word wider than that
    /// gets a line of its own and is clipped when drawn). Status screens call this when their
    /// text changes, not per frame.
    public func wrap(_ text: String, maxWidth: Int) -> [Substring] {
        var lines: [Substring] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var start = paragraph.startIndex, lineEnd = paragraph.startIndex, index = paragraph.startIndex
            let space = width(of: " ")
            var lineWidth = 0
            while index < paragraph.endIndex {
                let wordEnd = paragraph[index...].firstIndex(of: " ") ?? paragraph.endIndex
                let wordWidth = width(of: paragraph[index..<wordEnd])
                if lineWidth > 0 && lineWidth + space + wordWidth > maxWidth {
                    lines.append(paragraph[start..<lineEnd])
                    start = index
                    lineWidth = wordWidth
                } else {
                    lineWidth += (lineWidth > 0 ? space : 0) + wordWidth
                }
                lineEnd = wordEnd
                index = wordEnd < paragraph.endIndex ? paragraph.index(after: wordEnd) : wordEnd
            }
            lines.append(paragraph[start..<lineEnd])
        }
        return lines
    }
}
