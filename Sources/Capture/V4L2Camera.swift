#if canImport(Glibc)
import Glibc
#endif
internal import CV4L2
import Media
import Privacy

/// A V4L2 camera streaming into memory-mapped driver buffers.
///
/// Buffer model (the one place it is written down):
/// - `REQBUFS` asks the driver for `bufferCount` MMAP buffers; each is mapped once and, where
///   the driver supports `EXPBUF`, also exported as a DMABUF descriptor for hardware
///   consumers. All are queued, then streaming starts.
/// - ``nextFrame(timeout:)`` polls, dequeues one buffer and lends it out as a
///   ``CameraFrame``: the picture is read in place (the encoder wraps it, no copy). When the
///   frame is released (consumed or dropped), its buffer is queued back to the driver.
/// - Cameras that deliver only YUYV, MJPEG or similar are opened through libv4l2, which
///   converts each frame once into its own buffer as I420; that buffer is lent out the same way.
///
/// It can only be opened with a valid ``CameraPermit`` (the physical privacy switch's), which
/// it keeps: once the permit is revoked, ``nextFrame(timeout:)`` hands out no more frames but
/// throws `.private`, and the owner closes the camera.
///
/// A device that vanishes (`ENODEV`, USB unplug, power cut by a privacy switch) raises
/// `.disconnected`; no frame for `stallTimeout` raises `.stalled`. Both are transient:
/// the owner closes the camera and opens it again.
public final class V4L2Camera {
    public struct Configuration: Sendable, Equatable {
        public var path: String
        public var width: Int
        public var height: Int
        public var fps: Int
        public var bufferCount = 4

        public init(path: String, width: Int, height: Int, fps: Int) {
            self.path = path
            self.width = width
            self.height = height
            self.fps = fps
        }
    }

    public let configuration: Configuration
    /// The picture format frames arrive in after negotiation.
    public let format: CameraFormat
    public let width: Int
    public let height: Int
    public let bytesPerLine: Int
    /// The frame interval the driver accepted, in frames per second.
    public let fps: Double
    /// DMABUF descriptors of the buffers, when the driver exports them.
    public private(set) var dmabufDescriptors: [Int32] = []

    let calls: V4L2Calls
    let fd: Int32
    private let permit: CameraPermit
    private var mappings: [(address: UnsafeMutableRawPointer, length: Int)] = []
    private var streaming = false
    private var closed = false
    private var lastSequence: UInt32?
    /// Frames the driver skipped (gaps in its sequence numbers).
    public private(set) var droppedFrames = 0

    public init(_ configuration: Configuration, permit: consuming CameraPermit) throws(CaptureError) {
        self.configuration = configuration
        let path = configuration.path
        guard permit.isValid else { throw .private(path) }
        self.permit = permit
        let probe = V4L2Calls.kernel
        let rawFD = probe.open(path)
        guard rawFD >= 0 else {
            throw errno == ENOENT || errno == ENODEV || errno == ENXIO ? .disconnected(path) : .system("open \(path)", errno: errno)
        }
        var capability = v4l2_capability()
        guard probe.ioctl(rawFD, CV4L2_VIDIOC_QUERYCAP, &capability) == 0 else {
            let code = errno
            probe.close(rawFD)
            throw .system("VIDIOC_QUERYCAP \(path)", errno: code)
        }
        let caps = capability.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0 ? capability.device_caps : capability.capabilities
        guard caps & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0, caps & UInt32(V4L2_CAP_STREAMING) != 0 else {
            probe.close(rawFD)
            throw .notACaptureDevice(path)
        }
        let offered = Self.nativeFormats(probe, rawFD)
        guard let choice = CameraFormat.choose(offered: offered) else {
            probe.close(rawFD)
            throw .noUsableFormat(path, offered: offered.map(FourCC.string))
        }
        if choice.needsConversion {
            probe.close(rawFD)
            calls = .libv4l2
            fd = calls.open(path)
            guard fd >= 0 else { throw .system("v4l2_open \(path)", errno: errno) }
        } else {
            calls = probe
            fd = rawFD
        }
        format = choice.format
        do {
            (width, height, bytesPerLine) = try Self.setFormat(calls, fd, configuration, format)
        } catch {
            calls.close(fd)
            throw error
        }
        fps = Self.setFrameRate(calls, fd, configuration.fps)
        do {
            try mapBuffers(exportDMABUF: !choice.needsConversion)
            try startStreaming()
        } catch {
            closeDevice()
            throw error
        }
    }

    deinit { closeDevice() }

    /// Waits up to `timeout` seconds for the next frame; `.private` as soon as the permit is revoked.
    public func nextFrame(timeout: Double) throws(CaptureError) -> CameraFrame {
        guard permit.isValid else { throw .private(configuration.path) }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN | POLLPRI), revents: 0)
        // Waits in 10 ms slices so a revoked permit (the switch closing) is noticed within
        // 10 ms even while the camera is between frames.
        var waited: Int32 = 0
        var ready: Int32 = 0
        while ready == 0 && Double(waited) < timeout * 1000 {
            repeat { ready = poll(&descriptor, 1, 10) } while ready < 0 && errno == EINTR
            waited += 10
            guard permit.isValid else { throw .private(configuration.path) }
        }
        if ready < 0 { throw .system("poll \(configuration.path)", errno: errno) }
        if ready == 0 { throw .stalled(configuration.path, seconds: timeout) }
        if descriptor.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 && descriptor.revents & Int16(POLLIN) == 0 {
            throw .disconnected(configuration.path)
        }
        var buffer = v4l2_buffer()
        buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        buffer.memory = V4L2_MEMORY_MMAP.rawValue
        guard calls.ioctl(fd, CV4L2_VIDIOC_DQBUF, &buffer) == 0 else {
            if errno == ENODEV || errno == EIO { throw .disconnected(configuration.path) }
            throw .system("VIDIOC_DQBUF \(configuration.path)", errno: errno)
        }
        guard permit.isValid else {
            requeue(buffer.index)
            throw .private(configuration.path)
        }
        if let lastSequence, buffer.sequence > lastSequence &+ 1 { droppedFrames += Int(buffer.sequence &- lastSequence &- 1) }
        lastSequence = buffer.sequence
        let base = mappings[Int(buffer.index)].address.assumingMemoryBound(to: UInt8.self)
        // A driver's timestamp is taken as it comes (only differences matter), never trusted
        // to be in range: a negative or huge one wraps instead of stopping the box.
        let nanoseconds = UInt64(truncatingIfNeeded: buffer.timestamp.tv_sec) &* 1_000_000_000
            &+ UInt64(truncatingIfNeeded: buffer.timestamp.tv_usec) &* 1000
        return CameraFrame(camera: self, index: buffer.index, layout: layout(base), timestampNanoseconds: nanoseconds,
                           sequence: buffer.sequence, bytesUsed: Int(buffer.bytesused))
    }

    /// Whether the permit this camera was opened with still holds.
    public var isPermitted: Bool { permit.isValid }

    /// The camera's own privacy control (`V4L2_CID_PRIVACY`: a lens shutter or built-in
    /// switch); nil when the camera has none.
    public func privacyControl() -> Bool? {
        var control = v4l2_control()
        control.id = CV4L2_CID_PRIVACY
        guard calls.ioctl(fd, CV4L2_VIDIOC_G_CTRL, &control) == 0 else { return nil }
        return control.value != 0
    }

    /// Gives a buffer back to the driver (called by `CameraFrame` when it is released).
    func requeue(_ index: UInt32) {
        guard streaming else { return }
        var buffer = v4l2_buffer()
        buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        buffer.memory = V4L2_MEMORY_MMAP.rawValue
        buffer.index = index
        _ = calls.ioctl(fd, CV4L2_VIDIOC_QBUF, &buffer)  // fails only when the device is gone; the next poll says so
    }

    private func layout(_ base: UnsafeMutablePointer<UInt8>) -> VideoFrameLayout {
        let lumaSize = bytesPerLine * height
        switch format {
        case .i420:
            return VideoFrameLayout(format: .i420, width: width, height: height,
                                    planes: (base, base + lumaSize, base + lumaSize + lumaSize / 4),
                                    strides: (bytesPerLine, bytesPerLine / 2, bytesPerLine / 2))
        case .nv12:
            return VideoFrameLayout(format: .nv12, width: width, height: height, planes: (base, base + lumaSize, nil),
                                    strides: (bytesPerLine, bytesPerLine, 0))
        }
    }

    private func mapBuffers(exportDMABUF: Bool) throws(CaptureError) {
        var request = v4l2_requestbuffers()
        request.count = UInt32(configuration.bufferCount)
        request.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        request.memory = V4L2_MEMORY_MMAP.rawValue
        guard calls.ioctl(fd, CV4L2_VIDIOC_REQBUFS, &request) == 0, request.count >= 2 else {
            throw .system("VIDIOC_REQBUFS \(configuration.path)", errno: errno)
        }
        for index in 0..<request.count {
            var buffer = v4l2_buffer()
            buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            buffer.memory = V4L2_MEMORY_MMAP.rawValue
            buffer.index = index
            guard calls.ioctl(fd, CV4L2_VIDIOC_QUERYBUF, &buffer) == 0 else { throw .system("VIDIOC_QUERYBUF", errno: errno) }
            guard let address = calls.mmap(Int(buffer.length), fd, Int(buffer.m.offset)) else { throw .system("mmap", errno: errno) }
            mappings.append((address, Int(buffer.length)))
            if exportDMABUF {
                var export = v4l2_exportbuffer()
                export.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
                export.index = index
                export.flags = UInt32(O_CLOEXEC | O_RDONLY)
                if calls.ioctl(fd, CV4L2_VIDIOC_EXPBUF, &export) == 0 { dmabufDescriptors.append(export.fd) }
            }
        }
    }

    private func startStreaming() throws(CaptureError) {
        for index in 0..<mappings.count {
            var buffer = v4l2_buffer()
            buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            buffer.memory = V4L2_MEMORY_MMAP.rawValue
            buffer.index = UInt32(index)
            guard calls.ioctl(fd, CV4L2_VIDIOC_QBUF, &buffer) == 0 else { throw .system("VIDIOC_QBUF", errno: errno) }
        }
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        guard calls.ioctl(fd, CV4L2_VIDIOC_STREAMON, &type) == 0 else { throw .system("VIDIOC_STREAMON", errno: errno) }
        streaming = true
    }

    private func closeDevice() {
        guard !closed else { return }
        closed = true
        if streaming {
            var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
            _ = calls.ioctl(fd, CV4L2_VIDIOC_STREAMOFF, &type)
            streaming = false
        }
        for mapping in mappings { calls.munmap(mapping.address, mapping.length) }
        mappings = []
        for descriptor in dmabufDescriptors { Glibc.close(descriptor) }
        dmabufDescriptors = []
        calls.close(fd)
    }
}
