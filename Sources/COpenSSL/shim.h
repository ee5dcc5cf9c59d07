// Shims for OpenSSL 3: the SSL_ctrl/BIO_ctrl macros and the SSL_OP_* bit macros.
#ifndef CLASSBOX_COPENSSL_SHIM_H
#define CLASSBOX_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/srtp.h>
#include <openssl/rand.h>
#include <openssl/bio.h>
#include <openssl/sha.h>

static inline long cssl_CTX_set_min_proto_version(SSL_CTX *ctx, int v) { return SSL_CTX_set_min_proto_version(ctx, v); }
static inline long cssl_CTX_set_max_proto_version(SSL_CTX *ctx, int v) { return SSL_CTX_set_max_proto_version(ctx, v); }
static inline long cssl_set_mtu(SSL *ssl, long mtu) { return SSL_set_mtu(ssl, mtu); }
static inline long cssl_DTLS_set_link_mtu(SSL *ssl, long mtu) { return DTLS_set_link_mtu(ssl, mtu); }
static inline long cssl_DTLSv1_get_timeout(SSL *ssl, struct timeval *tv) { return DTLSv1_get_timeout(ssl, tv); }
static inline long cssl_DTLSv1_handle_timeout(SSL *ssl) { return DTLSv1_handle_timeout(ssl); }
static inline long cssl_BIO_set_mem_eof_return(BIO *b, long v) { return BIO_set_mem_eof_return(b, v); }
static inline void cssl_OPENSSL_free(void *p) { OPENSSL_free(p); }
static inline int cssl_set_tlsext_host_name(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
static inline long cssl_set_mode(SSL *ssl, long mode) { return SSL_set_mode(ssl, mode); }

/* SHA-1 on a caller-owned, fixed-size SHA_CTX. OpenSSL 3.0's EVP digest API allocates a
   provider context at every init; SRTP's per-packet HMAC uses these so it allocates nothing.
   (The functions are deprecated in 3.0 but remain; the wrappers keep Swift free of warnings.) */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
static inline int cssl_sha1_init(SHA_CTX *c) { return SHA1_Init(c); }
static inline int cssl_sha1_update(SHA_CTX *c, const void *data, size_t length) { return SHA1_Update(c, data, length); }
static inline int cssl_sha1_final(unsigned char *digest, SHA_CTX *c) { return SHA1_Final(digest, c); }
#pragma clang diagnostic pop

static const uint64_t CSSL_OP_NO_QUERY_MTU = SSL_OP_NO_QUERY_MTU;
static const uint64_t CSSL_OP_NO_TICKET = SSL_OP_NO_TICKET;
#endif
