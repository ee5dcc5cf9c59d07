#if canImport(Glibc)
import Glibc
#endif
internal import CV4L2

/// What a V4L2 capture device offers, for `classbox probe`.
public struct CameraInfo: Sendable, Equatable {
    public struct Format: Sendable, Equatable {
        /// FourCC, e.g. "YU12", "YUYV", "MJPG".
        public var fourcc: String
        public var description: String
        /// Discrete frame sizes, or the range of a stepwise/continuous one as two entries.
        public var sizes: [(width: Int, height: Int)]

        public static func == (a: Format, b: Format) -> Bool {
            a.fourcc == b.fourcc && a.description == b.description
                && a.sizes.map(\.width) == b.sizes.map(\.width) && a.sizes.map(\.height) == b.sizes.map(\.height)
        }
    }

    public var path: String
    public var driver: String
    public var card: String
    public var bus: String
    public var formats: [Format]
}

/// Lists V4L2 video capture devices. It queries capabilities and formats only (QUERYCAP,
/// ENUM_FMT, ENUM_FRAMESIZES); it never starts streaming, so no picture is taken.
public enum CameraProbe {
    public static func list(directory: String = "/dev") -> (cameras: [CameraInfo], failures: [String: CaptureError]) {
        var cameras: [CameraInfo] = []
        var failures: [String: CaptureError] = [:]
        for name in directoryEntries(directory) where name.hasPrefix("video") {
            let path = "\(directory)/\(name)"
            do {
                if let camera = try describe(path) { cameras.append(camera) }
            } catch {
                failures[path] = error
            }
        }
        return (cameras, failures)
    }

    /// The device's description, or nil when it is not a video capture device
    /// (a metadata or output node of the same camera).
    public static func describe(_ path: String) throws(CaptureError) -> CameraInfo? {
        let fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open \(path)", errno: errno) }
        defer { close(fd) }
        var cap = v4l2_capability()
        guard ioctl(fd, CV4L2_VIDIOC_QUERYCAP, &cap) == 0 else { throw .system("VIDIOC_QUERYCAP \(path)", errno: errno) }
        let caps = cap.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS) != 0 ? cap.device_caps : cap.capabilities
        guard caps & UInt32(V4L2_CAP_VIDEO_CAPTURE) != 0 else { return nil }
        return CameraInfo(path: path, driver: cString(cap.driver), card: cString(cap.card), bus: cString(cap.bus_info),
                          formats: formats(fd))
    }

    private static func formats(_ fd: Int32) -> [CameraInfo.Format] {
        var formats: [CameraInfo.Format] = []
        for index in 0..<64 {
            var desc = v4l2_fmtdesc()
            desc.index = UInt32(index)
            desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            guard ioctl(fd, CV4L2_VIDIOC_ENUM_FMT, &desc) == 0 else { break }
            formats.append(.init(fourcc: FourCC.string(desc.pixelformat), description: cString(desc.description),
                                 sizes: frameSizes(fd, pixelFormat: desc.pixelformat)))
        }
        return formats
    }

    private static func frameSizes(_ fd: Int32, pixelFormat: UInt32) -> [(width: Int, height: Int)] {
        var sizes: [(width: Int, height: Int)] = []
        for index in 0..<64 {
            var size = v4l2_frmsizeenum()
            size.index = UInt32(index)
            size.pixel_format = pixelFormat
            guard ioctl(fd, CV4L2_VIDIOC_ENUM_FRAMESIZES, &size) == 0 else { break }
            if size.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue {
                sizes.append((Int(size.discrete.width), Int(size.discrete.height)))
            } else {
                sizes.append((Int(size.stepwise.min_width), Int(size.stepwise.min_height)))
                sizes.append((Int(size.stepwise.max_width), Int(size.stepwise.max_height)))
                break
            }
        }
        return sizes
    }

    private static func cString<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    static func directoryEntries(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
        }
        return names.filter { $0 != "." && $0 != ".." }.sorted { $0.count == $1.count ? $0 < $1 : $0.count < $1.count }
    }
}

/// V4L2 pixel format codes: four ASCII characters packed little-endian (`v4l2_fourcc`).
public enum FourCC {
    public static func string(_ code: UInt32) -> String {
        String(decoding: (0..<4).map { UInt8(truncatingIfNeeded: code >> ($0 * 8)) }, as: UTF8.self)
    }

    public static func code(_ text: String) -> UInt32? {
        let bytes = Array(text.utf8)
        guard bytes.count == 4 else { return nil }
        return bytes.enumerated().reduce(0) { $0 | UInt32($1.element) << ($1.offset * 8) }
    }
}
