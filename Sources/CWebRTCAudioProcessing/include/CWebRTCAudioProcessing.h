// A C API over webrtc-audio-processing 0.3 (a C++-only library): the few calls the box's
// microphone path needs. Mono, 10 ms blocks of int16 at 8/16/32/48 kHz.
#ifndef CLASSBOX_CWEBRTCAUDIOPROCESSING_H
#define CLASSBOX_CWEBRTCAUDIOPROCESSING_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cwap_processor cwap_processor;

/// Options for `cwap_create`. Levels: 0 low, 1 moderate, 2 high (3 very high for noise).
typedef struct cwap_options {
    int32_t sample_rate_hz;
    int32_t echo_cancellation;      ///< bool: AEC1 (EchoCancellation), not the mobile AECM.
    int32_t extended_filter;        ///< bool: 128 ms linear filter instead of 48 ms.
    int32_t delay_agnostic;         ///< bool: the AEC estimates the delay itself.
    int32_t suppression_level;      ///< EchoCancellation::SuppressionLevel, 0...2.
    int32_t noise_suppression;      ///< bool
    int32_t noise_suppression_level;///< NoiseSuppression::Level, 0...3.
    int32_t high_pass_filter;       ///< bool
    int32_t gain_control;           ///< bool: adaptive digital AGC with limiter.
    int32_t gain_target_dbfs;       ///< AGC target level, 0...31 (dB below full scale).
    int32_t gain_compression_db;    ///< AGC maximum gain, 0...90 dB.
} cwap_options;

/// The echo canceller's own view; fields are -100 when not (yet) available.
typedef struct cwap_metrics {
    int32_t erle_db;                ///< ERLE, long-term average.
    int32_t erl_db;                 ///< ERL, long-term average.
    int32_t delay_median_ms;
    int32_t delay_std_ms;
    float fraction_poor_delays;     ///< -1 when unknown.
    int32_t stream_has_echo;        ///< bool, for the last capture block.
} cwap_metrics;

/// Returns NULL when the library refuses the configuration.
cwap_processor *cwap_create(const cwap_options *options);
void cwap_destroy(cwap_processor *processor);
/// Samples per 10 ms block at the configured rate.
int32_t cwap_block_samples(const cwap_processor *processor);
/// One 10 ms block of what was written to the loudspeaker. Returns the library's error code (0 = ok).
int32_t cwap_process_reverse(cwap_processor *processor, const int16_t *block);
/// One 10 ms microphone block, processed in place, with the delay (render → capture) in ms.
int32_t cwap_process_capture(cwap_processor *processor, int16_t *block, int32_t delay_ms);
/// Fills `metrics`; cheap enough for once a second, not for every block.
void cwap_get_metrics(cwap_processor *processor, cwap_metrics *metrics);

#ifdef __cplusplus
}
#endif
#endif
