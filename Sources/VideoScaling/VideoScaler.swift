import Media
internal import CYUV

/// Scales camera pictures down for the encoder when the bridge asks for fewer lines than the
/// camera gives (SenderSourceConstraints), with libyuv's box filter — what libwebrtc's
/// VideoAdapter path uses for the same job. The scaled picture lives in one buffer owned
/// here, sized at init for the largest picture it will hold, so the box allocates nothing per
/// frame; libyuv itself does for some ratios: its box filter keeps a row buffer on the heap
/// (malloc/free per call) for ratios other than exact halves and quarters — e.g. 1080 → 720
/// lines — and for NV12 at a quarter. The ratios the bridge asks of a 720-line camera
/// (360, 180) are exact halves and quarters of I420 and allocate nothing.
public final class VideoScaler {
    private let buffer: UnsafeMutableRawBufferPointer

    /// A scaler for pictures up to `maxWidth`×`maxHeight` (the camera's size).
    public init(maxWidth: Int, maxHeight: Int) {
        buffer = .allocate(byteCount: VideoFrameLayout.packedSize(width: maxWidth, height: maxHeight), alignment: 64)
    }

    deinit { buffer.deallocate() }

    public var capacity: Int { buffer.count }

    /// `picture` scaled to `width`×`height` (both even) in this scaler's buffer, in the
    /// picture's own format; valid until the next call. Nil when the size does not fit.
    public func scale(_ picture: VideoFrameLayout, width: Int, height: Int) -> VideoFrameLayout? {
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0,
              VideoFrameLayout.packedSize(width: width, height: height) <= buffer.count else { return nil }
        let output = VideoFrameLayout.packed(picture.format, width: width, height: height,
                                             base: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self))
        let status: Int32
        switch picture.format {
        case .i420:
            status = I420Scale(picture.planes.0, Int32(picture.strides.0), picture.planes.1, Int32(picture.strides.1),
                               picture.planes.2, Int32(picture.strides.2), Int32(picture.width), Int32(picture.height),
                               output.planes.0, Int32(output.strides.0), output.planes.1, Int32(output.strides.1),
                               output.planes.2, Int32(output.strides.2), Int32(width), Int32(height), kFilterBox)
        case .nv12:
            status = NV12Scale(picture.planes.0, Int32(picture.strides.0), picture.planes.1, Int32(picture.strides.1),
                               Int32(picture.width), Int32(picture.height),
                               output.planes.0, Int32(output.strides.0), output.planes.1, Int32(output.strides.1),
                               Int32(width), Int32(height), kFilterBox)
        }
        return status == 0 ? output : nil
    }

    /// The size to send a `width`×`height` camera picture at when receivers want at most
    /// `maxHeight` lines: the camera's own size when it fits, else scaled to `maxHeight` lines
    /// with the aspect kept, both sides even (4:2:0). `maxHeight` < 0: no constraint.
    public static func sendSize(width: Int, height: Int, maxHeight: Int) -> (width: Int, height: Int) {
        guard maxHeight > 0, maxHeight < height else { return (width, height) }
        let scaledHeight = max(2, maxHeight & ~1)
        let scaledWidth = max(2, (width * scaledHeight / height) & ~1)
        return (scaledWidth, scaledHeight)
    }
}
