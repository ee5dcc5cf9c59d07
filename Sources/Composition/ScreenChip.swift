import Layout

/// A chip: one line of text on a filled rectangle, padded — the camera and microphone
/// indicators, the status bar's and the name plates. Shared so they all look alike.
enum ScreenChip {
    /// Paints `text` in `font` on `colour`, padded by `padding` on every side, its left edge at
    /// `left` (or its right edge at `right`) and its top at `top`; no wider than `maxWidth`
    /// (the text then ends in "…"). Returns the chip's rectangle. Allocates nothing.
    @discardableResult
    static func paint<S: StringProtocol>(_ text: S, font: ScreenFont, colour: ScreenColour, textColour: ScreenColour,
                                         left: Int? = nil, right: Int? = nil, top: Int, padding: Int, maxWidth: Int = .max,
                                         with compositor: ScreenCompositor, on canvas: ScreenCanvas) -> ScreenRect {
        let fullWidth = font.width(of: text)
        let textWidth = min(fullWidth, max(0, maxWidth - 2 * padding))
        let width = textWidth + 2 * padding, height = font.lineHeight + padding
        let x = left ?? ((right ?? 0) - width)
        let rect = ScreenRect(x: x, y: top, width: width, height: height)
        compositor.fill(rect, with: colour, on: canvas)
        let baseline = top + padding / 2 + font.ascender
        if fullWidth <= textWidth {
            font.draw(text, x: x + padding, baseline: baseline, colour: textColour, on: canvas, clip: rect)
        } else {
            // The longest prefix that leaves room for the ellipsis.
            let ellipsis = "…", room = textWidth - font.width(of: ellipsis)
            var end = text.startIndex, used = 0
            for index in text.indices {
                let next = text.index(after: index)
                let step = font.width(of: text[index..<next])
                guard used + step <= room else { break }
                used += step
                end = next
            }
            let pen = font.draw(text[text.startIndex..<end], x: x + padding, baseline: baseline, colour: textColour, on: canvas, clip: rect)
            font.draw(ellipsis, x: pen, baseline: baseline, colour: textColour, on: canvas, clip: rect)
        }
        return rect
    }
}
