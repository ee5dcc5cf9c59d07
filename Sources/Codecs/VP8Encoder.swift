import Media
internal import CLinux
internal import CVPX

/// One compressed VP8 frame, valid only during the `encode` callback (it points into
/// libvpx's output buffer).
public struct EncodedVP8Frame {
    public var data: UnsafeRawBufferPointer
    public var isKeyframe: Bool
    /// Not used as a reference by later frames: a receiver may drop it.
    public var isDroppable: Bool
    /// Temporal layer id and layer-sync flag, when the encoder runs with layers.
    public var temporalLayer: (id: UInt8, sync: Bool)?
    /// Presentation time in 90 kHz units, as given to `encode`.
    public var pts: Int64
}

/// A libvpx VP8 encoder for real-time video.
///
/// It reads each picture in place (`VideoFrameLayout`: the capture buffer itself) and
/// hands out compressed frames from libvpx's own buffer, so encoding allocates nothing of
/// ours per frame. Use it from one thread; `requestKeyframe` and `setBitrate` are called
/// between frames by that same thread.
public final class VP8Encoder {
    public private(set) var settings: VP8EncoderSettings
    private let context: UnsafeMutablePointer<vpx_codec_ctx_t>
    private var config = vpx_codec_enc_cfg_t()
    private let image: UnsafeMutablePointer<vpx_image_t>
    private let pattern: TemporalPattern
    private var frameCount = 0
    private var keyframeRequested = false

    public init(_ settings: VP8EncoderSettings) throws(CodecError) {
        try settings.validate()
        self.settings = settings
        pattern = TemporalPattern(layers: settings.temporalLayers)
        context = .allocate(capacity: 1)
        image = .allocate(capacity: 1)
        image.initialize(to: vpx_image_t())
        guard vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &config, 0) == VPX_CODEC_OK else {
            context.deallocate()
            image.deallocate()
            throw .vpx("vpx_codec_enc_config_default", message: "no VP8 encoder in this libvpx")
        }
        applySettings()
        let status = cvpx_codec_enc_init(context, vpx_codec_vp8_cx(), &config, 0)
        guard status == VPX_CODEC_OK else {
            let message = String(cString: vpx_codec_err_to_string(status))
            context.deallocate()
            image.deallocate()
            throw .vpx("vpx_codec_enc_init", message: message)
        }
        let controls: [(vp8e_enc_control_id, Int32)] = [
            (VP8E_SET_CPUUSED, Int32(settings.cpuUsed)),
            (VP8E_SET_STATIC_THRESHOLD, Int32(settings.staticThreshold)),
            (VP8E_SET_NOISE_SENSITIVITY, Int32(settings.noiseSensitivity)),
            (VP8E_SET_TOKEN_PARTITIONS, Int32(settings.tokenPartitions)),
        ] + (settings.maxIntraBitratePercent.map { [(VP8E_SET_MAX_INTRA_BITRATE_PCT, Int32($0))] } ?? [])
        for (control, value) in controls {
            let result = cvpx_codec_control_int(context, Int32(control.rawValue), value)
            guard result == VPX_CODEC_OK else {
                let message = String(cString: vpx_codec_error(context))
                vpx_codec_destroy(context)
                context.deallocate()
                image.deallocate()
                throw .vpx("vpx_codec_control(\(control.rawValue))", message: message)
            }
        }
    }

    deinit {
        vpx_codec_destroy(context)
        context.deallocate()
        image.deallocate()
    }

    private func applySettings() {
        config.g_w = UInt32(settings.width)
        config.g_h = UInt32(settings.height)
        config.g_timebase = vpx_rational(num: 1, den: 90000)
        let cores = Int(clinux_usable_cpus())
        config.g_threads = UInt32(settings.threads > 0 ? settings.threads
                                  : VP8EncoderSettings.automaticThreads(width: settings.width, height: settings.height, cores: cores))
        config.g_lag_in_frames = 0
        config.g_pass = VPX_RC_ONE_PASS
        config.g_error_resilient = settings.errorResilient ? vpx_codec_er_flags_t(VPX_ERROR_RESILIENT_DEFAULT) : 0
        config.rc_end_usage = VPX_CBR
        config.rc_target_bitrate = UInt32(settings.bitrateKbps)
        config.rc_min_quantizer = UInt32(settings.minQuantizer)
        config.rc_max_quantizer = UInt32(settings.maxQuantizer)
        config.rc_undershoot_pct = UInt32(settings.undershootPercent)
        config.rc_overshoot_pct = UInt32(settings.overshootPercent)
        config.rc_buf_sz = UInt32(settings.bufferMilliseconds)
        config.rc_buf_initial_sz = UInt32(settings.bufferInitialMilliseconds)
        config.rc_buf_optimal_sz = UInt32(settings.bufferOptimalMilliseconds)
        config.rc_dropframe_thresh = UInt32(settings.dropFrameThreshold)
        config.rc_resize_allowed = 0
        config.kf_mode = VPX_KF_AUTO
        config.kf_max_dist = UInt32(settings.keyframeMaxDistance)
        pattern.configure(&config, bitrateKbps: settings.bitrateKbps)
    }

    /// The next frame will be a keyframe (a receiver sent PLI or FIR, or one joined).
    public func requestKeyframe() {
        keyframeRequested = true
    }

    /// Changes the target bitrate from the next frame on; no keyframe is needed.
    public func setBitrate(kbps: Int) throws(CodecError) {
        guard kbps > 0, kbps != settings.bitrateKbps else { return }
        settings.bitrateKbps = kbps
        config.rc_target_bitrate = UInt32(kbps)
        pattern.configure(&config, bitrateKbps: kbps)
        let status = vpx_codec_enc_config_set(context, &config)
        guard status == VPX_CODEC_OK else {
            throw .vpx("vpx_codec_enc_config_set", message: String(cString: vpx_codec_error(context)))
        }
    }

    /// Encodes one picture read in place from `frame`; `output` receives each compressed
    /// frame (normally exactly one, none if libvpx dropped the frame).
    public func encode(_ frame: VideoFrameLayout, pts: Int64, duration: Int,
                       output: (EncodedVP8Frame) throws -> Void) throws {
        guard frame.width == settings.width, frame.height == settings.height else {
            throw CodecError.invalidSettings("frame is \(frame.width)x\(frame.height), the encoder \(settings.width)x\(settings.height)")
        }
        wrap(frame)
        let layer = pattern.layer(at: frameCount)
        var flags = vpx_enc_frame_flags_t(layer.flags)
        if keyframeRequested || frameCount == 0 {
            flags |= vpx_enc_frame_flags_t(VPX_EFLAG_FORCE_KF)
            keyframeRequested = false
        }
        if pattern.layers > 1 {
            _ = cvpx_codec_control_int(context, Int32(VP8E_SET_TEMPORAL_LAYER_ID.rawValue), Int32(layer.id))
        }
        frameCount += 1
        let status = vpx_codec_encode(context, image, vpx_codec_pts_t(pts), UInt(duration), flags, UInt(VPX_DL_REALTIME))
        guard status == VPX_CODEC_OK else {
            throw CodecError.vpx("vpx_codec_encode", message: String(cString: vpx_codec_error(context)))
        }
        var iterator: vpx_codec_iter_t?
        while let packet = vpx_codec_get_cx_data(context, &iterator) {
            guard packet.pointee.kind == VPX_CODEC_CX_FRAME_PKT else { continue }
            let compressed = packet.pointee.data.frame
            let isKey = compressed.flags & vpx_codec_frame_flags_t(VPX_FRAME_IS_KEY) != 0
            try output(EncodedVP8Frame(
                data: UnsafeRawBufferPointer(start: compressed.buf, count: compressed.sz),
                isKeyframe: isKey,
                isDroppable: compressed.flags & vpx_codec_frame_flags_t(VPX_FRAME_IS_DROPPABLE) != 0,
                temporalLayer: pattern.layers > 1 ? (UInt8(layer.id), isKey || layer.sync) : nil,
                pts: Int64(compressed.pts)))
        }
    }

    /// Points the reusable `vpx_image_t` at the caller's planes.
    private func wrap(_ frame: VideoFrameLayout) {
        let format = frame.format == .i420 ? VPX_IMG_FMT_I420 : VPX_IMG_FMT_NV12
        if image.pointee.fmt != format || image.pointee.d_w != UInt32(frame.width) || image.pointee.d_h != UInt32(frame.height) {
            vpx_img_wrap(image, format, UInt32(frame.width), UInt32(frame.height), 1, frame.planes.0)
        }
        image.pointee.planes.0 = frame.planes.0
        image.pointee.planes.1 = frame.planes.1
        image.pointee.planes.2 = frame.planes.2 ?? frame.planes.1 + 1  // NV12: V samples interleaved after U
        image.pointee.stride.0 = Int32(frame.strides.0)
        image.pointee.stride.1 = Int32(frame.strides.1)
        image.pointee.stride.2 = Int32(frame.format == .nv12 ? frame.strides.1 : frame.strides.2)
    }
}
