import Media

/// A captured picture lent out by a ``V4L2Camera``. It is the camera's buffer itself;
/// when the frame is released (consumed or dropped) the buffer goes back to the driver.
/// Being non-copyable, it cannot outlive that or be returned twice.
public struct CameraFrame: ~Copyable {
    private let camera: V4L2Camera
    private let index: UInt32
    /// The picture, valid while this frame lives.
    public let layout: VideoFrameLayout
    /// When the driver captured it, on the monotonic clock (ns).
    public let timestampNanoseconds: UInt64
    /// The driver's frame counter: gaps mean dropped frames.
    public let sequence: UInt32
    public let bytesUsed: Int

    init(camera: V4L2Camera, index: UInt32, layout: VideoFrameLayout, timestampNanoseconds: UInt64, sequence: UInt32, bytesUsed: Int) {
        self.camera = camera
        self.index = index
        self.layout = layout
        self.timestampNanoseconds = timestampNanoseconds
        self.sequence = sequence
        self.bytesUsed = bytesUsed
    }

    deinit { camera.requeue(index) }
}
