import Media
internal import COpus
internal import CVPX

/// A libvpx VP8 decoder: for received video and for checking our own output.
public final class VP8Decoder {
    private let context: UnsafeMutablePointer<vpx_codec_ctx_t>

    public init() throws(CodecError) {
        context = .allocate(capacity: 1)
        let status = cvpx_codec_dec_init(context, vpx_codec_vp8_dx(), nil, 0)
        guard status == VPX_CODEC_OK else {
            context.deallocate()
            throw .vpx("vpx_codec_dec_init", message: String(cString: vpx_codec_err_to_string(status)))
        }
    }

    deinit {
        vpx_codec_destroy(context)
        context.deallocate()
    }

    /// Decodes one compressed frame; `picture` receives each decoded picture (I420 planes,
    /// valid during the call).
    public func decode(_ data: UnsafeRawBufferPointer, picture: (VideoFrameLayout) throws -> Void) throws {
        let status = vpx_codec_decode(context, data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(data.count), nil, 0)
        guard status == VPX_CODEC_OK else {
            throw CodecError.vpx("vpx_codec_decode", message: String(cString: vpx_codec_error(context)))
        }
        var iterator: vpx_codec_iter_t?
        while let image = vpx_codec_get_frame(context, &iterator) {
            let i = image.pointee
            try picture(VideoFrameLayout(format: .i420, width: Int(i.d_w), height: Int(i.d_h),
                                         planes: (i.planes.0!, i.planes.1!, i.planes.2!),
                                         strides: (Int(i.stride.0), Int(i.stride.1), Int(i.stride.2))))
        }
    }
}

/// A libopus decoder at 48 kHz.
public final class OpusDecoder {
    private let decoder: OpaquePointer
    public let channels: Int

    public init(channels: Int = 1) throws(CodecError) {
        var error: Int32 = 0
        guard let decoder = opus_decoder_create(48000, Int32(channels), &error), error == OPUS_OK else {
            throw .opus("opus_decoder_create", code: error)
        }
        self.decoder = decoder
        self.channels = channels
    }

    deinit { opus_decoder_destroy(decoder) }

    /// Decodes a packet (or conceals a lost one when `packet` is nil) into `output`;
    /// returns samples per channel.
    public func decode(_ packet: UnsafeRawBufferPointer?, into output: UnsafeMutableBufferPointer<Int16>) throws(CodecError) -> Int {
        let samples = opus_decode(decoder, packet?.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(packet?.count ?? 0),
                                  output.baseAddress!, Int32(output.count / channels), 0)
        guard samples >= 0 else { throw .opus("opus_decode", code: samples) }
        return Int(samples)
    }
}
