// libsrtp2 imports as is; the policy helpers below are macro aliases in srtp.h.
#ifndef CLASSBOX_CSRTP_SHIM_H
#define CLASSBOX_CSRTP_SHIM_H
#include <srtp2/srtp.h>
#include <srtp2/cipher.h>
#include <srtp2/auth.h>
#include <srtp2/crypto_types.h>

static inline void csrtp_policy_aes_cm_128_hmac_sha1_80(srtp_crypto_policy_t *p) {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(p);
}
static inline void csrtp_policy_aes_gcm_128_16_auth(srtp_crypto_policy_t *p) {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(p);
}
#endif
