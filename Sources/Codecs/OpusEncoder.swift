internal import COpus

/// Opus settings for the box's microphone: 48 kHz, 20 ms frames, voice.
public struct OpusEncoderSettings: Sendable, Equatable {
    public var channels: Int = 1
    public var bitrateKbps: Int
    /// Discontinuous transmission: almost nothing is sent during silence.
    public var dtx: Bool
    /// In-band forward error correction (what Jitsi negotiates with `useinbandfec=1`).
    public var inbandFEC: Bool = true
    /// Expected loss, which sizes the in-band FEC.
    public var packetLossPercent: Int = 10

    public init(bitrateKbps: Int, dtx: Bool) {
        self.bitrateKbps = bitrateKbps
        self.dtx = dtx
    }

    public static let sampleRate = 48000
    /// 20 ms at 48 kHz.
    public static let frameSamples = 960
}

/// A libopus encoder (application VOIP) that writes each packet straight into the
/// caller's buffer, behind an RTP header.
public final class OpusEncoder {
    public private(set) var settings: OpusEncoderSettings
    private let encoder: OpaquePointer

    public init(_ settings: OpusEncoderSettings) throws(CodecError) {
        var error: Int32 = 0
        guard let encoder = opus_encoder_create(Int32(OpusEncoderSettings.sampleRate), Int32(settings.channels),
                                                OPUS_APPLICATION_VOIP, &error), error == OPUS_OK else {
            throw .opus("opus_encoder_create", code: error)
        }
        self.encoder = encoder
        self.settings = settings
        let requests: [(Int32, Int32)] = [
            (OPUS_SET_BITRATE_REQUEST, Int32(settings.bitrateKbps * 1000)),
            (OPUS_SET_INBAND_FEC_REQUEST, settings.inbandFEC ? 1 : 0),
            (OPUS_SET_PACKET_LOSS_PERC_REQUEST, Int32(settings.packetLossPercent)),
            (OPUS_SET_DTX_REQUEST, settings.dtx ? 1 : 0),
            (OPUS_SET_SIGNAL_REQUEST, OPUS_SIGNAL_VOICE),
        ]
        for (request, value) in requests {
            let result = copus_encoder_set(encoder, request, value)
            guard result == OPUS_OK else {
                opus_encoder_destroy(encoder)
                throw .opus("opus_encoder_ctl(\(request))", code: result)
            }
        }
    }

    deinit { opus_encoder_destroy(encoder) }

    public func setBitrate(kbps: Int) throws(CodecError) {
        let result = copus_encoder_set(encoder, OPUS_SET_BITRATE_REQUEST, Int32(kbps * 1000))
        guard result == OPUS_OK else { throw .opus("OPUS_SET_BITRATE", code: result) }
        settings.bitrateKbps = kbps
    }

    public func setPacketLoss(percent: Int) throws(CodecError) {
        let result = copus_encoder_set(encoder, OPUS_SET_PACKET_LOSS_PERC_REQUEST, Int32(percent))
        guard result == OPUS_OK else { throw .opus("OPUS_SET_PACKET_LOSS_PERC", code: result) }
        settings.packetLossPercent = percent
    }

    /// Encodes one 20 ms frame of interleaved samples into `output`; returns the packet
    /// length. With DTX, a length of 1 or 2 means "silence, nothing worth sending".
    public func encode(_ samples: UnsafePointer<Int16>, into output: UnsafeMutableRawBufferPointer) throws(CodecError) -> Int {
        let length = opus_encode(encoder, samples, Int32(OpusEncoderSettings.frameSamples),
                                 output.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(min(output.count, 1275)))
        guard length > 0 else { throw .opus("opus_encode", code: length) }
        return Int(length)
    }
}
