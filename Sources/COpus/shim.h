// Shims for libopus: the *_ctl functions are variadic, so Swift cannot call them.
// One setter and one getter per object type cover every integer request code
// (OPUS_SET_BITRATE_REQUEST, OPUS_GET_LOOKAHEAD_REQUEST, ...), which do import.
#ifndef CLASSBOX_COPUS_SHIM_H
#define CLASSBOX_COPUS_SHIM_H
#include <opus/opus.h>

static inline int copus_encoder_set(OpusEncoder *st, int request, opus_int32 value) {
    return opus_encoder_ctl(st, request, value);
}
static inline int copus_encoder_get(OpusEncoder *st, int request, opus_int32 *value) {
    return opus_encoder_ctl(st, request, value);
}
static inline int copus_decoder_set(OpusDecoder *st, int request, opus_int32 value) {
    return opus_decoder_ctl(st, request, value);
}
static inline int copus_decoder_get(OpusDecoder *st, int request, opus_int32 *value) {
    return opus_decoder_ctl(st, request, value);
}
/* OPUS_RESET_STATE takes no argument. */
static inline int copus_decoder_reset(OpusDecoder *st) {
    return opus_decoder_ctl(st, OPUS_RESET_STATE);
}
#endif
