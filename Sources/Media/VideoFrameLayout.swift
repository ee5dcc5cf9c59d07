/// Where the planes of a raw YUV picture lie in memory that someone else owns (a V4L2
/// capture buffer, a test-pattern buffer, a memory-mapped file). The encoder reads the
/// picture in place through this description: no copy.
public struct VideoFrameLayout {
    public enum Format: Sendable, Equatable {
        /// Planar 4:2:0 (Y, then U, then V): V4L2 `YU12`, libvpx `I420`.
        case i420
        /// Y plane, then interleaved UV: V4L2 `NV12`.
        case nv12
    }

    public var format: Format
    public var width: Int
    public var height: Int
    /// Y, U (or UV), V (nil for NV12).
    public var planes: (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>?)
    public var strides: (Int, Int, Int)

    public init(format: Format, width: Int, height: Int,
                planes: (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>?),
                strides: (Int, Int, Int)) {
        self.format = format
        self.width = width
        self.height = height
        self.planes = planes
        self.strides = strides
    }

    /// A tightly packed picture starting at `base` (strides = width, as in a raw .yuv file).
    public static func packed(_ format: Format, width: Int, height: Int, base: UnsafeMutablePointer<UInt8>) -> VideoFrameLayout {
        let luma = width * height
        switch format {
        case .i420:
            return VideoFrameLayout(format: .i420, width: width, height: height,
                                    planes: (base, base + luma, base + luma + luma / 4), strides: (width, width / 2, width / 2))
        case .nv12:
            return VideoFrameLayout(format: .nv12, width: width, height: height, planes: (base, base + luma, nil),
                                    strides: (width, width, 0))
        }
    }

    /// Bytes of a packed picture of this size.
    public static func packedSize(width: Int, height: Int) -> Int { width * height * 3 / 2 }
}
