#include "CAMQPTLS.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

struct camqp_tls_ctx { SSL_CTX *ctx; };
struct camqp_tls { SSL *ssl; BIO *in; BIO *out; };

camqp_tls_ctx_t *camqp_tls_ctx_new(int server) {
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Memory BIOs never block, but SSL_write would otherwise stop at each record. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Session tickets sent after the handshake are harmless, but a server with no
     * session cache would issue them for nothing. */
    if (server) SSL_CTX_set_num_tickets(ctx, 0);
    camqp_tls_ctx_t *c = malloc(sizeof *c);
    if (!c) { SSL_CTX_free(ctx); return NULL; }
    c->ctx = ctx;
    return c;
}

void camqp_tls_ctx_free(camqp_tls_ctx_t *c) {
    if (!c) return;
    SSL_CTX_free(c->ctx);
    free(c);
}

int camqp_tls_ctx_trust_system(camqp_tls_ctx_t *c) {
    return SSL_CTX_set_default_verify_paths(c->ctx) == 1 ? 0 : -1;
}

int camqp_tls_ctx_trust_file(camqp_tls_ctx_t *c, const char *path) {
    return SSL_CTX_load_verify_locations(c->ctx, path, NULL) == 1 ? 0 : -1;
}

int camqp_tls_ctx_use_certificate(camqp_tls_ctx_t *c, const char *chain, const char *key) {
    if (SSL_CTX_use_certificate_chain_file(c->ctx, chain) != 1) return -1;
    if (SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1) return -2;
    if (SSL_CTX_check_private_key(c->ctx) != 1) return -3;
    return 0;
}

void camqp_tls_ctx_set_verify(camqp_tls_ctx_t *c, int mode) {
    int m = SSL_VERIFY_NONE;
    if (mode == CAMQP_TLS_VERIFY_PEER) m = SSL_VERIFY_PEER;
    if (mode == CAMQP_TLS_VERIFY_REQUIRE_PEER) m = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(c->ctx, m, NULL);
}

int camqp_tls_ctx_set_min_version(camqp_tls_ctx_t *c, int version) {
    return SSL_CTX_set_min_proto_version(c->ctx, version) == 1 ? 0 : -1;
}

camqp_tls_t *camqp_tls_new(camqp_tls_ctx_t *c, int server, const char *name, int verify_name) {
    SSL *ssl = SSL_new(c->ctx);
    if (!ssl) return NULL;
    BIO *in = BIO_new(BIO_s_mem());
    BIO *out = BIO_new(BIO_s_mem());
    if (!in || !out) {
        BIO_free(in);
        BIO_free(out);
        SSL_free(ssl);
        return NULL;
    }
    /* An empty read BIO says "retry" instead of "end of file", so SSL_read reports
     * WANT_READ rather than a truncated stream while we wait for the socket. */
    BIO_set_mem_eof_return(in, -1);
    BIO_set_mem_eof_return(out, -1);
    SSL_set_bio(ssl, in, out); /* the SSL owns both from here */
    if (server) {
        SSL_set_accept_state(ssl);
    } else {
        SSL_set_connect_state(ssl);
        if (name && *name) {
            unsigned char ip[16];
            int is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
            /* SNI carries host names only (RFC 6066 section 3). */
            if (!is_ip) SSL_set_tlsext_host_name(ssl, name);
            if (verify_name) {
                X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
                int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name)
                               : X509_VERIFY_PARAM_set1_host(param, name, 0);
                if (ok != 1) { SSL_free(ssl); return NULL; }
                X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            }
        }
    }
    camqp_tls_t *t = malloc(sizeof *t);
    if (!t) { SSL_free(ssl); return NULL; }
    t->ssl = ssl;
    t->in = in;
    t->out = out;
    return t;
}

void camqp_tls_free(camqp_tls_t *t) {
    if (!t) return;
    SSL_free(t->ssl);
    free(t);
}

int camqp_tls_feed(camqp_tls_t *t, const void *bytes, size_t len) {
    if (len == 0) return 0;
    if (len > INT32_MAX) len = INT32_MAX;
    int n = BIO_write(t->in, bytes, (int)len);
    return n == (int)len ? n : -1;
}

size_t camqp_tls_pending_in(camqp_tls_t *t) { return BIO_ctrl_pending(t->in); }
size_t camqp_tls_pending_out(camqp_tls_t *t) { return BIO_ctrl_pending(t->out); }

size_t camqp_tls_drain(camqp_tls_t *t, void *buffer, size_t cap) {
    if (cap == 0) return 0;
    if (cap > INT32_MAX) cap = INT32_MAX;
    int n = BIO_read(t->out, buffer, (int)cap);
    return n > 0 ? (size_t)n : 0;
}

static int status(camqp_tls_t *t, int result) {
    switch (SSL_get_error(t->ssl, result)) {
    case SSL_ERROR_NONE: return CAMQP_TLS_OK;
    case SSL_ERROR_WANT_READ: return CAMQP_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE: return CAMQP_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN: return CAMQP_TLS_CLOSED;
    default: return CAMQP_TLS_FAILED;
    }
}

int camqp_tls_handshake(camqp_tls_t *t) {
    int r = SSL_do_handshake(t->ssl);
    return r == 1 ? CAMQP_TLS_OK : status(t, r);
}

long camqp_tls_read(camqp_tls_t *t, void *buffer, size_t cap) {
    size_t n = 0;
    int r = SSL_read_ex(t->ssl, buffer, cap, &n);
    return r == 1 ? (long)n : -(long)status(t, r);
}

long camqp_tls_write(camqp_tls_t *t, const void *bytes, size_t len) {
    size_t n = 0;
    int r = SSL_write_ex(t->ssl, bytes, len, &n);
    return r == 1 ? (long)n : -(long)status(t, r);
}

void camqp_tls_shutdown(camqp_tls_t *t) {
    /* The first call queues close_notify; we do not wait for the peer's (the
     * transport closes after ours is written, as RFC 8446 section 6.1 allows). */
    if (!(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN)) (void)SSL_shutdown(t->ssl);
    ERR_clear_error();
}

int camqp_tls_pending_plaintext(camqp_tls_t *t) { return SSL_pending(t->ssl); }

long camqp_tls_verify_result(camqp_tls_t *t) { return SSL_get_verify_result(t->ssl); }
const char *camqp_tls_verify_string(long code) { return X509_verify_cert_error_string(code); }

unsigned long camqp_tls_take_error(int *library, int *reason, char *buffer, size_t cap) {
    unsigned long e = ERR_get_error();
    if (library) *library = e ? ERR_GET_LIB(e) : 0;
    if (reason) *reason = e ? ERR_GET_REASON(e) : 0;
    if (buffer && cap) {
        buffer[0] = 0;
        if (e) ERR_error_string_n(e, buffer, cap);
    }
    ERR_clear_error();
    return e;
}

int camqp_tls_peer_subject(camqp_tls_t *t, char *buffer, size_t cap) {
    if (!cap) return -1;
    buffer[0] = 0;
    X509 *cert = SSL_get0_peer_certificate(t->ssl);
    if (!cert) return 0;
    BIO *b = BIO_new(BIO_s_mem());
    if (!b) return -1;
    X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    int n = BIO_read(b, buffer, (int)(cap - 1));
    BIO_free(b);
    if (n < 0) n = 0;
    buffer[n] = 0;
    return n;
}

const char *camqp_tls_version(camqp_tls_t *t) { return SSL_get_version(t->ssl); }
const char *camqp_tls_cipher(camqp_tls_t *t) { return SSL_get_cipher_name(t->ssl); }

const char *camqp_tls_requested_server_name(camqp_tls_t *t) {
    return SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
}
