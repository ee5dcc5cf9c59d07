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

/// A libopus decoder at 48 kHz, for one received stream.
///
/// Besides plain decoding it rebuilds lost packets: from the in-band FEC (LBRR) data in the
/// next packet (`decodeFEC`), or by concealment (`conceal`, libopus's PLC). Each of these
/// writes exactly the duration asked, which must be a multiple of 2.5 ms (120 samples).
/// The float calls use libopus's scale, ±1.0 ⇔ ±32768, what the mixer takes.
/// See `receive-audio.md` §3 for the receive API and its measured behaviour.
public final class OpusDecoder {
    private let decoder: OpaquePointer
    public let channels: Int

    /// 2.5 ms at 48 kHz: the granularity of concealment and FEC durations.
    public static let granuleSamples = 120
    /// The longest Opus packet, 120 ms at 48 kHz.
    public static let maximumPacketSamples = 5760

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

    /// Decodes a packet into `output` as float (interleaved when stereo); returns samples per
    /// channel. `output` must hold the packet's whole duration (`packetSamples`; 5760 per
    /// channel covers any packet). An empty packet is an error here: use `conceal` for a loss.
    public func decode(_ packet: UnsafeRawBufferPointer, into output: UnsafeMutableBufferPointer<Float>) throws(CodecError) -> Int {
        guard let data = packet.baseAddress, packet.count > 0 else { throw .opus("opus_decode_float", code: OPUS_INVALID_PACKET) }
        let samples = opus_decode_float(decoder, data.assumingMemoryBound(to: UInt8.self), Int32(packet.count),
                                        output.baseAddress!, Int32(output.count / channels), 0)
        guard samples >= 0 else { throw .opus("opus_decode_float", code: samples) }
        return Int(samples)
    }

    /// Rebuilds a lost packet of `lostSamples` per channel from the in-band FEC data in the
    /// packet that followed it (`nextPacket`), into the first `lostSamples × channels` floats of
    /// `output`. Decode `nextPacket` normally afterwards. Without FEC data in `nextPacket`
    /// (CELT-only packets, FEC off at the sender) libopus conceals instead.
    public func decodeFEC(_ nextPacket: UnsafeRawBufferPointer, lostSamples: Int,
                          into output: UnsafeMutableBufferPointer<Float>) throws(CodecError) -> Int {
        precondition(lostSamples * channels <= output.count, "output holds fewer than lostSamples")
        guard let data = nextPacket.baseAddress, nextPacket.count > 0 else { throw .opus("opus_decode_float(fec)", code: OPUS_INVALID_PACKET) }
        let samples = opus_decode_float(decoder, data.assumingMemoryBound(to: UInt8.self), Int32(nextPacket.count),
                                        output.baseAddress!, Int32(lostSamples), 1)
        guard samples >= 0 else { throw .opus("opus_decode_float(fec)", code: samples) }
        return Int(samples)
    }

    /// Conceals `samples` per channel of lost audio (PLC) into the start of `output`.
    /// `samples` must be a multiple of 120 (2.5 ms), or libopus answers OPUS_BAD_ARG.
    public func conceal(samples: Int, into output: UnsafeMutableBufferPointer<Float>) throws(CodecError) -> Int {
        precondition(samples * channels <= output.count, "output holds fewer than samples")
        let written = opus_decode_float(decoder, nil, 0, output.baseAddress!, Int32(samples), 0)
        guard written >= 0 else { throw .opus("opus_decode_float(plc)", code: written) }
        return Int(written)
    }

    /// Whether `packet` carries in-band FEC (LBRR) for the frame before it. Only SILK and
    /// hybrid packets can; the flag is the first bit after the VAD flag(s) of the first frame's
    /// SILK header (what libopus 1.5 `opus_packet_has_lbrr` reads; libopus 1.3 lacks it).
    /// Reads the packet only: nothing is allocated (the audio thread asks).
    public static func packetHasFEC(_ packet: UnsafeRawBufferPointer) -> Bool {
        guard let data = packet.baseAddress?.assumingMemoryBound(to: UInt8.self), packet.count > 1, data[0] >> 3 < 16 else { return false }
        let silkFrames = max(1, Int(opus_packet_get_samples_per_frame(data, 48000)) / 960)
        let stereo = opus_packet_get_nb_channels(data) == 2
        return withUnsafeTemporaryAllocation(of: UnsafePointer<UInt8>?.self, capacity: 48) { frames in
            withUnsafeTemporaryAllocation(of: Int16.self, capacity: 48) { sizes in
                guard opus_packet_parse(data, Int32(packet.count), nil, frames.baseAddress!, sizes.baseAddress!, nil) > 0,
                      sizes[0] > 0, let first = frames[0] else { return false }
                let lbrr = (first[0] >> (7 - silkFrames)) & 1 != 0
                return lbrr || (stereo && (first[0] >> (6 - 2 * silkFrames)) & 1 != 0)
            }
        }
    }

    /// Samples per channel at 48 kHz that `packet` decodes to, or nil when it is not a valid
    /// Opus packet (read from its TOC byte and frame count, without decoding).
    public static func packetSamples(_ packet: UnsafeRawBufferPointer) -> Int? {
        guard let data = packet.baseAddress, packet.count > 0 else { return nil }
        let samples = opus_packet_get_nb_samples(data.assumingMemoryBound(to: UInt8.self), Int32(packet.count), 48000)
        return samples > 0 ? Int(samples) : nil
    }

    /// Duration per channel of the last packet decoded or concealed.
    public var lastPacketSamples: Int {
        var value: Int32 = 0
        _ = copus_decoder_get(decoder, OPUS_GET_LAST_PACKET_DURATION_REQUEST, &value)
        return Int(value)
    }

    /// Forgets the stream's state (OPUS_RESET_STATE), as for a new sender or after a long gap.
    public func reset() throws(CodecError) {
        let result = copus_decoder_reset(decoder)
        guard result == OPUS_OK else { throw .opus("OPUS_RESET_STATE", code: result) }
    }
}
