// Shims for libspeexdsp: speex_echo_ctl and speex_preprocess_ctl take `void *`, so the
// request codes (macros) and their argument types are spelled out once here.
#ifndef CLASSBOX_CSPEEXDSP_SHIM_H
#define CLASSBOX_CSPEEXDSP_SHIM_H
#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>
#include <speex/speex_resampler.h>

static inline int cspeex_echo_set_sampling_rate(SpeexEchoState *st, spx_int32_t rate) {
    return speex_echo_ctl(st, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
}
static inline int cspeex_preprocess_set_int(SpeexPreprocessState *st, int request, spx_int32_t value) {
    return speex_preprocess_ctl(st, request, &value);
}
static inline int cspeex_preprocess_set_echo_state(SpeexPreprocessState *st, SpeexEchoState *echo) {
    return speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_ECHO_STATE, echo);
}
/// SPEEX_PREPROCESS_SET_AGC_LEVEL takes a float (the target level, in sample units).
static inline int cspeex_preprocess_set_agc_level(SpeexPreprocessState *st, float level) {
    return speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_AGC_LEVEL, &level);
}
static const int cspeex_preprocess_set_denoise = SPEEX_PREPROCESS_SET_DENOISE;
static const int cspeex_preprocess_set_agc = SPEEX_PREPROCESS_SET_AGC;
static const int cspeex_preprocess_set_noise_suppress = SPEEX_PREPROCESS_SET_NOISE_SUPPRESS;
static const int cspeex_preprocess_set_echo_suppress = SPEEX_PREPROCESS_SET_ECHO_SUPPRESS;
static const int cspeex_preprocess_set_echo_suppress_active = SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE;
static const int cspeex_preprocess_set_agc_max_gain = SPEEX_PREPROCESS_SET_AGC_MAX_GAIN;
#endif
