// The C++ side of CWebRTCAudioProcessing.h: owns one webrtc::AudioProcessing and the float
// buffers its float API needs (allocated once, in cwap_create).
#include "CWebRTCAudioProcessing.h"

#include <webrtc/modules/audio_processing/include/audio_processing.h>

#include <algorithm>
#include <new>

namespace {
constexpr int kMaxBlock = 480;  // 10 ms at 48 kHz
constexpr float kScale = 32768.0f;
}  // namespace

struct cwap_processor {
    webrtc::AudioProcessing *apm = nullptr;
    webrtc::StreamConfig stream;
    int block = 0;
    bool agc = false;
    float reverse[kMaxBlock];
    float capture[kMaxBlock];
};

static void to_float(const int16_t *in, float *out, int n) {
    for (int i = 0; i < n; ++i) out[i] = in[i] / kScale;
}

static void to_int16(const float *in, int16_t *out, int n) {
    for (int i = 0; i < n; ++i) {
        float v = in[i] * kScale;
        v = std::min(32767.0f, std::max(-32768.0f, v));
        out[i] = static_cast<int16_t>(v >= 0 ? v + 0.5f : v - 0.5f);
    }
}

extern "C" cwap_processor *cwap_create(const cwap_options *o) {
    const int rate = o->sample_rate_hz;
    if (rate != 8000 && rate != 16000 && rate != 32000 && rate != 48000) return nullptr;
    webrtc::Config config;
    config.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(o->extended_filter != 0));
    config.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(o->delay_agnostic != 0));
    // The analog AGC (on by default in this API) needs a mixer level we do not have.
    config.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
    cwap_processor *p = new (std::nothrow) cwap_processor;
    if (!p) return nullptr;
    p->apm = webrtc::AudioProcessing::Create(config);
    p->stream = webrtc::StreamConfig(rate, 1, false);
    p->block = static_cast<int>(p->stream.num_frames());
    webrtc::ProcessingConfig processing = {{p->stream, p->stream, p->stream, p->stream}};
    bool ok = p->apm && p->apm->Initialize(processing) == webrtc::AudioProcessing::kNoError;
    if (ok) {
        webrtc::EchoCancellation *aec = p->apm->echo_cancellation();
        ok = aec->enable_drift_compensation(false) == 0 &&
             aec->set_suppression_level(static_cast<webrtc::EchoCancellation::SuppressionLevel>(
                 std::min(2, std::max(0, (int)o->suppression_level)))) == 0 &&
             aec->enable_metrics(true) == 0 && aec->enable_delay_logging(true) == 0 &&
             aec->Enable(o->echo_cancellation != 0) == 0;
        webrtc::NoiseSuppression *ns = p->apm->noise_suppression();
        ok = ok && ns->set_level(static_cast<webrtc::NoiseSuppression::Level>(
                       std::min(3, std::max(0, (int)o->noise_suppression_level)))) == 0 &&
             ns->Enable(o->noise_suppression != 0) == 0;
        ok = ok && p->apm->high_pass_filter()->Enable(o->high_pass_filter != 0) == 0;
        webrtc::GainControl *agc = p->apm->gain_control();
        if (o->gain_control) {
            ok = ok && agc->set_mode(webrtc::GainControl::kAdaptiveDigital) == 0 &&
                 agc->set_target_level_dbfs(o->gain_target_dbfs) == 0 &&
                 agc->set_compression_gain_db(o->gain_compression_db) == 0 &&
                 agc->enable_limiter(true) == 0;
        }
        ok = ok && agc->Enable(o->gain_control != 0) == 0;
        p->agc = o->gain_control != 0;
    }
    if (!ok || p->block > kMaxBlock) {
        cwap_destroy(p);
        return nullptr;
    }
    return p;
}

extern "C" void cwap_destroy(cwap_processor *p) {
    if (!p) return;
    delete p->apm;
    delete p;
}

extern "C" int32_t cwap_block_samples(const cwap_processor *p) { return p->block; }

extern "C" int32_t cwap_process_reverse(cwap_processor *p, const int16_t *block) {
    to_float(block, p->reverse, p->block);
    float *channels[1] = {p->reverse};
    return p->apm->ProcessReverseStream(channels, p->stream, p->stream, channels);
}

extern "C" int32_t cwap_process_capture(cwap_processor *p, int16_t *block, int32_t delay_ms) {
    to_float(block, p->capture, p->block);
    float *channels[1] = {p->capture};
    // Must precede every ProcessStream; the library clamps it to 0...500 and warns.
    p->apm->set_stream_delay_ms(delay_ms);
    int result = p->apm->ProcessStream(channels, p->stream, p->stream, channels);
    to_int16(p->capture, block, p->block);
    return result;
}

extern "C" void cwap_get_metrics(cwap_processor *p, cwap_metrics *m) {
    m->erle_db = -100;
    m->erl_db = -100;
    m->delay_median_ms = -100;
    m->delay_std_ms = -100;
    m->fraction_poor_delays = -1;
    m->stream_has_echo = 0;
    webrtc::EchoCancellation *aec = p->apm->echo_cancellation();
    if (!aec->is_enabled()) return;
    webrtc::EchoCancellation::Metrics metrics;
    if (aec->GetMetrics(&metrics) == 0) {
        m->erle_db = metrics.echo_return_loss_enhancement.average;
        m->erl_db = metrics.echo_return_loss.average;
    }
    int median = 0, std_ms = 0;
    float poor = 0;
    if (aec->GetDelayMetrics(&median, &std_ms, &poor) == 0) {
        m->delay_median_ms = median;
        m->delay_std_ms = std_ms;
        m->fraction_poor_delays = poor;
    }
    m->stream_has_echo = aec->stream_has_echo() ? 1 : 0;
}
