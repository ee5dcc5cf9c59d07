import Layout

/// What the lesson's tiles carry besides pictures: the name plate at the bottom left of each
/// picture, and the avatar slate of a participant whose camera is off or not forwarded — a
/// disc in a colour of its own with the name's initials, as Jitsi's avatars look, so the
/// class recognises who it is without a picture.
///
/// Fonts are rendered once, at init; painting allocates nothing (the plate is drawn with
/// every new picture of its tile).
public final class TilePainter {
    let plateFont: ScreenFont
    /// Initials for a large tile (the stage) and for a small one (the strip).
    let avatarFonts: [ScreenFont]

    public static let slate = ScreenColour(red: 44, green: 48, blue: 56)
    public static let plate = ScreenColour(red: 16, green: 18, blue: 22)
    /// The discs' colours, one chosen per name.
    public static let avatarColours = [
        ScreenColour(red: 52, green: 120, blue: 220), ScreenColour(red: 40, green: 150, blue: 90),
        ScreenColour(red: 170, green: 90, blue: 190), ScreenColour(red: 210, green: 120, blue: 40),
        ScreenColour(red: 30, green: 150, blue: 160), ScreenColour(red: 190, green: 70, blue: 100),
        ScreenColour(red: 110, green: 120, blue: 60), ScreenColour(red: 90, green: 100, blue: 200),
    ]

    public init(screenHeight: Int, regularFont: String = ScreenFont.defaultPath,
                boldFont: String = ScreenFont.defaultBoldPath) throws(ScreenFont.FontError) {
        plateFont = try ScreenFont(path: regularFont, pixelSize: max(10, screenHeight / 40))
        avatarFonts = [try ScreenFont(path: boldFont, pixelSize: max(12, screenHeight / 12)),
                       try ScreenFont(path: boldFont, pixelSize: max(10, screenHeight / 30))]
    }

    /// The panel inside `tile`: a margin of background (a ninetieth of its height) keeps
    /// neighbouring slates apart.
    public static func panel(of tile: ScreenRect) -> ScreenRect {
        let margin = max(2, (tile.height / 90) & ~1)
        return ScreenRect(x: tile.x + margin, y: tile.y + margin, width: tile.width - 2 * margin, height: tile.height - 2 * margin)
    }

    /// The disc's rectangle on a slate for `tile` (for tests).
    public static func disc(in tile: ScreenRect) -> ScreenRect {
        let panel = panel(of: tile)
        let diameter = min(panel.width, panel.height) * 2 / 5
        return ScreenRect(x: panel.x + (panel.width - diameter) / 2, y: panel.y + (panel.height - diameter) / 2, width: diameter, height: diameter)
    }

    /// A tile without a picture; with a name, the avatar disc with its initials and the plate.
    public func paintSlate(in tile: ScreenRect, name: String?, with compositor: ScreenCompositor, on canvas: ScreenCanvas) {
        compositor.fill(tile, with: .background, on: canvas)
        let panel = Self.panel(of: tile)
        compositor.fill(panel, with: Self.slate, on: canvas)
        guard let name, !panel.isEmpty else { return }
        let disc = Self.disc(in: tile)
        fillDisc(disc, colour: Self.avatarColour(for: name), with: compositor, on: canvas)
        let initials = Self.initials(of: name)
        if let font = avatarFonts.first(where: { $0.width(of: initials) <= disc.width * 7 / 10 && $0.lineHeight <= disc.height }) {
            // Centred on the capitals' height (about 0.73 of the pixel size in DejaVu Sans).
            font.draw(initials, x: disc.x + (disc.width - font.width(of: initials)) / 2,
                      baseline: disc.y + disc.height / 2 + font.pixelSize * 73 / 200, colour: StatusScreenPainter.text, on: canvas, clip: disc)
        }
        paintPlate(name, over: panel, with: compositor, on: canvas)
    }

    /// The self view without a picture: the camera's chip as the LED shows it (red when live,
    /// grey when private) on a grey panel — what the class sees the moment the switch closes.
    public func paintOwnSlate(in tile: ScreenRect, label: String, live: Bool, with compositor: ScreenCompositor, on canvas: ScreenCanvas) {
        compositor.fill(tile, with: .background, on: canvas)
        let panel = Self.panel(of: tile)
        compositor.fill(panel, with: StatusScreenPainter.privateGrey, on: canvas)
        let padding = max(2, plateFont.pixelSize / 3)
        let width = min(plateFont.width(of: label) + 2 * padding, panel.width), height = plateFont.lineHeight + padding
        guard panel.height > height else { return }
        ScreenChip.paint(label, font: plateFont, colour: live ? StatusScreenPainter.liveRed : Self.plate, textColour: StatusScreenPainter.text,
                         left: panel.x + (panel.width - width) / 2, top: panel.y + (panel.height - height) / 2, padding: padding,
                         maxWidth: panel.width, with: compositor, on: canvas)
    }

    /// The name plate at the bottom left of `picture` (where the picture went in its tile),
    /// never wider than the picture: a long name ends in "…".
    public func paintPlate(_ name: String, over picture: ScreenRect, with compositor: ScreenCompositor, on canvas: ScreenCanvas) {
        let inset = max(2, picture.height / 60), padding = max(2, plateFont.pixelSize / 3)
        let height = plateFont.lineHeight + padding
        guard picture.width > 2 * inset + 2 * padding, picture.height > height + 2 * inset else { return }
        ScreenChip.paint(name, font: plateFont, colour: Self.plate, textColour: StatusScreenPainter.text,
                         left: picture.x + inset, top: picture.maxY - inset - height, padding: padding,
                         maxWidth: picture.width - 2 * inset, with: compositor, on: canvas)
    }

    /// Up to two initials: the first letter or digit of the first two words, in capitals.
    public static func initials(of name: String) -> String {
        var result = ""
        for word in name.split(separator: " ").prefix(2) {
            if let first = word.first(where: { $0.isLetter || $0.isNumber }) { result += first.uppercased() }
        }
        return result.isEmpty ? String(name.prefix(1)) : result
    }

    /// The same colour for the same name on every box and every run (FNV-1a, not Swift's
    /// seeded hash).
    static func avatarColour(for name: String) -> ScreenColour {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return avatarColours[Int(hash % UInt32(avatarColours.count))]
    }

    /// A filled disc in `square`, row by row.
    private func fillDisc(_ square: ScreenRect, colour: ScreenColour, with compositor: ScreenCompositor, on canvas: ScreenCanvas) {
        let radius = square.width / 2
        guard radius > 0 else { return }
        let centreX = square.x + radius, centreY = square.y + radius
        for row in 0..<(2 * radius) {
            let dy = row - radius
            let half = Int(Double(radius * radius - dy * dy).squareRoot())
            compositor.fill(ScreenRect(x: centreX - half, y: centreY + dy, width: 2 * half, height: 1), with: colour, on: canvas)
        }
    }
}
