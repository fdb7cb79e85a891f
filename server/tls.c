/*
 * tls: the mechanism behind tls.h.
 *
 * Worker threads take the SSL_CTX in force under the context's mutex
 * (SSL_new takes its own reference on it), and a reload swaps the pointer
 * under the same mutex, then drops the context's reference on the old one:
 * OpenSSL frees an SSL_CTX when its last connection is freed. The mutex is
 * held for one pointer read and one reference count per accepted
 * connection.
 *
 * Memory BIOs keep the largest size they ever held. A connection that
 * once received or sent a large body would keep that much while idle, so
 * a BIO that grew beyond BIO_KEEP_BYTES is replaced by a new one once it is
 * empty; with SSL_MODE_RELEASE_BUFFERS an idle connection holds only
 * OpenSSL's state.
 */
#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "log.h"

#define BIO_KEEP_BYTES 32768

/* The only application protocol tipd speaks, in ALPN's wire format. */
static const unsigned char alpn_http11[] = "\x08http/1.1";

/* OpenSSL's reason for the oldest error queued on this thread (static
 * text: "No such file or directory", "no start line", "key values
 * mismatch"), then an empty queue for the next call. */
static const char *take_reason(void)
{
    unsigned long e = ERR_peek_error();
    const char *reason = NULL;
    if (e != 0 && ERR_SYSTEM_ERROR(e))
        reason = strerror(ERR_GET_REASON(e));
    else if (e != 0)
        reason = ERR_reason_error_string(e);
    ERR_clear_error();
    return reason != NULL ? reason : "unknown error";
}

/* An encrypted key file must fail to load, never wait for a passphrase
 * on a terminal that a daemon does not have. */
static int no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)userdata;
    return -1;
}

/* ALPN: http/1.1 when the client offers it; a client that offers only
 * other protocols is refused, so bytes meant for another service on this
 * certificate are never read as HTTP (cross-protocol attacks). */
static int select_alpn(SSL *ssl, const unsigned char **out,
                       unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    unsigned char *chosen = NULL;
    if (SSL_select_next_proto(&chosen, outlen, alpn_http11,
                              sizeof(alpn_http11) - 1, in,
                              inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

/* Logs the loaded certificate's serial and expiry (no client data). */
static void log_certificate(SSL_CTX *ctx, const char *event, const char *file)
{
    X509 *cert = SSL_CTX_get0_certificate(ctx);
    if (cert == NULL)
        return;
    char serial[80] = "?";
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    if (hex != NULL)
        snprintf(serial, sizeof(serial), "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    char expires[64] = "?";
    BIO *mem = BIO_new(BIO_s_mem());
    if (mem != NULL && ASN1_TIME_print(mem, X509_get0_notAfter(cert)) == 1) {
        int n = BIO_read(mem, expires, (int)sizeof(expires) - 1);
        expires[n > 0 ? n : 0] = '\0';
    }
    BIO_free(mem);
    bool expired = X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0;
    log_event(expired ? LOG_WARN : LOG_INFO, event,
              "cert=%s serial=%s not_after=\"%s\"%s", file, serial, expires,
              expired ? " expired=1" : "");
}

/* Reads tls_key_file and gives it to ctx, whose certificate it must
 * match. Read here rather than by OpenSSL's file loader so that an
 * unreadable file and a key of another certificate get their own words. */
static int use_key(SSL_CTX *ctx, const struct config *c, char *err,
                   size_t errlen)
{
    FILE *f = fopen(c->tls_key_file, "r");
    if (f == NULL) {
        snprintf(err, errlen, "tls_key_file %s: %s", c->tls_key_file,
                 strerror(errno));
        return -1;
    }
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
    fclose(f);
    if (key == NULL) {
        snprintf(err, errlen,
                 "tls_key_file %s: cannot read an unencrypted PEM private key "
                 "(%s)",
                 c->tls_key_file, take_reason());
        return -1;
    }
    int rc = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (rc != 1) {
        snprintf(err, errlen,
                 "tls_key_file %s is not the key of tls_cert_file %s (%s)",
                 c->tls_key_file, c->tls_cert_file, take_reason());
        return -1;
    }
    return 0;
}

/* A new SSL_CTX from config's files and settings, or NULL with err. */
static SSL_CTX *make_ctx(const struct config *c, char *err, size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        snprintf(err, errlen, "OpenSSL: %s", take_reason());
        return NULL;
    }
    int min = c->tls_min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    /* Level 2: RSA and DH keys of 2048 bits or more, ECC of 224. */
    SSL_CTX_set_security_level(ctx, 2);
    SSL_CTX_set_min_proto_version(ctx, min);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_NO_TICKET |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);

    if (SSL_CTX_set_cipher_list(ctx, c->tls_ciphers) != 1) {
        snprintf(err, errlen, "tls_ciphers '%s': %s", c->tls_ciphers,
                 take_reason());
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert_file) != 1) {
        snprintf(err, errlen,
                 "tls_cert_file %s: cannot read a PEM certificate chain (%s)",
                 c->tls_cert_file, take_reason());
        goto fail;
    }
    if (use_key(ctx, c, err, errlen) != 0)
        goto fail;
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

int tls_context_init(struct tls_context *t, const struct config *config,
                     struct tls_metrics *metrics, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->config = config;
    t->metrics = metrics;
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        snprintf(err, errlen, "no mutex");
        return -1;
    }
    bool cert = config->tls_cert_file[0] != '\0';
    bool key = config->tls_key_file[0] != '\0';
    if (!cert && !key)
        return 0;
    if (cert != key) {
        snprintf(err, errlen, "%s is set but %s is not: TLS needs both",
                 cert ? "tls_cert_file" : "tls_key_file",
                 cert ? "tls_key_file" : "tls_cert_file");
        return -1;
    }
    t->current = make_ctx(config, err, errlen);
    if (t->current == NULL)
        return -1;
    t->enabled = true;
    log_certificate(t->current, "tls_loaded", config->tls_cert_file);
    return 0;
}

void tls_context_cleanup(struct tls_context *t)
{
    SSL_CTX_free(t->current);
    t->current = NULL;
    pthread_mutex_destroy(&t->lock);
}

bool tls_context_enabled(const struct tls_context *t)
{
    return t->enabled;
}

int tls_context_reload(struct tls_context *t)
{
    char err[768];
    SSL_CTX *fresh = make_ctx(t->config, err, sizeof(err));
    if (fresh == NULL) {
        atomic_fetch_add_explicit(&t->metrics->reloads_failed, 1,
                                  memory_order_relaxed);
        log_error("tls_reload_refused",
                  "reason=\"%s\" kept=\"the certificate in force\"", err);
        return -1;
    }
    pthread_mutex_lock(&t->lock);
    SSL_CTX *old = t->current;
    t->current = fresh;
    pthread_mutex_unlock(&t->lock);
    SSL_CTX_free(old); /* freed by OpenSSL once its last SSL is */
    atomic_fetch_add_explicit(&t->metrics->reloads_ok, 1, memory_order_relaxed);
    log_certificate(fresh, "tls_reloaded", t->config->tls_cert_file);
    return 0;
}

const char *tls_conn_state_name(enum tls_conn_state s)
{
    switch (s) {
#define X(name, text)                                                          \
    case TLS_CONN_##name:                                                      \
        return text;
        TLS_CONN_STATE_MAP(X)
#undef X
    }
    return "unknown";
}

int tls_conn_init(struct tls_conn *c, struct tls_context *t)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_lock(&t->lock);
    c->ssl = SSL_new(t->current);
    pthread_mutex_unlock(&t->lock);
    c->in = BIO_new(BIO_s_mem());
    c->out = BIO_new(BIO_s_mem());
    if (c->ssl == NULL || c->in == NULL || c->out == NULL) {
        BIO_free(c->in);
        BIO_free(c->out);
        SSL_free(c->ssl);
        ERR_clear_error();
        memset(c, 0, sizeof(*c));
        return -1;
    }
    /* An empty input BIO means "more to come", never end of file: the
     * transport reports the end of the stream itself. */
    BIO_set_mem_eof_return(c->in, -1);
    SSL_set_bio(c->ssl, c->in, c->out);
    SSL_set_accept_state(c->ssl);
    c->state = TLS_CONN_HANDSHAKE;
    return 0;
}

void tls_conn_cleanup(struct tls_conn *c)
{
    SSL_free(c->ssl); /* and both BIOs */
    memset(c, 0, sizeof(*c));
}

/* The largest size bio's buffer has grown to. */
static size_t bio_capacity(BIO *bio)
{
    BUF_MEM *mem = NULL;
    BIO_get_mem_ptr(bio, &mem);
    return mem != NULL ? mem->max : 0;
}

/* A fresh memory BIO in place of an empty one that grew large. */
static void shrink_input(struct tls_conn *c)
{
    if (BIO_ctrl_pending(c->in) != 0 || bio_capacity(c->in) <= BIO_KEEP_BYTES)
        return;
    BIO *fresh = BIO_new(BIO_s_mem());
    if (fresh == NULL)
        return; /* keep the big one; it still works */
    BIO_set_mem_eof_return(fresh, -1);
    SSL_set0_rbio(c->ssl, fresh); /* frees the old one */
    c->in = fresh;
}

static void shrink_output(struct tls_conn *c)
{
    if (BIO_ctrl_pending(c->out) != 0 || bio_capacity(c->out) <= BIO_KEEP_BYTES)
        return;
    BIO *fresh = BIO_new(BIO_s_mem());
    if (fresh == NULL)
        return;
    SSL_set0_wbio(c->ssl, fresh);
    c->out = fresh;
}

int tls_conn_feed(struct tls_conn *c, const char *data, size_t len)
{
    size_t written = 0;
    if (len > 0 && BIO_write_ex(c->in, data, len, &written) != 1) {
        ERR_clear_error();
        return UV_ENOMEM;
    }
    return 0;
}

int tls_conn_read(struct tls_conn *c, char *out, size_t cap)
{
    if (c->state == TLS_CONN_FAILED)
        return UV_EPROTO;
    if (c->state == TLS_CONN_CLOSED)
        return UV_EOF;
    ERR_clear_error();
    size_t got = 0;
    int ok = SSL_read_ex(c->ssl, out, cap, &got);
    if (c->state == TLS_CONN_HANDSHAKE && SSL_is_init_finished(c->ssl)) {
        c->state = TLS_CONN_OPEN;
        c->handshaken = true;
    }
    if (ok == 1)
        return (int)got;
    switch (SSL_get_error(c->ssl, 0)) {
    case SSL_ERROR_WANT_READ:
        shrink_input(c);
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        c->state = TLS_CONN_CLOSED;
        return UV_EOF;
    default:
        c->state = TLS_CONN_FAILED;
        c->reason = take_reason();
        return UV_EPROTO;
    }
}

int tls_conn_write(struct tls_conn *c, const void *data, size_t len)
{
    if (c->state != TLS_CONN_OPEN)
        return UV_EPROTO;
    if (len == 0)
        return 0;
    ERR_clear_error();
    size_t written = 0;
    /* A memory BIO takes everything: one call encrypts all of it. */
    if (SSL_write_ex(c->ssl, data, len, &written) != 1 || written != len) {
        c->state = TLS_CONN_FAILED;
        c->reason = take_reason();
        return UV_EPROTO;
    }
    return 0;
}

void tls_conn_close_notify(struct tls_conn *c)
{
    if (c->state != TLS_CONN_OPEN && c->state != TLS_CONN_CLOSED)
        return;
    ERR_clear_error();
    SSL_shutdown(c->ssl);
    ERR_clear_error();
}

size_t tls_conn_pending(struct tls_conn *c)
{
    return BIO_ctrl_pending(c->out);
}

size_t tls_conn_take(struct tls_conn *c, char *out, size_t cap)
{
    size_t got = 0;
    if (cap > 0 && BIO_read_ex(c->out, out, cap, &got) != 1) {
        ERR_clear_error();
        got = 0;
    }
    shrink_output(c);
    return got;
}
