/// libvpx VP8 settings for real-time video, as libwebrtc uses them
/// (`libvpx_vp8_encoder.cc`; the values are the table in the research note test-rig.md).
/// The defaults are the benchmark's: identical settings let our encoder be compared with
/// `vpxenc` and GStreamer's `vp8enc` frame for frame.
public struct VP8EncoderSettings: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var fps: Int
    public var bitrateKbps: Int
    /// libvpx's encoder threads; 0: as libwebrtc chooses them for the picture's size and the
    /// cores the process may use (``automaticThreads(width:height:cores:)``), decided for each encoder.
    public var threads: Int = 1
    /// Negative: fixed speed `-cpuUsed` (repeatable); positive: libvpx adapts it to the measured time.
    public var cpuUsed: Int = -6
    public var errorResilient: Bool = false
    /// 1 (no layers), 2 or 3 temporal layers.
    public var temporalLayers: Int = 1
    /// Keyframes come on request (PLI/FIR); this is only the safety net.
    public var keyframeMaxDistance: Int = 3000
    public var minQuantizer: Int = 2
    public var maxQuantizer: Int = 56
    public var undershootPercent: Int = 100
    public var overshootPercent: Int = 15
    public var bufferMilliseconds: Int = 1000
    public var bufferInitialMilliseconds: Int = 500
    public var bufferOptimalMilliseconds: Int = 600
    /// 0: never drop a frame inside the encoder.
    public var dropFrameThreshold: Int = 0
    public var staticThreshold: Int = 1
    public var tokenPartitions: Int = 0
    public var noiseSensitivity: Int = 0
    /// Cap of a keyframe's size in percent of an average frame; nil leaves libvpx's default.
    public var maxIntraBitratePercent: Int?

    public init(width: Int, height: Int, fps: Int, bitrateKbps: Int) {
        self.width = width
        self.height = height
        self.fps = fps
        self.bitrateKbps = bitrateKbps
    }

    func validate() throws(CodecError) {
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0 else { throw .invalidSettings("VP8 needs an even, positive size") }
        guard fps > 0, bitrateKbps > 0, threads >= 0 else { throw .invalidSettings("fps and bitrate must be positive, threads not negative") }
        guard (1...3).contains(temporalLayers) else { throw .invalidSettings("VP8 temporal layers must be 1, 2 or 3") }
    }

    /// libwebrtc's number of VP8 encoder threads off Android (`LibvpxVp8Encoder::NumberOfThreads`
    /// in libvpx_vp8_encoder.cc): one up to 640×480 or on fewer than 3 cores; above that 2 on
    /// 3–5 cores and 3 on 6 or more; 8 for 1080p on more than 8. libvpx's VP8 threads wait for each
    /// other's macroblock rows in spin loops: a second thread on a machine whose other core is
    /// busy (decoding, the screen, the audio) burns CPU instead of saving time.
    public static func automaticThreads(width: Int, height: Int, cores: Int) -> Int {
        let pixels = width * height
        if pixels >= 1920 * 1080 && cores > 8 { return 8 }
        if pixels > 1280 * 960 && cores >= 6 { return 3 }
        if pixels > 640 * 480 && cores >= 3 { return cores >= 6 ? 3 : 2 }
        return 1
    }
}
