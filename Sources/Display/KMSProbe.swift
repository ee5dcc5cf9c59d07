import Composition
import Glibc
internal import CDRM

extension KMSDisplay {
    /// What probing a card found: the connector, the controller (CRTC) to drive it, the mode.
    struct Probe {
        var connectorID: UInt32
        var connectorName: String
        var controllerID: UInt32
        var modeInfo: drmModeModeInfo
        var choice: DisplayModeChoice.Choice
    }

    /// The first connected connector with modes, its mode chosen, a controller that can drive it.
    static func probe(_ descriptor: Int32, path: String, requested: RequestedDisplayMode?) throws(DisplayError) -> Probe {
        var dumb: UInt64 = 0
        guard drmGetCap(descriptor, UInt64(DRM_CAP_DUMB_BUFFER), &dumb) == 0, dumb != 0 else { throw .noDumbBuffers(path: path) }
        guard let resources = drmModeGetResources(descriptor) else { throw .noConnectedScreen(path: path) }
        defer { drmModeFreeResources(resources) }
        let res = resources.pointee
        for index in 0..<Int(res.count_connectors) {
            guard let connector = drmModeGetConnector(descriptor, res.connectors[index]) else { continue }
            defer { drmModeFreeConnector(connector) }
            let info = connector.pointee
            guard info.connection == DRM_MODE_CONNECTED, info.count_modes > 0 else { continue }
            let name = connectorName(type: info.connector_type, index: info.connector_type_id)
            let infos = (0..<Int(info.count_modes)).map { info.modes[$0] }
            let modes = infos.map(displayMode)
            guard let choice = DisplayModeChoice.choose(among: modes, requested: requested),
                  let chosen = modes.firstIndex(of: choice.mode) else { continue }
            guard let controller = controller(for: connector, resources: resources, descriptor: descriptor) else {
                throw .noController(path: path, connector: name)
            }
            return Probe(connectorID: info.connector_id, connectorName: name, controllerID: controller,
                         modeInfo: infos[chosen], choice: choice)
        }
        throw .noConnectedScreen(path: path)
    }

    static func displayMode(_ info: drmModeModeInfo) -> DisplayMode {
        DisplayMode(width: Int(info.hdisplay), height: Int(info.vdisplay), refreshHertz: Int(info.vrefresh),
                    preferred: info.type & classbox_drm_mode_type_preferred() != 0,
                    interlaced: info.flags & classbox_drm_mode_flag_interlace() != 0)
    }

    static func connectorName(type: UInt32, index: UInt32) -> String {
        let kind = drmModeGetConnectorTypeName(type).map { String(cString: $0) } ?? "Unknown\(type)"
        return "\(kind)-\(index)"
    }

    /// The controller already driving the connector's encoder, else the first one any of its
    /// encoders can use (`possible_crtcs` is a bit mask over the resources' CRTC list).
    static func controller(for connector: UnsafeMutablePointer<drmModeConnector>, resources: UnsafeMutablePointer<drmModeRes>,
                           descriptor: Int32) -> UInt32? {
        let info = connector.pointee
        if info.encoder_id != 0, let encoder = drmModeGetEncoder(descriptor, info.encoder_id) {
            defer { drmModeFreeEncoder(encoder) }
            if encoder.pointee.crtc_id != 0 { return encoder.pointee.crtc_id }
        }
        for index in 0..<Int(info.count_encoders) {
            guard let encoder = drmModeGetEncoder(descriptor, info.encoders[index]) else { continue }
            defer { drmModeFreeEncoder(encoder) }
            for crtc in 0..<Int(resources.pointee.count_crtcs) where encoder.pointee.possible_crtcs & (1 << UInt32(crtc)) != 0 {
                return resources.pointee.crtcs[crtc]
            }
        }
        return nil
    }
}

/// One XRGB8888 dumb buffer, registered as a frame buffer and mapped for drawing.
final class ScanOutBuffer {
    let descriptor: Int32
    let handle: UInt32
    let frameBuffer: UInt32
    let memory: UnsafeMutableRawPointer
    let size: Int
    let canvas: ScreenCanvas

    init(descriptor: Int32, width: Int, height: Int) throws(DisplayError) {
        self.descriptor = descriptor
        var handle: UInt32 = 0, pitch: UInt32 = 0, size: UInt64 = 0
        guard drmModeCreateDumbBuffer(descriptor, UInt32(width), UInt32(height), 32, 0, &handle, &pitch, &size) == 0 else {
            throw .bufferFailed("creating a \(width)x\(height) buffer", errno: errno)
        }
        var frameBuffer: UInt32 = 0
        let handles: [UInt32] = [handle, 0, 0, 0], pitches: [UInt32] = [pitch, 0, 0, 0], offsets: [UInt32] = [0, 0, 0, 0]
        guard drmModeAddFB2(descriptor, UInt32(width), UInt32(height), classbox_drm_format_xrgb8888(),
                            handles, pitches, offsets, &frameBuffer, 0) == 0 else {
            let code = errno
            _ = drmModeDestroyDumbBuffer(descriptor, handle)
            throw .bufferFailed("registering the frame buffer", errno: code)
        }
        var offset: UInt64 = 0
        let mapped = drmModeMapDumbBuffer(descriptor, handle, &offset) == 0
            ? mmap(nil, Int(size), PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, off_t(offset)) : MAP_FAILED
        guard let mapped, mapped != MAP_FAILED else {
            let code = errno
            _ = drmModeRmFB(descriptor, frameBuffer)
            _ = drmModeDestroyDumbBuffer(descriptor, handle)
            throw .bufferFailed("mapping the buffer", errno: code)
        }
        self.handle = handle
        self.frameBuffer = frameBuffer
        self.memory = mapped
        self.size = Int(size)
        canvas = ScreenCanvas(base: mapped.assumingMemoryBound(to: UInt8.self), width: width, height: height, stride: Int(pitch))
    }

    deinit {
        munmap(memory, size)
        _ = drmModeRmFB(descriptor, frameBuffer)
        _ = drmModeDestroyDumbBuffer(descriptor, handle)
    }
}
