import Layout
import StatusScreen

/// Paints a status screen: the title large, the explanation below it, the log's line small,
/// and at the bottom the camera and microphone as the LEDs show them — a red "Camera LIVE"
/// chip is the one thing on the screen in red besides errors' accent.
///
/// Sizes follow the screen's height (the title a fourteenth of it), so a 720p projector and
/// a 1080p TV look alike from the back of a classroom. Fonts are rendered once, at init;
/// painting allocates only when wrapping the text into lines (a status screen is painted
/// when its text changes, not per frame).
public final class StatusScreenPainter {
    public let screenWidth: Int
    public let screenHeight: Int
    let titleFont: ScreenFont
    let bodyFont: ScreenFont
    let detailFont: ScreenFont

    public static let text = ScreenColour(red: 236, green: 238, blue: 242)
    public static let dimText = ScreenColour(red: 150, green: 156, blue: 166)
    public static let liveRed = ScreenColour(red: 200, green: 32, blue: 40)
    public static let privateGrey = ScreenColour(red: 58, green: 62, blue: 70)

    public init(screenWidth: Int, screenHeight: Int, regularFont: String = ScreenFont.defaultPath,
                boldFont: String = ScreenFont.defaultBoldPath) throws(ScreenFont.FontError) {
        self.screenWidth = screenWidth
        self.screenHeight = screenHeight
        titleFont = try ScreenFont(path: boldFont, pixelSize: max(12, screenHeight / 14))
        bodyFont = try ScreenFont(path: regularFont, pixelSize: max(10, screenHeight / 27))
        detailFont = try ScreenFont(path: regularFont, pixelSize: max(8, screenHeight / 40))
    }

    /// The accent of each tone: a bar along the top of the screen.
    public static func accent(of tone: StatusText.Tone) -> ScreenColour {
        switch tone {
        case .working: ScreenColour(red: 52, green: 120, blue: 220)
        case .calm: ScreenColour(red: 40, green: 160, blue: 90)
        case .attention: ScreenColour(red: 230, green: 160, blue: 30)
        case .error: liveRed
        }
    }

    /// Where the parts went, for tests and for a screen that redraws only the chips.
    public struct Placement: Equatable {
        public var title: ScreenRect
        public var body: ScreenRect
        public var detail: ScreenRect?
        public var camera: ScreenRect
        public var microphone: ScreenRect
    }

    /// Paints `status` over the whole canvas.
    @discardableResult
    public func paint(_ status: StatusText, with compositor: ScreenCompositor, on canvas: ScreenCanvas) -> Placement {
        let width = min(screenWidth, canvas.width), height = min(screenHeight, canvas.height)
        compositor.fill(ScreenRect(x: 0, y: 0, width: width, height: height), with: .background, on: canvas)
        compositor.fill(ScreenRect(x: 0, y: 0, width: width, height: max(4, height / 90)), with: Self.accent(of: status.tone), on: canvas)

        let margin = width / 10, column = width - 2 * margin
        var y = height * 3 / 10
        let title = drawCentred(titleFont.wrap(status.title, maxWidth: column), font: titleFont, colour: Self.text, top: y, on: canvas)
        y = title.maxY + bodyFont.lineHeight
        let body = drawCentred(bodyFont.wrap(status.body, maxWidth: column), font: bodyFont, colour: Self.text, top: y, on: canvas)
        var detail: ScreenRect?
        if let line = status.detail, !line.isEmpty {
            detail = drawCentred(detailFont.wrap(line, maxWidth: column), font: detailFont, colour: Self.dimText,
                                 top: body.maxY + bodyFont.lineHeight, on: canvas)
        }
        let live = status.camera.hasSuffix("LIVE")
        let chipsTop = height - height / 8
        let camera = chip(status.camera, colour: live ? Self.liveRed : Self.privateGrey, right: width / 2 - bodyFont.pixelSize / 2,
                          top: chipsTop, with: compositor, on: canvas)
        let microphone = chip(status.microphone, colour: Self.privateGrey, left: width / 2 + bodyFont.pixelSize / 2,
                              top: chipsTop, with: compositor, on: canvas)
        return Placement(title: title, body: body, detail: detail, camera: camera, microphone: microphone)
    }

    /// Lines centred horizontally from `top` down; returns the box they cover.
    private func drawCentred(_ lines: [Substring], font: ScreenFont, colour: ScreenColour, top: Int, on canvas: ScreenCanvas) -> ScreenRect {
        var covered = ScreenRect(x: screenWidth / 2, y: top, width: 0, height: 0)
        var baseline = top + font.ascender
        for line in lines {
            let lineWidth = font.width(of: line), x = (screenWidth - lineWidth) / 2
            font.draw(line, x: x, baseline: baseline, colour: colour, on: canvas)
            let left = min(covered.x, x), right = max(covered.maxX, x + lineWidth)
            covered = ScreenRect(x: left, y: top, width: right - left, height: baseline + font.descender - top)
            baseline += font.lineHeight
        }
        return covered
    }

    /// A chip in the body font, padded by half its size.
    private func chip(_ text: String, colour: ScreenColour, left: Int? = nil, right: Int? = nil, top: Int,
                      with compositor: ScreenCompositor, on canvas: ScreenCanvas) -> ScreenRect {
        ScreenChip.paint(text, font: bodyFont, colour: colour, textColour: Self.text, left: left, right: right, top: top,
                         padding: bodyFont.pixelSize / 2, with: compositor, on: canvas)
    }
}
