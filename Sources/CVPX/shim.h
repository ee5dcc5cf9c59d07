// Shims for libvpx: only what Swift cannot import (function-like macros).
#ifndef CLASSBOX_CVPX_SHIM_H
#define CLASSBOX_CVPX_SHIM_H
#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

// vpx_codec_enc_init is a macro that appends VPX_ENCODER_ABI_VERSION, itself a
// three-term macro Swift cannot import; expanding it here keeps the ABI number
// tied to the installed headers.
static inline vpx_codec_err_t cvpx_codec_enc_init(vpx_codec_ctx_t *ctx, vpx_codec_iface_t *iface,
                                                  const vpx_codec_enc_cfg_t *cfg, vpx_codec_flags_t flags) {
    return vpx_codec_enc_init(ctx, iface, cfg, flags);
}

static inline vpx_codec_err_t cvpx_codec_dec_init(vpx_codec_ctx_t *ctx, vpx_codec_iface_t *iface,
                                                  const vpx_codec_dec_cfg_t *cfg, vpx_codec_flags_t flags) {
    return vpx_codec_dec_init(ctx, iface, cfg, flags);
}

// vpx_codec_control is a macro over the variadic vpx_codec_control_.
static inline vpx_codec_err_t cvpx_codec_control_int(vpx_codec_ctx_t *ctx, int id, int value) {
    return vpx_codec_control_(ctx, id, value);
}

static inline vpx_codec_err_t cvpx_codec_control_ptr(vpx_codec_ctx_t *ctx, int id, void *value) {
    return vpx_codec_control_(ctx, id, value);
}

static const int CVPX_ENCODER_ABI_VERSION = VPX_ENCODER_ABI_VERSION;
#endif
