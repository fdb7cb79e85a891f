/*
 * e2e TLS (issue 9): tipd serving HTTPS itself, driven by the clients
 * people use (curl, openssl s_client) and by raw sockets for what no
 * client would send. The test makes a throwaway CA and two server
 * certificates with the openssl command at run time, in the test's own
 * folder (removed when the test passes).
 */
#define _DEFAULT_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"

#define FAIL(...) test_failf(__FILE__, __LINE__, __VA_ARGS__)

/*
 * Runs `sh -c cmd` in e->dir (at most 30 s) with stdout and stderr into
 * out (cut to cap). Returns its exit code, or -1.
 */
static int sh(const struct e2e *e, const char *cmd, char *out, size_t cap)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/sh.out", e->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    char script[4096];
    snprintf(script, sizeof(script), "cd '%s' && %s", e->dir, cmd);
    char *const argv[] = {"/bin/sh", "-c", script, NULL};
    pid_t pid = e2e_spawn_logged("/bin/sh", argv, NULL, fd);
    close(fd);
    if (pid < 0)
        return -1;
    int st = 0, rc = -1;
    uint64_t end = e2e_now_ms() + 30000;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            break;
        }
        if ((r < 0 && errno != EINTR) || e2e_now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        e2e_sleep_ms(10);
    }
    if (out != NULL && cap > 0) {
        FILE *f = fopen(path, "rb");
        size_t n = f != NULL ? fread(out, 1, cap - 1, f) : 0;
        if (f != NULL)
            fclose(f);
        out[n] = '\0';
    }
    unlink(path);
    return rc;
}

/* A CA, and two server certificates for localhost and 127.0.0.1 that it
 * signed (serials 0x1001 and 0x1002, OU "cert 1" and "cert 2"); the first
 * pair is copied to server.pem and server.key, the files tipd reads. */
#define MAKE_CERTS                                                             \
    "set -e; umask 077; "                                                      \
    "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf; "        \
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "    \
    "-keyout ca.key -out ca.pem -days 2 -subj '/CN=tipd e2e CA' "              \
    "-set_serial 1; "                                                          \
    "for n in 1 2; do "                                                        \
    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "          \
    "-keyout s$n.key -out s$n.csr -subj \"/O=tipd e2e/OU=cert "                \
    "$n/CN=localhost\"; "                                                      \
    "openssl x509 -req -in s$n.csr -CA ca.pem -CAkey ca.key "                  \
    "-set_serial $((4096 + n)) -days 2 -extfile ext.cnf -out s$n.pem; "        \
    "done; cp s1.pem server.pem; cp s1.key server.key"

/* Makes the certificates and points the harness's clients at the CA. */
static int make_certs(struct e2e *e, char *ca, size_t cap)
{
    char out[4096];
    int rc = sh(e, MAKE_CERTS, out, sizeof(out));
    if (rc != 0) {
        FAIL("making the test certificates with openssl failed (%d):\n%s", rc,
             out);
        return -1;
    }
    snprintf(ca, cap, "%s/ca.pem", e->dir);
    e->tls_ca = ca;
    return 0;
}

/* s_client against tipd with extra options; its output to out. */
static int s_client(const struct e2e *e, const char *opts, char *out,
                    size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "openssl s_client -connect 127.0.0.1:%d -servername localhost "
             "-CAfile ca.pem -verify_return_error -brief %s </dev/null",
             e->port, opts);
    return sh(e, cmd, out, cap);
}

/* The serial and subject of the certificate tipd presents now. */
static int presented(const struct e2e *e, char *out, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "openssl s_client -connect 127.0.0.1:%d -servername localhost "
             "</dev/null 2>/dev/null | openssl x509 -noout -serial -subject",
             e->port);
    return sh(e, cmd, out, cap);
}

/* curl over HTTPS, verifying against the test CA; -w's text to out. */
static int curl(const struct e2e *e, const char *opts, const char *path,
                char *out, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "curl -sS --max-time 10 --cacert ca.pem --resolve "
             "localhost:%d:127.0.0.1 %s 'https://localhost:%d%s'",
             e->port, opts, e->port, path);
    return sh(e, cmd, out, cap);
}

#define FAILED_HANDSHAKES "tipd_tls_handshakes_total{result=\"failed\"}"
#define UNFINISHED_HANDSHAKES "tipd_tls_handshakes_total{result=\"unfinished\"}"

static void https_endpoint(struct e2e *e)
{
    char ca[320], out[8192], why[400];
    CHECK_INT(make_certs(e, ca, sizeof(ca)), 0);
    char cert_set[400], key_set[400];
    snprintf(cert_set, sizeof(cert_set), "tls_cert_file=%s/server.pem", e->dir);
    snprintf(key_set, sizeof(key_set), "tls_key_file=%s/server.key", e->dir);
    const char *const sets[] = {cert_set, key_set, "header_timeout_ms=1000",
                                "rate_limit_per_minute=0", NULL};
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0); /* /readyz over TLS */

    /* curl: a report stored, /healthz, HTTP/1.1 by ALPN, verified. */
    int rc = curl(e,
                  "-o report.json -w '%{http_code} %{http_version} "
                  "%{ssl_verify_result}' -H 'Content-Type: application/json' "
                  "-H 'Idempotency-Key: tls-e2e-1' "
                  "-d '{\"content\":\"TLS e2e report\",\"region\":\"410105\"}'",
                  "/api/v1/reports", out, sizeof(out));
    if (rc != 0 || strcmp(out, "201 1.1 0") != 0)
        FAIL("curl POST a report over HTTPS: exit %d, '%s'", rc, out);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE content = "
                            "'TLS e2e report'"),
              1);
    CHECK_INT(sh(e, "grep -c '\"receipt\"' report.json", out, sizeof(out)), 0);
    rc = curl(e, "-w ' %{http_code}'", "/healthz", out, sizeof(out));
    if (rc != 0 || strstr(out, " 200") == NULL)
        FAIL("curl GET /healthz over HTTPS: exit %d, '%s'", rc, out);
    /* The same URL without the CA: curl refuses tipd's certificate, so
     * the checks above did verify it. */
    char cmd[256];
    snprintf(cmd, sizeof(cmd),
             "curl -sS --max-time 10 --resolve localhost:%d:127.0.0.1 "
             "https://localhost:%d/healthz",
             e->port, e->port);
    rc = sh(e, cmd, out, sizeof(out));
    if (rc != 60) /* "SSL certificate problem" */
        FAIL("curl without the test CA: exit %d (want 60), '%s'", rc, out);

    /* s_client: TLS 1.2 with an ECDHE AEAD suite, TLS 1.3. */
    rc = s_client(e, "-tls1_2", out, sizeof(out));
    if (rc != 0 || strstr(out, "Protocol version: TLSv1.2") == NULL ||
        strstr(out, "Ciphersuite: ECDHE-ECDSA-AES") == NULL ||
        strstr(out, "GCM") == NULL || strstr(out, "Verification: OK") == NULL)
        FAIL("s_client -tls1_2: exit %d:\n%s", rc, out);
    rc = s_client(e, "-tls1_3", out, sizeof(out));
    if (rc != 0 || strstr(out, "Protocol version: TLSv1.3") == NULL ||
        strstr(out, "Verification: OK") == NULL)
        FAIL("s_client -tls1_3: exit %d:\n%s", rc, out);
    CHECK(!test_failed());

    /* Refused by tipd (the client offers them: security level 0): TLS
     * 1.1 and 1.0, a CBC suite without forward secrecy, ALPN h2 only.
     * Each counts as a failed handshake, so the ClientHello reached
     * tipd and was refused there. */
    struct {
        const char *opts, *alert;
    } refused[] = {
        {"-tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'", "alert protocol version"},
        {"-tls1 -cipher 'DEFAULT:@SECLEVEL=0'", "alert protocol version"},
        {"-tls1_2 -cipher 'AES128-SHA:@SECLEVEL=0'", "alert handshake failure"},
        {"-tls1_2 -cipher 'ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0'",
         "alert handshake failure"},
        {"-alpn h2", "alert no application protocol"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        long long before = e2e_metric(e, FAILED_HANDSHAKES);
        rc = s_client(e, refused[i].opts, out, sizeof(out));
        long long after = e2e_metric(e, FAILED_HANDSHAKES);
        if (rc == 0 || strstr(out, refused[i].alert) == NULL ||
            strstr(out, "CONNECTION ESTABLISHED") != NULL ||
            after != before + 1)
            FAIL("s_client %s: exit %d, failed handshakes %lld -> %lld "
                 "(want +1), want '%s':\n%s",
                 refused[i].opts, rc, before, after, refused[i].alert, out);
    }
    CHECK(!test_failed());

    /* Plain HTTP to the TLS port: closed at once, nothing HTTP back. */
    const char *plain = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    int fd = e2e_connect(e);
    CHECK(fd >= 0);
    struct e2e_reply r;
    e2e_reply_init(&r);
    e2e_send(fd, plain, strlen(plain));
    e2e_read(fd, &r, 0, 3000);
    close(fd);
    e2e_escape(r.data, r.len, why, sizeof(why));
    printf("plain HTTP on the TLS port: %zu bytes back ('%s'), %s after "
           "%llu ms\n",
           r.len, why,
           r.eof     ? "EOF"
           : r.reset ? "reset"
                     : "still open",
           (unsigned long long)r.ms);
    CHECK(r.eof || r.reset);
    CHECK(r.ms < 900); /* refused, not left to the header deadline */
    CHECK(strstr(r.data, "HTTP/") == NULL);
    e2e_reply_free(&r);

    /* A handshake that stalls (a record header and part of a ClientHello,
     * then nothing), and a connection that sends nothing: closed at the
     * header deadline (1 s) with nothing sent. */
    long long unfinished = e2e_metric(e, UNFINISHED_HANDSHAKES);
    static const char stall[] = "\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03";
    for (int silent = 0; silent < 2; silent++) {
        fd = e2e_connect(e);
        CHECK(fd >= 0);
        e2e_reply_init(&r);
        if (!silent)
            e2e_send(fd, stall, sizeof(stall) - 1);
        e2e_read(fd, &r, 0, 5000);
        close(fd);
        printf("stalled handshake (%s): %s after %llu ms, %zu bytes\n",
               silent ? "silent" : "partial ClientHello",
               r.eof     ? "EOF"
               : r.reset ? "reset"
                         : "still open",
               (unsigned long long)r.ms, r.len);
        CHECK(r.eof || r.reset);
        CHECK(r.ms >= 950 && r.ms <= 1400);
        CHECK_INT(r.len, 0);
        e2e_reply_free(&r);
    }
    CHECK(e2e_metric(e, UNFINISHED_HANDSHAKES) >= unfinished + 2);

    /* The handshake's time is part of the first header deadline: 600 ms
     * before the handshake, then a head that never ends gets its 408 at
     * 1 s from the connection, not at 1 s from its first byte. */
    fd = e2e_connect(e);
    CHECK(fd >= 0);
    uint64_t t0 = e2e_now_ms();
    e2e_sleep_ms(600);
    SSL *ssl = e2e_tls_start(e, fd);
    if (ssl == NULL) {
        close(fd);
        FAIL("TLS handshake after 600 ms of silence failed");
        return;
    }
    const char *part = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    SSL_write(ssl, part, (int)strlen(part));
    e2e_reply_init(&r);
    e2e_tls_read(ssl, &r, 0, 3000);
    uint64_t took = e2e_now_ms() - t0;
    e2e_tls_free(ssl);
    close(fd);
    printf("slow head after a handshake: %d after %llu ms from connect\n",
           r.count > 0 ? r.r[0].status : 0, (unsigned long long)took);
    if (!e2e_one_error(&r, (const int[]){408, 0}, why, sizeof(why)))
        FAIL("slow head over TLS: %s", why);
    CHECK(took >= 950 && took <= 1400);
    e2e_reply_free(&r);

    /* Keep-alive: three requests on one TLS connection, then tipd's
     * close_notify after Connection: close. */
    const char *three = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                        "Connection: close\r\n\r\n";
    e2e_reply_init(&r);
    CHECK_INT(e2e_exchange(e, three, strlen(three), 0, 5000, &r), 0);
    CHECK_INT(r.count, 3);
    CHECK_INT(r.r[0].status, 200);
    CHECK_INT(r.r[1].status, 200);
    CHECK_INT(r.r[2].status, 200);
    CHECK(r.eof && !r.reset);
    e2e_reply_free(&r);

    CHECK(e2e_metric(e, "tipd_tls_handshakes_total{result=\"ok\"}") >= 5);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_tls_https_endpoint(void)
{
    struct e2e e;
    if (e2e_init(&e, "tls_https_endpoint") == 0)
        https_endpoint(&e);
    e2e_cleanup(&e);
}

static bool log_has(const struct e2e *e, const char *text)
{
    static char log[1 << 18];
    FILE *f = fopen(e->log, "rb");
    size_t n = f != NULL ? fread(log, 1, sizeof(log) - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    log[n] = '\0';
    return strstr(log, text) != NULL;
}

#define RELOADS_OK "tipd_tls_reloads_total{result=\"ok\"}"
#define RELOADS_FAILED "tipd_tls_reloads_total{result=\"failed\"}"

static void certificate_reload(struct e2e *e)
{
    char ca[320], out[4096];
    CHECK_INT(make_certs(e, ca, sizeof(ca)), 0);
    char cert_set[400], key_set[400];
    snprintf(cert_set, sizeof(cert_set), "tls_cert_file=%s/server.pem", e->dir);
    snprintf(key_set, sizeof(key_set), "tls_key_file=%s/server.key", e->dir);
    const char *const sets[] = {cert_set, key_set, NULL};
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);

    CHECK_INT(presented(e, out, sizeof(out)), 0);
    if (strstr(out, "serial=1001") == NULL ||
        strstr(out, "OU = cert 1") == NULL)
        FAIL("first certificate: '%s'", out);
    CHECK(!test_failed());

    /* A keep-alive connection opened before the reload. */
    int fd = e2e_connect(e);
    CHECK(fd >= 0);
    SSL *old = e2e_tls_start(e, fd);
    if (old == NULL) {
        close(fd);
        FAIL("TLS handshake failed");
        return;
    }
    const char *get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    struct e2e_reply r;
    e2e_reply_init(&r);
    SSL_write(old, get, (int)strlen(get));
    e2e_tls_read(old, &r, 1, 5000);
    bool first_ok = r.count == 1 && r.r[0].status == 200;
    e2e_reply_free(&r);

    /* The second pair, put in place as an operator would (rename), then
     * SIGHUP: new connections get it. */
    int rc = sh(e,
                "cp s2.pem new.pem && cp s2.key new.key && mv new.key "
                "server.key && mv new.pem server.pem",
                out, sizeof(out));
    if (rc == 0) {
        kill(e->pid, SIGHUP);
        rc = e2e_wait_metric(e, RELOADS_OK, 1, 10000) == 1 ? 0 : -1;
    }
    if (rc == 0 && presented(e, out, sizeof(out)) == 0 &&
        (strstr(out, "serial=1002") == NULL ||
         strstr(out, "OU = cert 2") == NULL)) {
        FAIL("after SIGHUP, new connections see '%s', not serial 1002", out);
        rc = -1;
    }
    /* The connection made before keeps serving, on the first
     * certificate. */
    e2e_reply_init(&r);
    SSL_write(old, get, (int)strlen(get));
    e2e_tls_read(old, &r, 1, 5000);
    bool second_ok = r.count == 1 && r.r[0].status == 200;
    X509 *peer = SSL_get0_peer_certificate(old);
    long serial = peer ? ASN1_INTEGER_get(X509_get0_serialNumber(peer)) : -1;
    e2e_reply_free(&r);
    e2e_tls_free(old);
    close(fd);
    CHECK_INT(rc, 0);
    CHECK(first_ok);
    CHECK(second_ok);
    CHECK_INT(serial, 4097);
    CHECK(log_has(e, "event=tls_reloaded"));
    CHECK(log_has(e, "serial=1002"));

    /* A broken key: refused, logged with the file and the reason; tipd
     * keeps serving the second certificate. */
    CHECK_INT(sh(e, "printf 'not a key\\n' > server.key", out, sizeof(out)), 0);
    kill(e->pid, SIGHUP);
    CHECK_INT(e2e_wait_metric(e, RELOADS_FAILED, 1, 10000), 1);
    CHECK(log_has(e, "event=tls_reload_refused"));
    char text[400];
    snprintf(text, sizeof(text),
             "tls_key_file %s/server.key: cannot read an unencrypted PEM "
             "private key",
             e->dir);
    if (!log_has(e, text))
        FAIL("the log does not say '%s'", text);
    CHECK_INT(presented(e, out, sizeof(out)), 0);
    CHECK(strstr(out, "serial=1002") != NULL);
    rc = curl(e, "-w ' %{http_code}'", "/healthz", out, sizeof(out));
    if (rc != 0 || strstr(out, " 200") == NULL)
        FAIL("curl after a refused reload: exit %d, '%s'", rc, out);

    /* The first certificate's key with the second certificate: refused
     * as a key of another certificate. */
    CHECK_INT(sh(e, "cp s1.key server.key", out, sizeof(out)), 0);
    kill(e->pid, SIGHUP);
    CHECK_INT(e2e_wait_metric(e, RELOADS_FAILED, 2, 10000), 2);
    CHECK(log_has(e, "server.key is not the key of tls_cert_file"));
    CHECK_INT(e2e_metric(e, RELOADS_OK), 1);
    CHECK_INT(presented(e, out, sizeof(out)), 0);
    CHECK(strstr(out, "serial=1002") != NULL);
    CHECK(e2e_alive(e));
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_tls_certificate_reload_on_sighup(void)
{
    struct e2e e;
    if (e2e_init(&e, "tls_certificate_reload_on_sighup") == 0)
        certificate_reload(&e);
    e2e_cleanup(&e);
}
