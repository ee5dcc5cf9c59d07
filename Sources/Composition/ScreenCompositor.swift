import Layout
import Media
import VideoScaling
internal import CYUV

/// The classroom screen's picture in memory: 32-bit XRGB, DRM's `XRGB8888` (little-endian
/// B, G, R, X bytes — what libyuv calls ARGB), owned by someone else: a KMS dumb buffer being
/// scanned out next, or the snapshot display's buffer.
public struct ScreenCanvas {
    public var base: UnsafeMutablePointer<UInt8>
    public var width: Int
    public var height: Int
    /// Bytes per row (a dumb buffer's pitch may exceed width × 4).
    public var stride: Int

    public init(base: UnsafeMutablePointer<UInt8>, width: Int, height: Int, stride: Int) {
        precondition(stride >= width * 4, "a row holds width × 4 bytes")
        self.base = base
        self.width = width
        self.height = height
        self.stride = stride
    }

    public var bounds: ScreenRect { ScreenRect(x: 0, y: 0, width: width, height: height) }

    /// One pixel's colour (for tests and the snapshot display).
    public func colour(x: Int, y: Int) -> ScreenColour {
        let pixel = base + y * stride + x * 4
        return ScreenColour(red: pixel[2], green: pixel[1], blue: pixel[0])
    }
}

/// An opaque screen colour (full-range RGB, as the scan-out shows it).
public struct ScreenColour: Sendable, Equatable, CustomStringConvertible {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// The 32-bit XRGB word (X = 0xFF) that libyuv's `ARGBRect` writes.
    var xrgb: UInt32 { 0xFF00_0000 | UInt32(red) << 16 | UInt32(green) << 8 | UInt32(blue) }

    public var description: String { "rgb(\(red), \(green), \(blue))" }

    /// Behind and between the pictures: a dark grey, not black, so a switched-on screen with a
    /// black picture is told apart from a dead one.
    public static let background = ScreenColour(red: 24, green: 26, blue: 30)
}

/// Puts pictures into the screen: each decoded (or captured) 4:2:0 picture scaled with its
/// aspect kept into its tile with libyuv, converted to XRGB (BT.601 limited range, which VP8
/// and cameras use), the rest of the tile filled with the background. Scaling happens in YUV
/// (a third of the bytes of RGB), the conversion straight into the canvas: one write per
/// screen pixel, nothing else copied.
///
/// The compositor does not decide what to redraw: the screen calls `draw` for a tile when its
/// source has a new picture and `fill` when the layout changed, so unchanged tiles cost nothing.
/// A plane path (a Pi's HVS scaling YUV in hardware) would replace `draw` for the stage only.
///
/// All memory is allocated at init: one picture the size of the screen for the scaled
/// picture. libyuv's scalers keep row buffers on the heap for ratios other than halves and
/// quarters (see `VideoScaler`); that is libyuv's, not per-frame state of ours.
public final class ScreenCompositor {
    public let screenWidth: Int
    public let screenHeight: Int
    /// Holds the scaled picture: one the size of the screen.
    private let scaler: VideoScaler

    public init(screenWidth: Int, screenHeight: Int) {
        precondition(screenWidth > 0 && screenHeight > 0, "a screen has a size")
        self.screenWidth = screenWidth
        self.screenHeight = screenHeight
        scaler = VideoScaler(maxWidth: (screenWidth + 1) & ~1, maxHeight: (screenHeight + 1) & ~1)
    }

    /// Fills `rect` (clipped to the canvas) with `colour`.
    public func fill(_ rect: ScreenRect, with colour: ScreenColour, on canvas: ScreenCanvas) {
        let clipped = Self.clip(rect, to: canvas.bounds)
        guard !clipped.isEmpty else { return }
        _ = ARGBRect(canvas.base, Int32(canvas.stride), Int32(clipped.x), Int32(clipped.y),
                     Int32(clipped.width), Int32(clipped.height), colour.xrgb)
    }

    /// Draws `picture` into `tile` with its aspect kept (letter- or pillarboxed), the bars in
    /// `background`. Returns where the picture went, or nil when nothing could be drawn (an
    /// empty tile, a picture without pixels, a tile outside the canvas).
    @discardableResult
    public func draw(_ picture: VideoFrameLayout, in tile: ScreenRect, background: ScreenColour = .background,
                     on canvas: ScreenCanvas) -> ScreenRect? {
        guard picture.width > 0, picture.height > 0 else { return nil }
        var fitted = tile.fitting(aspect: Double(picture.width) / Double(picture.height))
        // A picture already scaled for this tile (the screen's video sink does that) may
        // differ from the fit by the even rounding: it is placed as it is, not scaled again.
        if abs(fitted.width - picture.width) <= 2, abs(fitted.height - picture.height) <= 2,
           picture.width <= tile.width, picture.height <= tile.height {
            fitted = ScreenRect(x: tile.x + ((tile.width - picture.width) / 2 & ~1), y: tile.y + ((tile.height - picture.height) / 2 & ~1),
                                width: picture.width, height: picture.height)
        }
        // A picture is drawn whole or not at all: a tile reaching past the screen is a layout
        // error, and a cut-off face is worse than a slate.
        guard !fitted.isEmpty, canvas.bounds.contains(fitted),
              fitted.width <= screenWidth, fitted.height <= screenHeight else { return nil }
        fillBars(around: fitted, in: tile, with: background, on: canvas)
        let target = canvas.base + fitted.y * canvas.stride + fitted.x * 4
        let source = fitted.width == picture.width && fitted.height == picture.height
            ? picture : scaler.scale(picture, width: fitted.width, height: fitted.height)
        guard let source else { return nil }
        let status: Int32
        switch source.format {
        case .i420:
            status = I420ToARGB(source.planes.0, Int32(source.strides.0), source.planes.1, Int32(source.strides.1),
                                source.planes.2, Int32(source.strides.2), target, Int32(canvas.stride),
                                Int32(fitted.width), Int32(fitted.height))
        case .nv12:
            status = NV12ToARGB(source.planes.0, Int32(source.strides.0), source.planes.1, Int32(source.strides.1),
                                target, Int32(canvas.stride), Int32(fitted.width), Int32(fitted.height))
        }
        return status == 0 ? fitted : nil
    }

    /// Fills the parts of `tile` that `picture` (centred inside it) leaves uncovered: up to
    /// four bars (no array: this runs for every picture).
    private func fillBars(around picture: ScreenRect, in tile: ScreenRect, with colour: ScreenColour, on canvas: ScreenCanvas) {
        fill(ScreenRect(x: tile.x, y: tile.y, width: tile.width, height: picture.y - tile.y), with: colour, on: canvas)
        fill(ScreenRect(x: tile.x, y: picture.maxY, width: tile.width, height: tile.maxY - picture.maxY), with: colour, on: canvas)
        fill(ScreenRect(x: tile.x, y: picture.y, width: picture.x - tile.x, height: picture.height), with: colour, on: canvas)
        fill(ScreenRect(x: picture.maxX, y: picture.y, width: tile.maxX - picture.maxX, height: picture.height), with: colour, on: canvas)
    }

    static func clip(_ rect: ScreenRect, to bounds: ScreenRect) -> ScreenRect {
        let x = max(rect.x, bounds.x), y = max(rect.y, bounds.y)
        return ScreenRect(x: x, y: y, width: max(0, min(rect.maxX, bounds.maxX) - x), height: max(0, min(rect.maxY, bounds.maxY) - y))
    }
}
