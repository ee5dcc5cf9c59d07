internal import CVPX

/// The VP8 temporal-layer structure: which layer each frame belongs to and which
/// reference buffers it may read and update, so that a receiver (or the bridge) can drop
/// the upper layers and still decode the rest. Modelled on libvpx's
/// `examples/vpx_temporal_svc_encoder.c` patterns with a 2- and 4-frame period.
struct TemporalPattern {
    struct Layer {
        var id: Int
        var flags: Int32
        /// Depends only on base-layer frames (RFC 7741 Y bit).
        var sync: Bool
    }

    let layers: Int
    private let cycle: [Layer]

    init(layers: Int) {
        self.layers = layers
        let noRefGoldenAlt = VP8_EFLAG_NO_REF_GF | VP8_EFLAG_NO_REF_ARF
        let base = Layer(id: 0, flags: noRefGoldenAlt | VP8_EFLAG_NO_UPD_GF | VP8_EFLAG_NO_UPD_ARF, sync: false)
        let topReadingBase = Layer(id: layers - 1, flags: noRefGoldenAlt | VP8_EFLAG_NO_UPD_LAST | VP8_EFLAG_NO_UPD_GF
                                   | VP8_EFLAG_NO_UPD_ARF | VP8_EFLAG_NO_UPD_ENTROPY, sync: true)
        switch layers {
        case 2:
            cycle = [base, topReadingBase]
        case 3:
            let middle = Layer(id: 1, flags: noRefGoldenAlt | VP8_EFLAG_NO_UPD_LAST | VP8_EFLAG_NO_UPD_ARF, sync: true)
            let top = Layer(id: 2, flags: VP8_EFLAG_NO_REF_ARF | VP8_EFLAG_NO_UPD_LAST | VP8_EFLAG_NO_UPD_GF
                            | VP8_EFLAG_NO_UPD_ARF | VP8_EFLAG_NO_UPD_ENTROPY, sync: false)
            cycle = [base, topReadingBase, middle, top]
        default:
            cycle = [Layer(id: 0, flags: 0, sync: false)]
        }
    }

    func layer(at frame: Int) -> Layer { cycle[frame % cycle.count] }

    /// Fills the `ts_*` fields; the layer bitrates are cumulative (libwebrtc's split:
    /// 60/40 for two layers, 40/20/40 for three).
    func configure(_ config: inout vpx_codec_enc_cfg_t, bitrateKbps: Int) {
        guard layers > 1 else {
            config.ts_number_layers = 1
            return
        }
        config.ts_number_layers = UInt32(layers)
        config.ts_periodicity = UInt32(cycle.count)
        let shares = layers == 2 ? [60, 100] : [40, 60, 100]
        let decimators = layers == 2 ? [2, 1] : [4, 2, 1]
        withUnsafeMutableBytes(of: &config.ts_target_bitrate) { raw in
            let values = raw.bindMemory(to: UInt32.self)
            for (index, share) in shares.enumerated() { values[index] = UInt32(bitrateKbps * share / 100) }
        }
        withUnsafeMutableBytes(of: &config.ts_rate_decimator) { raw in
            let values = raw.bindMemory(to: UInt32.self)
            for (index, decimator) in decimators.enumerated() { values[index] = UInt32(decimator) }
        }
        withUnsafeMutableBytes(of: &config.ts_layer_id) { raw in
            let values = raw.bindMemory(to: UInt32.self)
            for (index, layer) in cycle.enumerated() { values[index] = UInt32(layer.id) }
        }
    }
}
