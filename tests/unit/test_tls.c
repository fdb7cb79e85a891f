/*
 * tls: the context and the per-connection engine of server/tls.c against
 * real OpenSSL clients, in memory: every byte the client writes is fed to
 * the engine and every byte the engine queues is given to the client, so
 * handshakes, refusals and records are exactly what a socket would carry.
 * Certificates are made here with OpenSSL's API, in a temporary folder
 * removed at the end.
 */
#define _DEFAULT_SOURCE 1 /* mkdtemp */

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "metrics.h"
#include "test.h"
#include "tls.h"

struct files {
    char dir[64];
    char cert[96], key[96], cert2[96], key2[96], broken[96];
    char live_cert[96], live_key[96]; /* the files "in force" */
};

/* A self-signed P-256 certificate with the given serial, and its key. */
static int make_cert(const char *cert_path, const char *key_path, long serial)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    int rc = -1;
    if (key == NULL || x == NULL)
        goto done;
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    if (X509_sign(x, key, EVP_sha256()) == 0)
        goto done;
    FILE *f = fopen(cert_path, "w");
    if (f == NULL)
        goto done;
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key_path, "w");
    if (f == NULL)
        goto done;
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    rc = 0;
done:
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

static int files_make(struct files *fs)
{
    snprintf(fs->dir, sizeof(fs->dir), "/tmp/tipd-tls-unit-XXXXXX");
    if (mkdtemp(fs->dir) == NULL)
        return -1;
    snprintf(fs->cert, sizeof(fs->cert), "%s/a.pem", fs->dir);
    snprintf(fs->key, sizeof(fs->key), "%s/a.key", fs->dir);
    snprintf(fs->cert2, sizeof(fs->cert2), "%s/b.pem", fs->dir);
    snprintf(fs->key2, sizeof(fs->key2), "%s/b.key", fs->dir);
    snprintf(fs->broken, sizeof(fs->broken), "%s/broken.key", fs->dir);
    snprintf(fs->live_cert, sizeof(fs->live_cert), "%s/live.pem", fs->dir);
    snprintf(fs->live_key, sizeof(fs->live_key), "%s/live.key", fs->dir);
    FILE *f = fopen(fs->broken, "w");
    if (f == NULL)
        return -1;
    fputs("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n"
          "-----END PRIVATE KEY-----\n",
          f);
    fclose(f);
    if (make_cert(fs->cert, fs->key, 4097) != 0 ||
        make_cert(fs->cert2, fs->key2, 8193) != 0)
        return -1;
    return 0;
}

static void files_remove(struct files *fs)
{
    const char *all[] = {fs->cert,   fs->key,       fs->cert2,   fs->key2,
                         fs->broken, fs->live_cert, fs->live_key};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        unlink(all[i]);
    rmdir(fs->dir);
}

/* A config with TLS files and settings ("key=value" pairs, NULL-ended). */
static int config_with(struct config *c, const char *const *sets)
{
    char err[256];
    config_init(c);
    for (size_t i = 0; sets[i] != NULL; i++) {
        char key[64];
        const char *eq = strchr(sets[i], '=');
        snprintf(key, sizeof(key), "%.*s", (int)(eq - sets[i]), sets[i]);
        if (config_set(c, key, eq + 1, "test", err, sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            return -1;
        }
    }
    return 0;
}

/* An OpenSSL client on memory BIOs, trusting the server's certificate. */
struct client {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in, *out;
};

static void client_init(struct client *cl, const char *ca, int min, int max,
                        const char *ciphers, const char *alpn, size_t alpn_len)
{
    cl->ctx = SSL_CTX_new(TLS_client_method());
    /* Level 0 so that the client really offers TLS 1.0/1.1 and weak
     * suites: the refusal must come from the server. */
    SSL_CTX_set_security_level(cl->ctx, 0);
    SSL_CTX_set_min_proto_version(cl->ctx, min);
    SSL_CTX_set_max_proto_version(cl->ctx, max);
    if (ciphers != NULL)
        SSL_CTX_set_cipher_list(cl->ctx, ciphers);
    SSL_CTX_load_verify_locations(cl->ctx, ca, NULL);
    SSL_CTX_set_verify(cl->ctx, SSL_VERIFY_PEER, NULL);
    cl->ssl = SSL_new(cl->ctx);
    if (alpn != NULL)
        SSL_set_alpn_protos(cl->ssl, (const unsigned char *)alpn,
                            (unsigned)alpn_len);
    SSL_set1_host(cl->ssl, "localhost");
    cl->in = BIO_new(BIO_s_mem());
    cl->out = BIO_new(BIO_s_mem());
    SSL_set_bio(cl->ssl, cl->in, cl->out);
    SSL_set_connect_state(cl->ssl);
}

static void client_cleanup(struct client *cl)
{
    SSL_free(cl->ssl);
    SSL_CTX_free(cl->ctx);
    ERR_clear_error();
}

/* Moves bytes both ways until neither side has anything to say. Plaintext
 * the server decrypts is appended to got (cap bytes). Returns the server's
 * last tls_conn_read result that was not data (0, UV_EOF, UV_EPROTO). */
static int pump(struct client *cl, struct tls_conn *s, char *got, size_t cap,
                size_t *got_len)
{
    char buf[65536];
    int last = 0;
    for (int round = 0; round < 20; round++) {
        SSL_do_handshake(cl->ssl); /* client's next flight, if any */
        size_t moved = 0;
        int n;
        while ((n = BIO_read(cl->out, buf, sizeof(buf))) > 0) {
            tls_conn_feed(s, buf, (size_t)n);
            moved += (size_t)n;
        }
        for (;;) {
            n = tls_conn_read(s, buf, sizeof(buf));
            if (n <= 0) {
                last = n;
                break;
            }
            if (got != NULL && *got_len + (size_t)n <= cap) {
                memcpy(got + *got_len, buf, (size_t)n);
                *got_len += (size_t)n;
            }
        }
        size_t pending = tls_conn_pending(s);
        if (pending > 0) {
            char *out = malloc(pending);
            size_t k = tls_conn_take(s, out, pending);
            BIO_write(cl->in, out, (int)k);
            free(out);
            moved += k;
        }
        if (moved == 0)
            break;
    }
    return last;
}

static long peer_serial(struct client *cl)
{
    X509 *x = SSL_get0_peer_certificate(cl->ssl);
    return x ? ASN1_INTEGER_get(X509_get0_serialNumber(x)) : -1;
}

/* One handshake of a client with these settings; 1 if both ends finished
 * it, 0 if the server refused it (the engine FAILED), -1 otherwise. */
static int handshake(struct tls_context *t, const char *ca, int min, int max,
                     const char *ciphers, const char *alpn, size_t alpn_len,
                     long *serial, char *version, size_t vcap)
{
    struct client cl;
    struct tls_conn s;
    client_init(&cl, ca, min, max, ciphers, alpn, alpn_len);
    if (tls_conn_init(&s, t) != 0) {
        client_cleanup(&cl);
        return -1;
    }
    pump(&cl, &s, NULL, 0, NULL);
    int result = -1;
    if (s.state == TLS_CONN_OPEN && SSL_is_init_finished(cl.ssl))
        result = 1;
    else if (s.state == TLS_CONN_FAILED && s.reason != NULL &&
             !SSL_is_init_finished(cl.ssl))
        result = 0;
    if (serial != NULL)
        *serial = peer_serial(&cl);
    if (version != NULL)
        snprintf(version, vcap, "%s %s", SSL_get_version(cl.ssl),
                 SSL_get_cipher_name(cl.ssl));
    tls_conn_cleanup(&s);
    client_cleanup(&cl);
    return result;
}

static void engine_checks(struct files *fs)
{
    struct config c;
    struct tls_metrics m;
    struct tls_context t;
    char err[512], v[128];
    const char *const sets[] = {"tls_cert_file=", "tls_key_file=", NULL};
    char cert_set[128], key_set[128];
    snprintf(cert_set, sizeof(cert_set), "tls_cert_file=%s", fs->cert);
    snprintf(key_set, sizeof(key_set), "tls_key_file=%s", fs->key);
    const char *const on[] = {cert_set, key_set, NULL};

    /* Both empty: TLS off. */
    metrics_tls_init(&m);
    CHECK_INT(config_with(&c, sets), 0);
    CHECK_INT(tls_context_init(&t, &c, &m, err, sizeof(err)), 0);
    CHECK(!tls_context_enabled(&t));
    tls_context_cleanup(&t);
    config_cleanup(&c);

    CHECK_INT(config_with(&c, on), 0);
    if (tls_context_init(&t, &c, &m, err, sizeof(err)) != 0) {
        test_failf(__FILE__, __LINE__, "tls_context_init: %s", err);
        config_cleanup(&c);
        return;
    }
    CHECK(tls_context_enabled(&t));

    /* TLS 1.3 and 1.2 with an ECDHE AEAD suite. */
    int ok13 = handshake(&t, fs->cert, TLS1_3_VERSION, TLS1_3_VERSION, NULL,
                         NULL, 0, NULL, v, sizeof(v));
    if (ok13 != 1)
        test_failf(__FILE__, __LINE__, "TLS 1.3 handshake: %d", ok13);
    CHECK(strncmp(v, "TLSv1.3 ", 8) == 0);
    int ok12 = handshake(&t, fs->cert, TLS1_2_VERSION, TLS1_2_VERSION, NULL,
                         NULL, 0, NULL, v, sizeof(v));
    CHECK_INT(ok12, 1);
    CHECK_STR(v, "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256");
    /* Refused by the server: TLS 1.1 and 1.0, a CBC suite, a suite
     * without forward secrecy, ALPN without http/1.1. */
    CHECK_INT(handshake(&t, fs->cert, TLS1_1_VERSION, TLS1_1_VERSION,
                        "DEFAULT:@SECLEVEL=0", NULL, 0, NULL, NULL, 0),
              0);
    CHECK_INT(handshake(&t, fs->cert, TLS1_VERSION, TLS1_VERSION,
                        "DEFAULT:@SECLEVEL=0", NULL, 0, NULL, NULL, 0),
              0);
    CHECK_INT(handshake(&t, fs->cert, TLS1_2_VERSION, TLS1_2_VERSION,
                        "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0", NULL, 0, NULL,
                        NULL, 0),
              0);
    CHECK_INT(handshake(&t, fs->cert, TLS1_2_VERSION, TLS1_2_VERSION,
                        "AES128-GCM-SHA256:@SECLEVEL=0", NULL, 0, NULL, NULL,
                        0),
              0);
    CHECK_INT(handshake(&t, fs->cert, TLS1_2_VERSION, TLS1_3_VERSION, NULL,
                        "\x02h2", 3, NULL, NULL, 0),
              0);
    CHECK_INT(handshake(&t, fs->cert, TLS1_2_VERSION, TLS1_3_VERSION, NULL,
                        "\x02h2\x08http/1.1", 12, NULL, NULL, 0),
              1);

    /* Records both ways, then the client's close_notify is end of file. */
    struct client cl;
    struct tls_conn s;
    client_init(&cl, fs->cert, TLS1_2_VERSION, TLS1_3_VERSION, NULL, NULL, 0);
    CHECK_INT(tls_conn_init(&s, &t), 0);
    pump(&cl, &s, NULL, 0, NULL);
    CHECK_INT(s.state, TLS_CONN_OPEN);
    CHECK(s.handshaken);
    char got[256];
    size_t got_len = 0;
    SSL_write(cl.ssl, "GET / HTTP/1.1\r\n", 16);
    pump(&cl, &s, got, sizeof(got), &got_len);
    CHECK_INT(got_len, 16);
    CHECK(memcmp(got, "GET / HTTP/1.1\r\n", 16) == 0);
    CHECK_INT(tls_conn_write(&s, "HTTP/1.1 200 OK\r\n", 17), 0);
    pump(&cl, &s, NULL, 0, NULL);
    char back[64];
    CHECK_INT(SSL_read(cl.ssl, back, sizeof(back)), 17);
    CHECK(memcmp(back, "HTTP/1.1 200 OK\r\n", 17) == 0);
    SSL_shutdown(cl.ssl);
    CHECK_INT(pump(&cl, &s, NULL, 0, NULL), UV_EOF);
    CHECK_INT(s.state, TLS_CONN_CLOSED);
    CHECK_INT(tls_conn_write(&s, "x", 1), UV_EPROTO);
    tls_conn_close_notify(&s); /* ours, in answer */
    CHECK(tls_conn_pending(&s) > 0);
    tls_conn_cleanup(&s);
    client_cleanup(&cl);

    /* Plain HTTP on the TLS port: refused, nothing decrypted. */
    CHECK_INT(tls_conn_init(&s, &t), 0);
    const char *plain = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
    tls_conn_feed(&s, plain, strlen(plain));
    CHECK_INT(tls_conn_read(&s, got, sizeof(got)), UV_EPROTO);
    CHECK_INT(s.state, TLS_CONN_FAILED);
    CHECK(!s.handshaken);
    CHECK_INT(tls_conn_write(&s, "x", 1), UV_EPROTO);
    tls_conn_cleanup(&s);

    /* A body larger than the BIOs keep: the engine's buffers are replaced
     * once drained, and the data arrives whole. */
    client_init(&cl, fs->cert, TLS1_2_VERSION, TLS1_3_VERSION, NULL, NULL, 0);
    CHECK_INT(tls_conn_init(&s, &t), 0);
    pump(&cl, &s, NULL, 0, NULL);
    static char big[200000], big_got[200000];
    memset(big, 'b', sizeof(big));
    size_t big_len = 0;
    SSL_write(cl.ssl, big, (int)sizeof(big));
    pump(&cl, &s, big_got, sizeof(big_got), &big_len);
    CHECK_INT(big_len, sizeof(big));
    CHECK_INT(tls_conn_write(&s, big, sizeof(big)), 0);
    CHECK(tls_conn_pending(&s) > sizeof(big));
    pump(&cl, &s, NULL, 0, NULL);
    CHECK_INT(tls_conn_pending(&s), 0);
    BUF_MEM *mem = NULL;
    BIO_get_mem_ptr(s.out, &mem);
    CHECK(mem != NULL && mem->max <= 32768);
    BIO_get_mem_ptr(s.in, &mem);
    CHECK(mem != NULL && mem->max <= 32768);
    tls_conn_cleanup(&s);
    client_cleanup(&cl);

    tls_context_cleanup(&t);
    config_cleanup(&c);

    /* TLS 1.3 only. */
    const char *const only13[] = {cert_set, key_set, "tls_min_version=13",
                                  NULL};
    CHECK_INT(config_with(&c, only13), 0);
    CHECK_INT(tls_context_init(&t, &c, &m, err, sizeof(err)), 0);
    CHECK_INT(handshake(&t, fs->cert, TLS1_2_VERSION, TLS1_2_VERSION, NULL,
                        NULL, 0, NULL, NULL, 0),
              0);
    CHECK_INT(handshake(&t, fs->cert, TLS1_2_VERSION, TLS1_3_VERSION, NULL,
                        NULL, 0, NULL, v, sizeof(v)),
              1);
    CHECK(strncmp(v, "TLSv1.3 ", 8) == 0);
    tls_context_cleanup(&t);
    config_cleanup(&c);
}

void test_tls_engine_handshakes_and_records(void)
{
    struct files fs;
    if (files_make(&fs) != 0) {
        test_failf(__FILE__, __LINE__, "cannot make test certificates");
        files_remove(&fs);
        return;
    }
    engine_checks(&fs);
    files_remove(&fs);
}

/* Copies file from to to. */
static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    FILE *out = fopen(to, "wb");
    char buf[8192];
    size_t n;
    int rc = in != NULL && out != NULL ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rc = -1;
    if (in != NULL)
        fclose(in);
    if (out != NULL && fclose(out) != 0)
        rc = -1;
    return rc;
}

static void reload_checks(struct files *fs)
{
    struct config c;
    struct tls_metrics m;
    struct tls_context t;
    char err[512];
    char cert_set[128], key_set[128];
    const char *live_cert = fs->live_cert, *live_key = fs->live_key;
    metrics_tls_init(&m);

    /* Errors at start name the key, the file and the reason. */
    snprintf(cert_set, sizeof(cert_set), "tls_cert_file=%s", fs->cert);
    const char *const half[] = {cert_set, NULL};
    CHECK_INT(config_with(&c, half), 0);
    CHECK_INT(tls_context_init(&t, &c, &m, err, sizeof(err)), -1);
    tls_context_cleanup(&t);
    config_cleanup(&c);
    CHECK(strstr(err, "tls_key_file is not") != NULL);

    snprintf(key_set, sizeof(key_set), "tls_key_file=%s", fs->key2);
    const char *const mismatch[] = {cert_set, key_set, NULL};
    CHECK_INT(config_with(&c, mismatch), 0);
    CHECK_INT(tls_context_init(&t, &c, &m, err, sizeof(err)), -1);
    tls_context_cleanup(&t);
    config_cleanup(&c);
    CHECK(strstr(err, "is not the key of tls_cert_file") != NULL);
    CHECK(strstr(err, fs->key2) != NULL);

    snprintf(key_set, sizeof(key_set), "tls_key_file=%s/missing.key", fs->dir);
    const char *const missing[] = {cert_set, key_set, NULL};
    CHECK_INT(config_with(&c, missing), 0);
    CHECK_INT(tls_context_init(&t, &c, &m, err, sizeof(err)), -1);
    tls_context_cleanup(&t);
    config_cleanup(&c);
    CHECK(strstr(err, "missing.key: No such file or directory") != NULL);

    const char *const weak[] = {cert_set, "tls_ciphers=NO-SUCH-SUITE", NULL};
    CHECK_INT(config_with(&c, weak), 0);
    config_set(&c, "tls_key_file", fs->key, "test", err, sizeof(err));
    CHECK_INT(tls_context_init(&t, &c, &m, err, sizeof(err)), -1);
    tls_context_cleanup(&t);
    config_cleanup(&c);
    CHECK(strstr(err, "tls_ciphers 'NO-SUCH-SUITE'") != NULL);

    /* The files in force are "live" copies the test replaces. */
    CHECK_INT(copy_file(fs->cert, live_cert), 0);
    CHECK_INT(copy_file(fs->key, live_key), 0);
    snprintf(cert_set, sizeof(cert_set), "tls_cert_file=%s", live_cert);
    snprintf(key_set, sizeof(key_set), "tls_key_file=%s", live_key);
    const char *const live[] = {cert_set, key_set, NULL};
    CHECK_INT(config_with(&c, live), 0);
    if (tls_context_init(&t, &c, &m, err, sizeof(err)) != 0) {
        test_failf(__FILE__, __LINE__, "tls_context_init: %s", err);
        config_cleanup(&c);
        return;
    }
    long serial = 0;
    CHECK_INT(handshake(&t, fs->cert, TLS1_2_VERSION, TLS1_3_VERSION, NULL,
                        NULL, 0, &serial, NULL, 0),
              1);
    CHECK_INT(serial, 4097);

    /* A connection made before a reload keeps its certificate. */
    struct client before;
    struct tls_conn s;
    client_init(&before, fs->cert, TLS1_2_VERSION, TLS1_3_VERSION, NULL, NULL,
                0);
    CHECK_INT(tls_conn_init(&s, &t), 0);

    /* A broken key: refused, counted, the old certificate stays. */
    CHECK_INT(copy_file(fs->broken, live_key), 0);
    CHECK_INT(tls_context_reload(&t), -1);
    CHECK_INT(atomic_load(&m.reloads_failed), 1);
    CHECK_INT(atomic_load(&m.reloads_ok), 0);
    CHECK_INT(handshake(&t, fs->cert, TLS1_2_VERSION, TLS1_3_VERSION, NULL,
                        NULL, 0, &serial, NULL, 0),
              1);
    CHECK_INT(serial, 4097);

    /* The new pair: new connections get it. */
    CHECK_INT(copy_file(fs->cert2, live_cert), 0);
    CHECK_INT(copy_file(fs->key2, live_key), 0);
    CHECK_INT(tls_context_reload(&t), 0);
    CHECK_INT(atomic_load(&m.reloads_ok), 1);
    CHECK_INT(handshake(&t, fs->cert2, TLS1_2_VERSION, TLS1_3_VERSION, NULL,
                        NULL, 0, &serial, NULL, 0),
              1);
    CHECK_INT(serial, 8193);
    /* The old certificate is no longer trusted for new connections... */
    CHECK(handshake(&t, fs->cert, TLS1_2_VERSION, TLS1_3_VERSION, NULL, NULL, 0,
                    NULL, NULL, 0) != 1);

    /* ...but the connection made before still completes with it. */
    pump(&before, &s, NULL, 0, NULL);
    CHECK_INT(s.state, TLS_CONN_OPEN);
    CHECK_INT(peer_serial(&before), 4097);
    tls_conn_cleanup(&s);
    client_cleanup(&before);

    tls_context_cleanup(&t);
    config_cleanup(&c);
}

void test_tls_reload_swaps_or_keeps(void)
{
    struct files fs;
    if (files_make(&fs) != 0) {
        test_failf(__FILE__, __LINE__, "cannot make test certificates");
        files_remove(&fs);
        return;
    }
    reload_checks(&fs);
    files_remove(&fs);
}
