#if canImport(Glibc)
import Glibc
#endif
internal import CV4L2

/// The picture formats frames are handed on in: the two libvpx reads in place.
public enum CameraFormat: Sendable, Equatable {
    case i420
    case nv12

    /// Picks how to capture from the formats the driver offers: I420 (`YU12`) or NV12 in
    /// place when offered; otherwise I420 converted by libv4l2 from whatever libv4lconvert
    /// understands (YUYV, MJPEG, ...); nil when nothing fits.
    static func choose(offered: [UInt32]) -> (format: CameraFormat, needsConversion: Bool)? {
        if offered.contains(CV4L2_PIX_FMT_YUV420) { return (.i420, false) }
        if offered.contains(CV4L2_PIX_FMT_NV12) { return (.nv12, false) }
        let convertible: Set<UInt32> = [CV4L2_PIX_FMT_YUYV, CV4L2_PIX_FMT_MJPEG, CV4L2_PIX_FMT_RGB24,
                                        FourCC.code("UYVY")!, FourCC.code("JPEG")!, FourCC.code("BGR3")!, FourCC.code("YVYU")!]
        return offered.contains(where: convertible.contains) ? (.i420, true) : nil
    }

    var fourcc: UInt32 { self == .i420 ? CV4L2_PIX_FMT_YUV420 : CV4L2_PIX_FMT_NV12 }
}

/// The system calls a camera makes: straight to the kernel, or through libv4l2 when it
/// converts formats. One seam, so both paths share all the code above it.
struct V4L2Calls: Sendable {
    let open: @Sendable (String) -> Int32
    let close: @Sendable (Int32) -> Void
    let ioctl: @Sendable (Int32, UInt, UnsafeMutableRawPointer) -> Int32
    let mmap: @Sendable (Int, Int32, Int) -> UnsafeMutableRawPointer?
    let munmap: @Sendable (UnsafeMutableRawPointer, Int) -> Void

    static let kernel = V4L2Calls(
        open: { Glibc.open($0, O_RDWR | O_NONBLOCK | O_CLOEXEC) },
        close: { _ = Glibc.close($0) },
        ioctl: { fd, request, argument in
            var result: Int32
            repeat { result = Glibc.ioctl(fd, request, argument) } while result < 0 && errno == EINTR
            return result
        },
        mmap: { length, fd, offset in
            let address = Glibc.mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset)
            return address == MAP_FAILED ? nil : address
        },
        munmap: { _ = Glibc.munmap($0, $1) })

    static let libv4l2 = V4L2Calls(
        open: { cv4l2_open($0, O_RDWR | O_NONBLOCK | O_CLOEXEC) },
        close: { _ = cv4l2_close($0) },
        ioctl: { fd, request, argument in
            var result: Int32
            repeat { result = cv4l2_ioctl(fd, request, argument) } while result < 0 && errno == EINTR
            return result
        },
        mmap: { length, fd, offset in
            let address = v4l2_mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, Int64(offset))
            return address == MAP_FAILED ? nil : address
        },
        munmap: { _ = v4l2_munmap($0, $1) })
}

extension V4L2Camera {
    static func nativeFormats(_ calls: V4L2Calls, _ fd: Int32) -> [UInt32] {
        var formats: [UInt32] = []
        for index in 0..<64 {
            var description = v4l2_fmtdesc()
            description.index = UInt32(index)
            description.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            guard calls.ioctl(fd, CV4L2_VIDIOC_ENUM_FMT, &description) == 0 else { break }
            formats.append(description.pixelformat)
        }
        return formats
    }

    /// Sets size and format; the driver may adjust the size, which is then what we use.
    static func setFormat(_ calls: V4L2Calls, _ fd: Int32, _ configuration: Configuration,
                          _ format: CameraFormat) throws(CaptureError) -> (width: Int, height: Int, bytesPerLine: Int) {
        var requested = v4l2_format()
        requested.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        requested.fmt.pix.width = UInt32(configuration.width)
        requested.fmt.pix.height = UInt32(configuration.height)
        requested.fmt.pix.pixelformat = format.fourcc
        requested.fmt.pix.field = V4L2_FIELD_NONE.rawValue
        guard calls.ioctl(fd, CV4L2_VIDIOC_S_FMT, &requested) == 0 else {
            throw .system("VIDIOC_S_FMT \(configuration.path)", errno: errno)
        }
        let pix = requested.fmt.pix
        guard pix.pixelformat == format.fourcc else {
            throw .noUsableFormat(configuration.path, offered: [FourCC.string(pix.pixelformat)])
        }
        guard pix.width % 2 == 0, pix.height % 2 == 0, pix.width > 0, pix.height > 0 else {
            throw .unsupported("\(configuration.path) insists on an odd size \(pix.width)x\(pix.height)")
        }
        let bytesPerLine = max(Int(pix.bytesperline), Int(pix.width))
        return (Int(pix.width), Int(pix.height), bytesPerLine)
    }

    /// Asks for the frame rate; returns what the driver reports (or the request when it
    /// cannot say).
    static func setFrameRate(_ calls: V4L2Calls, _ fd: Int32, _ fps: Int) -> Double {
        var parameters = v4l2_streamparm()
        parameters.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        parameters.parm.capture.timeperframe = v4l2_fract(numerator: 1, denominator: UInt32(fps))
        guard calls.ioctl(fd, CV4L2_VIDIOC_S_PARM, &parameters) == 0 else { return Double(fps) }
        let interval = parameters.parm.capture.timeperframe
        return interval.numerator > 0 ? Double(interval.denominator) / Double(interval.numerator) : Double(fps)
    }
}
