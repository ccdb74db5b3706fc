/*
 * CAMQPTLS: the C shim over OpenSSL 3 under AMQPTLS.
 *
 * It exists for what Swift cannot import cleanly from OpenSSL: function-like
 * macros (SSL_set_tlsext_host_name, BIO_get_mem_ptr, SSL_CTX_set_min_proto_version,
 * ERR_GET_REASON), the mem-BIO plumbing of one TLS session (two memory BIOs owned
 * by the SSL object), and the error queue, which must be read and cleared on the
 * thread that made the call.
 *
 * Conventions:
 *  - every function and type is prefixed `camqp_tls_` (types end in `_t`);
 *  - the SSL_CTX and SSL types stay opaque to Swift (`camqp_tls_ctx_t`,
 *    `camqp_tls_t`), so Swift never imports OpenSSL's headers;
 *  - functions return >= 0 on success and a negative value on failure; the
 *    reason is read with camqp_tls_take_error, which also clears the queue.
 */
#ifndef CAMQP_TLS_H
#define CAMQP_TLS_H

#include <stddef.h>
#include <stdint.h>

typedef struct camqp_tls_ctx camqp_tls_ctx_t;
typedef struct camqp_tls camqp_tls_t;

/* What an SSL call asks for next (SSL_get_error, folded). */
enum {
    CAMQP_TLS_OK = 0,
    CAMQP_TLS_WANT_READ = 1,   /* needs more ciphertext */
    CAMQP_TLS_WANT_WRITE = 2,  /* never with memory BIOs, kept for completeness */
    CAMQP_TLS_CLOSED = 3,      /* the peer sent close_notify */
    CAMQP_TLS_FAILED = 4       /* a protocol or verification error: see take_error */
};

/* Peer verification modes for camqp_tls_ctx_set_verify. */
enum {
    CAMQP_TLS_VERIFY_NONE = 0,
    CAMQP_TLS_VERIFY_PEER = 1,           /* verify a certificate if one is sent */
    CAMQP_TLS_VERIFY_REQUIRE_PEER = 2    /* and fail when none is sent (servers) */
};

/* A context (SSL_CTX) for clients (server = 0) or servers, TLS 1.2 at least. NULL when
 * OpenSSL cannot make one (out of memory). */
camqp_tls_ctx_t *camqp_tls_ctx_new(int server);
void camqp_tls_ctx_free(camqp_tls_ctx_t *ctx);
/* The system's trust store (/etc/ssl/certs, or SSL_CERT_FILE / SSL_CERT_DIR). */
int camqp_tls_ctx_trust_system(camqp_tls_ctx_t *ctx);
/* Trust the PEM certificates in `path` (a file) instead of, or in addition to, the system's. */
int camqp_tls_ctx_trust_file(camqp_tls_ctx_t *ctx, const char *path);
/* Our certificate chain (PEM, leaf first) and its private key (PEM), checked against each other. */
int camqp_tls_ctx_use_certificate(camqp_tls_ctx_t *ctx, const char *chain_path, const char *key_path);
void camqp_tls_ctx_set_verify(camqp_tls_ctx_t *ctx, int mode);
/* Lowest protocol version: 0x0303 (TLS 1.2) or 0x0304 (TLS 1.3). */
int camqp_tls_ctx_set_min_version(camqp_tls_ctx_t *ctx, int version);

/* A session with two memory BIOs. `server_name` (may be NULL) is sent as SNI and, when
 * `verify_name` is set, checked against the peer's certificate (a DNS name, or an IP
 * address when it parses as one). */
camqp_tls_t *camqp_tls_new(camqp_tls_ctx_t *ctx, int server, const char *server_name, int verify_name);
void camqp_tls_free(camqp_tls_t *tls);

/* Ciphertext in: copies `len` bytes into the read BIO. Returns `len` or -1. */
int camqp_tls_feed(camqp_tls_t *tls, const void *bytes, size_t len);
/* Ciphertext the read BIO holds that SSL has not consumed yet. */
size_t camqp_tls_pending_in(camqp_tls_t *tls);
/* Ciphertext waiting in the write BIO. */
size_t camqp_tls_pending_out(camqp_tls_t *tls);
/* Ciphertext out: moves up to `cap` bytes from the write BIO into `buffer`. */
size_t camqp_tls_drain(camqp_tls_t *tls, void *buffer, size_t cap);

/* Steps the handshake; CAMQP_TLS_OK when it is complete. */
int camqp_tls_handshake(camqp_tls_t *tls);
/* Plaintext out of the session: bytes read (> 0), or minus a CAMQP_TLS_ status. */
long camqp_tls_read(camqp_tls_t *tls, void *buffer, size_t cap);
/* Plaintext into the session (encrypted into the write BIO): bytes taken, or minus a status. */
long camqp_tls_write(camqp_tls_t *tls, const void *bytes, size_t len);
/* Queues close_notify. */
void camqp_tls_shutdown(camqp_tls_t *tls);
/* Bytes SSL_read could return without new ciphertext. */
int camqp_tls_pending_plaintext(camqp_tls_t *tls);

/* The certificate verification result (X509_V_OK = 0 or an X509_V_ERR_ code) and its text. */
long camqp_tls_verify_result(camqp_tls_t *tls);
const char *camqp_tls_verify_string(long code);
/* The first error on this thread's queue as (library, reason), with its text in `buffer`;
 * the queue is cleared. Returns 0 when the queue was empty. */
unsigned long camqp_tls_take_error(int *library, int *reason, char *buffer, size_t cap);
/* The verified peer certificate's subject (RFC 2253), or "" when there is none. */
int camqp_tls_peer_subject(camqp_tls_t *tls, char *buffer, size_t cap);
/* Server: the host name the client asked for with SNI, or NULL. */
const char *camqp_tls_requested_server_name(camqp_tls_t *tls);
/* Negotiated version (e.g. "TLSv1.3") and cipher suite. */
const char *camqp_tls_version(camqp_tls_t *tls);
const char *camqp_tls_cipher(camqp_tls_t *tls);

#endif
