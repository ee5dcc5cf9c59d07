import CVPX
import COpus
import Foundation
import Testing

/// libvpx and libopus through our module maps and shims: real encode, real decode.
@Suite struct CodecBindingTests {
    /// A 320x240 I420 picture: a gradient with a bright square that moves by frame.
    static func paint(_ frame: UnsafeMutablePointer<UInt8>, width: Int, height: Int, index: Int) {
        for y in 0..<height {
            for x in 0..<width {
                let inSquare = (x - index * 4) & 255 < 48 && y >= 80 && y < 128
                frame[y * width + x] = inSquare ? 235 : UInt8(truncatingIfNeeded: 16 + (x + y) / 3)
            }
        }
        let chroma = frame + width * height
        for i in 0..<(width * height / 2) { chroma[i] = UInt8(truncatingIfNeeded: 96 + i % 64) }
    }

    @Test func vp8EncodesAKeyFrameThatDecodesBack() throws {
        let (width, height) = (320, 240)
        var cfg = vpx_codec_enc_cfg_t()
        #expect(vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0) == VPX_CODEC_OK)
        cfg.g_w = UInt32(width)
        cfg.g_h = UInt32(height)
        cfg.g_timebase = vpx_rational(num: 1, den: 90000)
        cfg.rc_end_usage = VPX_CBR
        cfg.rc_target_bitrate = 800
        cfg.g_lag_in_frames = 0
        cfg.g_threads = 1
        let encoder = UnsafeMutablePointer<vpx_codec_ctx_t>.allocate(capacity: 1)
        defer { encoder.deallocate() }
        try #require(cvpx_codec_enc_init(encoder, vpx_codec_vp8_cx(), &cfg, 0) == VPX_CODEC_OK)
        defer { vpx_codec_destroy(encoder) }
        #expect(cvpx_codec_control_int(encoder, Int32(VP8E_SET_CPUUSED.rawValue), -6) == VPX_CODEC_OK)
        #expect(CVPX_ENCODER_ABI_VERSION > VPX_CODEC_ABI_VERSION)

        let frame = UnsafeMutablePointer<UInt8>.allocate(capacity: width * height * 3 / 2)
        defer { frame.deallocate() }
        var image = vpx_image_t()
        try #require(vpx_img_wrap(&image, VPX_IMG_FMT_I420, UInt32(width), UInt32(height), 1, frame) != nil)
        // Zero copy: libvpx reads the caller's buffer in place.
        #expect(image.planes.0 == frame)

        var packets: [(data: [UInt8], key: Bool)] = []
        for index in 0..<10 {
            Self.paint(frame, width: width, height: height, index: index)
            #expect(vpx_codec_encode(encoder, &image, vpx_codec_pts_t(index * 3000), 3000, 0, UInt(VPX_DL_REALTIME)) == VPX_CODEC_OK)
            var iterator: vpx_codec_iter_t?
            while let packet = vpx_codec_get_cx_data(encoder, &iterator) {
                guard packet.pointee.kind == VPX_CODEC_CX_FRAME_PKT else { continue }
                let f = packet.pointee.data.frame
                let bytes = Array(UnsafeRawBufferPointer(start: f.buf, count: f.sz))
                packets.append((bytes, f.flags & vpx_codec_frame_flags_t(VPX_FRAME_IS_KEY) != 0))
            }
        }
        #expect(packets.count == 10)
        let key = try #require(packets.first)
        #expect(key.key && packets.dropFirst().allSatisfy { !$0.key })
        // RFC 6386 §9.1: key frame start code and the 14-bit size fields.
        #expect(key.data[0] & 1 == 0 && Array(key.data[3..<6]) == [0x9D, 0x01, 0x2A])
        #expect(Int(key.data[6]) | Int(key.data[7] & 0x3F) << 8 == width)

        let decoder = UnsafeMutablePointer<vpx_codec_ctx_t>.allocate(capacity: 1)
        defer { decoder.deallocate() }
        try #require(cvpx_codec_dec_init(decoder, vpx_codec_vp8_dx(), nil, 0) == VPX_CODEC_OK)
        defer { vpx_codec_destroy(decoder) }
        var lastLuma: [UInt8] = []
        for packet in packets {
            #expect(vpx_codec_decode(decoder, packet.data, UInt32(packet.data.count), nil, 0) == VPX_CODEC_OK)
            var iterator: vpx_codec_iter_t?
            while let decoded = vpx_codec_get_frame(decoder, &iterator) {
                #expect(decoded.pointee.d_w == UInt32(width) && decoded.pointee.d_h == UInt32(height))
                let stride = Int(decoded.pointee.stride.0)
                lastLuma = (0..<height).flatMap { y in Array(UnsafeBufferPointer(start: decoded.pointee.planes.0! + y * stride, count: width)) }
            }
        }
        let source = Array(UnsafeBufferPointer(start: frame, count: width * height))
        let mse = zip(source, lastLuma).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) } / Double(width * height)
        let psnr = 10 * log10(255 * 255 / max(mse, 1e-9))
        #expect(psnr > 30, "luma PSNR \(psnr) dB")
    }

    @Test func opusEncodesAToneThatDecodesBack() throws {
        var error: Int32 = 0
        let encoder = try #require(opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &error))
        defer { opus_encoder_destroy(encoder) }
        #expect(error == OPUS_OK)
        #expect(copus_encoder_set(encoder, OPUS_SET_BITRATE_REQUEST, 32000) == OPUS_OK)
        #expect(copus_encoder_set(encoder, OPUS_SET_INBAND_FEC_REQUEST, 1) == OPUS_OK)
        var bitrate: Int32 = 0
        #expect(copus_encoder_get(encoder, OPUS_GET_BITRATE_REQUEST, &bitrate) == OPUS_OK && bitrate == 32000)
        var lookahead: Int32 = 0
        #expect(copus_encoder_get(encoder, OPUS_GET_LOOKAHEAD_REQUEST, &lookahead) == OPUS_OK && lookahead > 0)

        let decoder = try #require(opus_decoder_create(48000, 1, &error))
        defer { opus_decoder_destroy(decoder) }
        var decoded: [Int16] = []
        var packet = [UInt8](repeating: 0, count: 1500)
        var pcm = [Int16](repeating: 0, count: 960)
        var out = [Int16](repeating: 0, count: 960)
        for frameIndex in 0..<50 {
            for i in 0..<960 {
                pcm[i] = Int16(12000 * sin(2 * Double.pi * 440 * Double(frameIndex * 960 + i) / 48000))
            }
            let size = opus_encode(encoder, pcm, 960, &packet, Int32(packet.count))
            #expect(size > 0 && size < 400)
            let samples = opus_decode(decoder, packet, size, &out, 960, 0)
            #expect(samples == 960)
            decoded += out
        }
        // Frequency from zero crossings over the last half second: 440 Hz.
        let tail = decoded.suffix(24000)
        let crossings = zip(tail, tail.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
        #expect(abs(Double(crossings) / 2 / 0.5 - 440) < 5)
        let rms = sqrt(tail.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(tail.count))
        #expect(rms > 6000 && rms < 11000, "rms \(rms)")
    }
}
