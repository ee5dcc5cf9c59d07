import Layout
import StatusScreen

/// The status bar along the bottom of the screen during the lesson: the room on the left,
/// the camera and the microphone on the right as the LEDs show them, so the class always
/// sees whether it is on camera — the red "LIVE" chip of the status screens, smaller.
///
/// The bar has its own strip (the lesson's layout ends above it), so pictures never cover it
/// and it is painted only when its text changes.
public final class StatusBarPainter {
    /// The strip's height: a sixteenth of the screen, even.
    public let height: Int
    let font: ScreenFont

    public init(screenHeight: Int, regularFont: String = ScreenFont.defaultPath) throws(ScreenFont.FontError) {
        height = max(24, screenHeight / 16) & ~1
        font = try ScreenFont(path: regularFont, pixelSize: max(9, height * 2 / 5))
    }

    /// Where the parts went, for tests.
    public struct Placement: Equatable {
        public var room: ScreenRect
        public var camera: ScreenRect
        public var microphone: ScreenRect
    }

    /// Paints `status` (its title is the room, as the lesson's status screen has it) into `bar`.
    @discardableResult
    public func paint(_ status: StatusText, in bar: ScreenRect, with compositor: ScreenCompositor, on canvas: ScreenCanvas) -> Placement {
        compositor.fill(bar, with: .background, on: canvas)
        let padding = max(2, font.pixelSize / 2), gap = font.pixelSize
        let chipHeight = font.lineHeight + padding
        let top = bar.y + (bar.height - chipHeight) / 2
        let live = status.camera.hasSuffix("LIVE")
        let microphone = ScreenChip.paint(status.microphone, font: font, colour: StatusScreenPainter.privateGrey, textColour: StatusScreenPainter.text,
                                          right: bar.maxX - gap, top: top, padding: padding, with: compositor, on: canvas)
        let camera = ScreenChip.paint(status.camera, font: font, colour: live ? StatusScreenPainter.liveRed : StatusScreenPainter.privateGrey,
                                      textColour: StatusScreenPainter.text, right: microphone.x - gap / 2, top: top, padding: padding,
                                      with: compositor, on: canvas)
        let roomWidth = max(0, camera.x - gap - (bar.x + gap))
        let room = ScreenChip.paint(status.title, font: font, colour: .background, textColour: StatusScreenPainter.text,
                                    left: bar.x + gap - padding, top: top, padding: padding, maxWidth: roomWidth,
                                    with: compositor, on: canvas)
        return Placement(room: room, camera: camera, microphone: microphone)
    }
}
