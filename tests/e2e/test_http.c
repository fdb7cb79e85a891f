/*
 * e2e HTTP: the operational routes, malformed and hostile requests
 * (spec/reliability.md C1) and the size limits (C4), over real sockets
 * against a running tipd.
 *
 * The hostile requests are a table of named vectors. Each is sent on a new
 * connection followed by a canary request; tipd must answer the vector
 * once with an error and close, and never answer the canary. Each vector
 * runs twice: with the canary in the same write (already buffered when
 * the vector is judged) and with the canary sent after the answer.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"

#define HEALTHZ_200 "tipd_http_requests_total{route=\"healthz\",status=\"200\"}"

/* The JSON body of r has "status": want. */
static bool json_status_is(const struct http_client_response *r,
                           const char *want)
{
    cJSON *root = cJSON_ParseWithLength(r->body, r->body_len);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "status");
    bool ok = cJSON_IsString(s) && strcmp(s->valuestring, want) == 0;
    cJSON_Delete(root);
    return ok;
}

/* The response head of a HEAD request: status, Content-Length, and
 * whether any byte followed the head. */
static void check_head_response(const struct e2e_reply *r, size_t want_length)
{
    const char *end = strstr(r->data, "\r\n\r\n");
    CHECK(end != NULL);
    CHECK(strncmp(r->data, "HTTP/1.1 200 ", 13) == 0);
    size_t head_len = (size_t)(end - r->data) + 4;
    CHECK_INT(r->len, head_len); /* no body */
    const char *cl = strstr(r->data, "\r\nContent-Length: ");
    CHECK(cl != NULL && cl < end);
    CHECK_INT(strtol(cl + 18, NULL, 10), (long)want_length);
    const char *ct = strstr(r->data, "\r\nContent-Type: application/json\r\n");
    CHECK(ct != NULL && ct < end);
}

static void serve_health_ready_metrics(struct e2e *e)
{
    struct e2e_reply r;
    char v[128];
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, NULL), 0);
    /* Start-up polled /readyz and /metrics only. */
    CHECK_INT(e2e_metric(e, HEALTHZ_200), 0);

    e2e_reply_init(&r);
    CHECK_INT(e2e_get(e, "/healthz", &r), 200);
    CHECK(http_client_header(&r.r[0], "Content-Type", v, sizeof(v)));
    CHECK_STR(v, "application/json");
    CHECK(json_status_is(&r.r[0], "ok"));
    CHECK(r.eof); /* we asked for Connection: close */
    size_t healthz_len = r.r[0].body_len;
    e2e_reply_free(&r);

    e2e_reply_init(&r);
    CHECK_INT(e2e_get(e, "/readyz", &r), 200);
    CHECK(http_client_header(&r.r[0], "Content-Type", v, sizeof(v)));
    CHECK_STR(v, "application/json");
    CHECK(json_status_is(&r.r[0], "ready"));
    e2e_reply_free(&r);

    /* HEAD: the GET's headers, no body, then the close we asked for. */
    static const char head[] =
        "HEAD /healthz HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n\r\n";
    e2e_reply_init(&r);
    CHECK_INT(e2e_exchange(e, head, sizeof(head) - 1, 0, 5000, &r), 0);
    CHECK(r.eof);
    check_head_response(&r, healthz_len);
    e2e_reply_free(&r);
    if (test_failed())
        return;

    /* Keep-alive: two requests on one connection, both answered. */
    static const char two[] = "GET /healthz HTTP/1.1\r\nHost: e2e\r\n\r\n"
                              "GET /nope HTTP/1.1\r\nHost: e2e\r\n\r\n";
    e2e_reply_init(&r);
    CHECK_INT(e2e_exchange(e, two, sizeof(two) - 1, 2, 5000, &r), 0);
    CHECK_INT(r.count, 2);
    CHECK_INT(r.r[0].status, 200);
    CHECK_INT(r.r[1].status, 404);
    CHECK(e2e_json_error(&r.r[1], v, sizeof(v)));
    CHECK(!r.eof);
    e2e_reply_free(&r);

    /* A known path with the wrong method: 405 in the error format. */
    static const char post[] = "POST /readyz HTTP/1.1\r\nHost: e2e\r\n"
                               "Connection: close\r\n\r\n";
    e2e_reply_init(&r);
    CHECK_INT(e2e_exchange(e, post, sizeof(post) - 1, 0, 5000, &r), 0);
    CHECK_INT(r.count, 1);
    CHECK_INT(r.r[0].status, 405);
    CHECK(e2e_json_error(&r.r[0], v, sizeof(v)));
    e2e_reply_free(&r);

    /* /metrics: Prometheus text counting the healthz answers so far
     * (the GET, the HEAD and the keep-alive GET). */
    e2e_reply_init(&r);
    CHECK_INT(e2e_get(e, "/metrics", &r), 200);
    CHECK(http_client_header(&r.r[0], "Content-Type", v, sizeof(v)));
    CHECK_STR(v, "text/plain; version=0.0.4; charset=utf-8");
    CHECK(strstr(r.r[0].body, "# TYPE tipd_http_requests_total counter\n") !=
          NULL);
    CHECK(strstr(r.r[0].body, HEALTHZ_200 " 3\n") != NULL);
    CHECK(strstr(r.r[0].body,
                 "tipd_http_requests_total{route=\"none\",status=\"404\"} "
                 "1\n") != NULL);
    e2e_reply_free(&r);
    CHECK_INT(e2e_metric(e, "tipd_workers"), 2);

    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_serve_health_ready_metrics(void)
{
    struct e2e e;
    if (e2e_init(&e, "serve_health_ready_metrics") == 0)
        serve_health_ready_metrics(&e);
    e2e_cleanup(&e);
}

/* --- malformed requests ------------------------------------------------- */

struct vector {
    const char *name;
    const char *bytes;
    size_t len;
};

#define V(name, lit)                                                           \
    {                                                                          \
        name, lit, sizeof(lit) - 1                                             \
    }

static const struct vector garbage[] = {
    V("TLS ClientHello", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\x5e"
                         "\x1a\x2b\x3c\x4d\x00\x00\x02\x13\x01\x01\x00"),
    V("words", "GARBAGE\r\n\r\n"),
    V("header without colon",
      "GET /healthz HTTP/1.1\r\nHost: e2e\r\nBad Header\r\n\r\n"),
    V("high bytes", "\xff\xfe\xfd\xfc\xfb\xfa\r\n\r\n"),
    V("SSH banner", "SSH-2.0-OpenSSH_9.2\r\n"),
};

static void malformed_request_keeps_serving(struct e2e *e)
{
    static const int c4xx[] = {400, 0};
    char why[400];
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, NULL), 0);
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        struct e2e_reply r;
        e2e_reply_init(&r);
        CHECK_INT(
            e2e_exchange(e, garbage[i].bytes, garbage[i].len, 0, 5000, &r), 0);
        bool ok = e2e_one_error(&r, c4xx, why, sizeof(why));
        e2e_reply_free(&r);
        if (!ok) {
            test_failf(__FILE__, __LINE__, "garbage '%s': %s", garbage[i].name,
                       why);
            return;
        }
        /* A new connection is served as if nothing happened. */
        e2e_reply_init(&r);
        int status = e2e_get(e, "/healthz", &r);
        e2e_reply_free(&r);
        if (status != 200) {
            test_failf(__FILE__, __LINE__,
                       "after garbage '%s', /healthz answered %d",
                       garbage[i].name, status);
            return;
        }
    }
    CHECK(e2e_alive(e));
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_malformed_request_keeps_serving(void)
{
    struct e2e e;
    if (e2e_init(&e, "malformed_request_keeps_serving") == 0)
        malformed_request_keeps_serving(&e);
    e2e_cleanup(&e);
}

/* --- the smuggling corpus (C1) ------------------------------------------ */

#define H "Host: x\r\n"
#define CHUNKED "Transfer-Encoding: chunked\r\n"
#define RPT                                                                    \
    "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n"                             \
    "Content-Type: application/json\r\n"
#define REPORT "{\"content\":\"smuggled!\"}"

/* GET /healthz takes no body (cap 0) but exists, so a chunked body that
 * is empty reaches the chunk parser; POST /healthz would be refused at
 * routing (405) before any framing is looked at. */
static const struct vector corpus[] = {
    V("CL+TE", "POST /healthz HTTP/1.1\r\n" H "Content-Length: 5\r\n" CHUNKED
               "\r\n0\r\n\r\n"),
    V("TE+CL", "POST /healthz HTTP/1.1\r\n" H CHUNKED "Content-Length: 5\r\n"
               "\r\n0\r\n\r\n"),
    V("CL+TE on a route that exists",
      "GET /healthz HTTP/1.1\r\n" H "Content-Length: 5\r\n" CHUNKED
      "\r\n0\r\n\r\n"),
    V("duplicate Content-Length", "POST /healthz HTTP/1.1\r\n" H
                                  "Content-Length: 5\r\nContent-Length: 5\r\n"
                                  "\r\nhello"),
    V("conflicting Content-Length",
      "GET /healthz HTTP/1.1\r\n" H "Content-Length: 0\r\n"
      "Content-Length: 5\r\n\r\nhello"),
    V("list Content-Length",
      "POST /healthz HTTP/1.1\r\n" H "Content-Length: 5, 5\r\n\r\nhello"),
    V("list Content-Length 0, 5",
      "GET /healthz HTTP/1.1\r\n" H "Content-Length: 0, 5\r\n\r\nhello"),
    V("Content-Length with sign",
      "GET /healthz HTTP/1.1\r\n" H "Content-Length: +0\r\n\r\n"),
    V("negative Content-Length",
      "GET /healthz HTTP/1.1\r\n" H "Content-Length: -1\r\n\r\n"),
    V("hex Content-Length",
      "GET /healthz HTTP/1.1\r\n" H "Content-Length: 0x0\r\n\r\n"),
    V("Content-Length overflow",
      "GET /healthz HTTP/1.1\r\n" H "Content-Length: 184467440737095516160\r\n"
      "\r\n"),
    V("Content-Length space before colon",
      "GET /healthz HTTP/1.1\r\n" H "Content-Length : 5\r\n\r\nhello"),
    V("TE 'chunked ' with CL",
      "POST /healthz HTTP/1.1\r\n" H "Transfer-Encoding: chunked \r\n"
      "Content-Length: 5\r\n\r\n0\r\n\r\n"),
    V("TE 'chunked\\t' with CL",
      "POST /healthz HTTP/1.1\r\n" H "Transfer-Encoding: chunked\t\r\n"
      "Content-Length: 5\r\n\r\n0\r\n\r\n"),
    V("TE ' chunked' with CL",
      "GET /healthz HTTP/1.1\r\n" H "Transfer-Encoding:  \t chunked\r\n"
      "Content-Length: 5\r\n\r\n0\r\n\r\n"),
    V("TE xchunked",
      "GET /healthz HTTP/1.1\r\n" H "Transfer-Encoding: xchunked\r\n"
      "\r\n0\r\n\r\n"),
    V("TE chunkedx",
      "GET /healthz HTTP/1.1\r\n" H "Transfer-Encoding: chunkedx\r\n"
      "\r\n0\r\n\r\n"),
    V("TE 'chunked, identity'",
      "GET /healthz HTTP/1.1\r\n" H "Transfer-Encoding: chunked, identity\r\n"
      "\r\n0\r\n\r\n"),
    V("TE 'identity, chunked'",
      "GET /healthz HTTP/1.1\r\n" H "Transfer-Encoding: identity, chunked\r\n"
      "\r\n0\r\n\r\n"),
    V("TE quoted", "GET /healthz HTTP/1.1\r\n" H
                   "Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n"),
    V("TE twice",
      "GET /healthz HTTP/1.1\r\n" H CHUNKED CHUNKED "\r\n0\r\n\r\n"),
    V("TE then TE identity", "GET /healthz HTTP/1.1\r\n" H CHUNKED
                             "Transfer-Encoding: identity\r\n\r\n0\r\n\r\n"),
    V("Transfer-Encoding : chunked",
      "GET /healthz HTTP/1.1\r\n" H "Transfer-Encoding : chunked\r\n"
      "\r\n0\r\n\r\n"),
    V("Transfer-Encoding:\\x0bchunked",
      "GET /healthz HTTP/1.1\r\n" H "Transfer-Encoding:\x0b"
      "chunked\r\n\r\n0\r\n\r\n"),
    V("Transfer-Encoding:\\x0cchunked",
      "GET /healthz HTTP/1.1\r\n" H "Transfer-Encoding:\x0c"
      "chunked\r\n\r\n0\r\n\r\n"),
    V("obs-fold", "GET /healthz HTTP/1.1\r\n" H "X-A: a\r\n b\r\n\r\n"),
    V("obs-fold of TE", "GET /healthz HTTP/1.1\r\n" H "Transfer-Encoding:\r\n"
                        " chunked\r\n\r\n0\r\n\r\n"),
    V("obs-fold with tab",
      "GET /healthz HTTP/1.1\r\n" H "X-A: a\r\n\tb\r\n\r\n"),
    V("value ended by a bare CR",
      "GET /healthz HTTP/1.1\r\n" H "X-A: a\rTransfer-Encoding: chunked\r\n"
      "\r\n0\r\n\r\n"),
    V("bare CR ending the request line", "GET /healthz HTTP/1.1\r" H "\r\n"),
    V("empty header name", "GET /healthz HTTP/1.1\r\n" H ": x\r\n\r\n"),
    V("space in header name", "GET /healthz HTTP/1.1\r\n" H "X A: b\r\n\r\n"),
    V("two Host", "GET /healthz HTTP/1.1\r\n" H "Host: y\r\n\r\n"),
    V("two Host, same value", "GET /healthz HTTP/1.1\r\n" H H "\r\n"),
    V("no Host (HTTP/1.1)", "GET /healthz HTTP/1.1\r\n\r\n"),
    V("HTTP/0.9 with headers", "GET /healthz\r\n" H "\r\n"),
    V("HTTP/1.0 with Transfer-Encoding",
      "POST /healthz HTTP/1.0\r\n" CHUNKED "\r\n0\r\n\r\n"),
    V("HTTP/1.0 GET with Transfer-Encoding",
      "GET /healthz HTTP/1.0\r\n" CHUNKED "\r\n0\r\n\r\n"),
    V("HTTP/1.2", "GET /healthz HTTP/1.2\r\n" H "\r\n"),
    V("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    V("bare LF line ends", "GET /healthz HTTP/1.1\n" H "\n"),
    V("bare LF after the request line", "GET /healthz HTTP/1.1\n" H "\r\n"),
    V("bare LF ending a header",
      "GET /healthz HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n"),
    V("bare LF ending the head", "GET /healthz HTTP/1.1\r\n" H "\n"),
    V("NUL in a header value",
      "GET /healthz HTTP/1.1\r\n" H "X-A: a\0b\r\n\r\n"),
    V("NUL in the target", "GET /heal\0thz HTTP/1.1\r\n" H "\r\n"),
    V("NUL in a header name", "GET /healthz HTTP/1.1\r\n" H "X\0A: b\r\n\r\n"),
    V("SOH in a header value",
      "GET /healthz HTTP/1.1\r\n" H "X-A: a\x01b\r\n\r\n"),
    V("ESC in a header value",
      "GET /healthz HTTP/1.1\r\n" H "X-A: \x1b[31m\r\n\r\n"),
    V("DEL in a header value",
      "GET /healthz HTTP/1.1\r\n" H "X-A: a\x7f\r\n\r\n"),
    V("CTL in the request line", "GET /healthz\x01 HTTP/1.1\r\n" H "\r\n"),
    V("tab in the request line", "GET\t/healthz HTTP/1.1\r\n" H "\r\n"),
    V("space in the target", "GET /a b HTTP/1.1\r\n" H "\r\n"),
    V("lower-case method", "get /healthz HTTP/1.1\r\n" H "\r\n"),
    V("chunk-size overflow", "GET /healthz HTTP/1.1\r\n" H CHUNKED
                             "\r\nffffffffffffffffff\r\nx\r\n0\r\n\r\n"),
    V("chunk-size 2^64", "GET /healthz HTTP/1.1\r\n" H CHUNKED
                         "\r\n10000000000000000\r\n\r\n0\r\n\r\n"),
    V("chunk-size junk",
      "GET /healthz HTTP/1.1\r\n" H CHUNKED "\r\n0z\r\n\r\n"),
    V("chunk-size negative",
      "GET /healthz HTTP/1.1\r\n" H CHUNKED "\r\n-0\r\n\r\n"),
    V("last chunk with bare LF",
      "GET /healthz HTTP/1.1\r\n" H CHUNKED "\r\n0\n\r\n"),
    V("trailer carrying Host",
      "GET /healthz HTTP/1.1\r\n" H CHUNKED "\r\n0\r\nHost: y\r\n\r\n"),
    V("trailer carrying Content-Length",
      "GET /healthz HTTP/1.1\r\n" H CHUNKED "\r\n0\r\nContent-Length: 5\r\n"
      "\r\nhello"),
    V("trailer carrying Transfer-Encoding",
      "GET /healthz HTTP/1.1\r\n" H CHUNKED "\r\n0\r\n" CHUNKED "\r\n"),
    V("chunk data over the cap",
      "GET /healthz HTTP/1.1\r\n" H CHUNKED "\r\n1\r\nx\r\n0\r\n\r\n"),
    V("protocol upgrade", "GET /healthz HTTP/1.1\r\n" H
                          "Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n"),
    V("CONNECT", "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n"),
    /* The report route takes bodies: a vector that slipped through would
     * store a report, which the test counts. 0x17 = 23 bytes = REPORT. */
    V("report: CL+TE", RPT "Content-Length: 23\r\n" CHUNKED "\r\n" REPORT),
    V("report: TE+CL", RPT CHUNKED "Content-Length: 5\r\n\r\n"
                                   "17\r\n" REPORT "\r\n0\r\n\r\n"),
    V("report: duplicate Content-Length",
      RPT "Content-Length: 23\r\nContent-Length: 23\r\n\r\n" REPORT),
    V("report: list Content-Length",
      RPT "Content-Length: 23, 23\r\n\r\n" REPORT),
    V("report: TE 'chunked ' with CL",
      RPT "Transfer-Encoding: chunked \r\nContent-Length: 23\r\n\r\n" REPORT),
    V("report: TE xchunked",
      RPT "Transfer-Encoding: xchunked\r\n\r\n17\r\n" REPORT "\r\n0\r\n\r\n"),
    V("report: obs-fold",
      RPT "Content-Length: 23\r\nX-A: a\r\n b\r\n\r\n" REPORT),
    V("report: bare CR",
      RPT "Content-Length: 23\r\nX-A: a\rX-B: b\r\n\r\n" REPORT),
    V("report: no Host", "POST /api/v1/reports HTTP/1.1\r\n"
                         "Content-Type: application/json\r\n"
                         "Content-Length: 23\r\n\r\n" REPORT),
    V("report: two Host", RPT H "Content-Length: 23\r\n\r\n" REPORT),
    V("report: bare LF", "POST /api/v1/reports HTTP/1.1\nHost: x\n"
                         "Content-Type: application/json\n"
                         "Content-Length: 23\n\n" REPORT),
    V("report: NUL in a header",
      RPT "X-A: \0\r\nContent-Length: 23\r\n\r\n" REPORT),
    V("report: HTTP/1.0 with Transfer-Encoding",
      "POST /api/v1/reports HTTP/1.0\r\nContent-Type: "
      "application/json\r\n" CHUNKED "\r\n17\r\n" REPORT "\r\n0\r\n\r\n"),
    V("report: trailer carrying Host",
      RPT CHUNKED "\r\n17\r\n" REPORT "\r\n0\r\nHost: y\r\n\r\n"),
    V("report: trailer carrying Content-Length",
      RPT CHUNKED "\r\n17\r\n" REPORT "\r\n0\r\nContent-Length: 0\r\n\r\n"),
    V("report: chunk longer than its size",
      RPT CHUNKED "\r\n16\r\n" REPORT "\r\n0\r\n\r\n"),
    V("report: chunk data without CRLF",
      RPT CHUNKED "\r\n17\r\n" REPORT "0\r\n\r\n"),
    V("report: chunk-size overflow",
      RPT CHUNKED "\r\nffffffffffffffffff17\r\n" REPORT "\r\n0\r\n\r\n"),
    V("report: chunk size line ended by bare LF",
      RPT CHUNKED "\r\n17\n" REPORT "\r\n0\r\n\r\n"),
    V("report: chunk data ended by bare LF",
      RPT CHUNKED "\r\n17\r\n" REPORT "\n0\r\n\r\n"),
    V("report: smuggled after conflicting lengths",
      "GET /healthz HTTP/1.1\r\n" H "Content-Length: 0\r\n"
      "Content-Length: 117\r\n\r\n" RPT "Content-Length: 23\r\n\r\n" REPORT),
    V("report: pipelined after a bad one",
      "GET /healthz HTTP/1.1\r\n" H "X-A: a\rb\r\n\r\n" RPT
      "Content-Length: 23\r\n\r\n" REPORT),
    V("valid request pipelined after a bad one",
      "GET /healthz HTTP/1.1\r\n" H "X-A: a\rb\r\n\r\n"
      "GET /readyz HTTP/1.1\r\n" H "\r\n"),
    V("valid request pipelined after conflicting lengths",
      "GET /healthz HTTP/1.1\r\n" H "Content-Length: 0\r\n"
      "Content-Length: 38\r\n\r\n"
      "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"),
};

static const char canary[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

/* One vector on one connection; true if tipd held the rule. */
static bool run_vector(struct e2e *e, const struct vector *v, bool together,
                       char *why, size_t cap)
{
    static const int allowed[] = {400, 413, 414, 431, 501, 0};
    int fd = e2e_connect(e);
    if (fd < 0) {
        snprintf(why, cap, "cannot connect");
        return false;
    }
    struct e2e_reply r;
    e2e_reply_init(&r);
    if (together) {
        char buf[1024];
        if (v->len + sizeof(canary) > sizeof(buf)) {
            snprintf(why, cap, "vector too long for the test's buffer");
            close(fd);
            return false;
        }
        memcpy(buf, v->bytes, v->len);
        memcpy(buf + v->len, canary, sizeof(canary) - 1);
        e2e_send(fd, buf, v->len + sizeof(canary) - 1);
    } else {
        e2e_send(fd, v->bytes, v->len);
        e2e_read(fd, &r, 1, 3000);
        e2e_send(fd, canary, sizeof(canary) - 1); /* may fail: closed */
    }
    e2e_read(fd, &r, 0, 3000);
    close(fd);
    bool ok = e2e_one_error(&r, allowed, why, cap);
    e2e_reply_free(&r);
    return ok;
}

static void smuggling_corpus(struct e2e *e)
{
    /* Every vector comes from one address: no rate limit here (a 429
     * would hide what the framing rules do). */
    static const char *const sets[] = {"rate_limit_per_minute=0", NULL};
    char why[400];
    struct e2e_reply r;
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);

    /* The control: the canary alone is answered, and counted. */
    long long before = e2e_metric(e, HEALTHZ_200);
    e2e_reply_init(&r);
    CHECK_INT(e2e_exchange(e, canary, sizeof(canary) - 1, 1, 5000, &r), 0);
    CHECK_INT(r.count, 1);
    CHECK_INT(r.r[0].status, 200);
    e2e_reply_free(&r);
    CHECK_INT(e2e_metric(e, HEALTHZ_200), before + 1);
    before++;
    /* And a report sent plainly is stored: the route can store one. */
    static const char report[] = RPT "Content-Length: 23\r\n\r\n" REPORT;
    e2e_reply_init(&r);
    CHECK_INT(e2e_exchange(e, report, sizeof(report) - 1, 1, 5000, &r), 0);
    CHECK_INT(r.count, 1);
    CHECK_INT(r.r[0].status, 201);
    e2e_reply_free(&r);

    int failures = 0;
    size_t n = sizeof(corpus) / sizeof(corpus[0]);
    for (size_t i = 0; i < n && failures < 8; i++) {
        for (int mode = 0; mode < 2; mode++) {
            if (run_vector(e, &corpus[i], mode == 0, why, sizeof(why)))
                continue;
            failures++;
            test_failf(__FILE__, __LINE__, "vector '%s' (canary %s): %s",
                       corpus[i].name,
                       mode == 0 ? "in the same write" : "sent after", why);
        }
    }

    if (failures >= 8) /* a broken tipd: stay within the ctest timeout */
        test_failf(__FILE__, __LINE__, "stopped after %d failed vectors",
                   failures);

    /* No canary reached the handler, nothing was stored, and tipd still
     * serves. */
    long long after = e2e_metric(e, HEALTHZ_200);
    if (after != before)
        test_failf(__FILE__, __LINE__,
                   "/healthz was answered 200 %lld times during the corpus",
                   after - before);
    char v[64];
    CHECK_INT(e2e_sql(e, false, "SELECT count(*) FROM reports", v, sizeof(v)),
              0);
    CHECK_STR(v, "1"); /* the control's */
    CHECK(e2e_alive(e));
    e2e_reply_init(&r);
    CHECK_INT(e2e_get(e, "/healthz", &r), 200);
    e2e_reply_free(&r);
    printf("smuggling corpus: %zu vectors x 2, %d failed\n", n, failures);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_smuggling_corpus(void)
{
    struct e2e e;
    if (e2e_init(&e, "smuggling_corpus") == 0)
        smuggling_corpus(&e);
    e2e_cleanup(&e);
}

/* --- limits (C4) -------------------------------------------------------- */

#define LIM_LINE 128
#define LIM_HEADER 128
#define LIM_COUNT 8
#define LIM_HEAD 512
#define LIM_BODY 1024

/*
 * A report request whose body is a valid report of exactly len bytes,
 * with Content-Length or in chunks of at most 300 bytes (then the last
 * chunk). Writes it into out; returns its length.
 */
static size_t body_request(char *out, char *body, size_t len, bool chunked)
{
    size_t fixed = strlen("{\"content\":\"\"}");
    memcpy(body, "{\"content\":\"", 12);
    memset(body + 12, 'x', len - fixed);
    memcpy(body + 12 + (len - fixed), "\"}", 2);
    size_t n;
    if (!chunked) {
        n = (size_t)snprintf(out, 256, RPT "Content-Length: %zu\r\n\r\n", len);
        memcpy(out + n, body, len);
        return n + len;
    }
    n = (size_t)snprintf(out, 256, RPT CHUNKED "\r\n");
    for (size_t off = 0; off < len; off += 300) {
        size_t k = len - off < 300 ? len - off : 300;
        n += (size_t)snprintf(out + n, 16, "%zx\r\n", k);
        memcpy(out + n, body + off, k);
        memcpy(out + n + k, "\r\n", 2);
        n += k + 2;
    }
    memcpy(out + n, "0\r\n\r\n", 5);
    return n + 5;
}

/* "GET /healthz?aaa HTTP/1.1" of exactly len bytes (without CRLF). */
static size_t request_line(char *out, size_t len)
{
    size_t fixed = strlen("GET /healthz?") + strlen(" HTTP/1.1");
    size_t n = (size_t)snprintf(out, 64, "GET /healthz?");
    memset(out + n, 'a', len - fixed);
    n += len - fixed;
    n += (size_t)snprintf(out + n, 16, " HTTP/1.1\r\n");
    return n;
}

/* A header line "X-Fill-k: aaa" of exactly len bytes plus CRLF. */
static size_t fill_header(char *out, int k, size_t len)
{
    size_t n = (size_t)snprintf(out, 32, "X-Fill-%d: ", k);
    memset(out + n, 'a', len - n);
    memcpy(out + len, "\r\n", 2);
    return len + 2;
}

/* A GET /healthz head of exactly total bytes, Host plus fill headers. */
static size_t head_of(char *out, size_t total)
{
    size_t n = (size_t)snprintf(out, 64, "GET /healthz HTTP/1.1\r\n" H);
    size_t left = total - n - 2; /* the final CRLF */
    int lines = (int)((left + 99) / 100);
    for (int k = 0; k < lines; k++) {
        size_t each = left / (size_t)(lines - k);
        n += fill_header(out + n, k, each - 2);
        left -= each;
    }
    memcpy(out + n, "\r\n", 2);
    return n + 2;
}

/* Sends req on a new connection; wants one answer of status (2xx: and
 * the connection stays open; else the error format, then closed). */
static void expect_status(struct e2e *e, const char *what, const char *req,
                          size_t len, int status)
{
    struct e2e_reply r;
    char why[400];
    e2e_reply_init(&r);
    if (e2e_exchange(e, req, len, status < 300 ? 1 : 0, 5000, &r) != 0) {
        test_failf(__FILE__, __LINE__, "%s: cannot connect", what);
        return;
    }
    int codes[] = {status, 0};
    bool success = status < 300;
    bool ok = success ? r.count == 1 && r.r[0].status == status && !r.eof
                      : e2e_one_error(&r, codes, why, sizeof(why));
    if (!ok) {
        if (success)
            e2e_escape(r.data, r.len, why, sizeof(why));
        test_failf(__FILE__, __LINE__, "%s (%zu bytes): want %d: %s", what, len,
                   status, why);
    }
    e2e_reply_free(&r);
}

/*
 * The over-deep JSON body: 400 in the error format, "Connection: close",
 * and the connection closed (spec/reliability.md C4): a request sent after
 * it on the same connection is never answered.
 */
static void expect_json_400(struct e2e *e, const char *req, size_t len)
{
    static const char next[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    struct e2e_reply r;
    char why[200];
    int fd = e2e_connect(e);
    CHECK(fd >= 0);
    e2e_reply_init(&r);
    e2e_send(fd, req, len);
    e2e_send(fd, next, sizeof(next) - 1);
    e2e_read(fd, &r, 2, 5000);
    close(fd);
    bool ok = r.count == 1 && r.r[0].status == 400 &&
              e2e_json_error(&r.r[0], why, sizeof(why)) &&
              e2e_header_is(&r.r[0], "Connection", "close") && r.eof;
    e2e_escape(r.data, r.len, why, sizeof(why));
    e2e_reply_free(&r);
    if (!ok)
        test_failf(__FILE__, __LINE__, "JSON over the nesting limit: %s", why);
}

static void limits_exact_statuses(struct e2e *e)
{
    static const char *const sets[] = {
        "max_request_line_bytes=128", "max_header_line_bytes=128",
        "max_header_count=8",         "max_head_bytes=512",
        "max_body_bytes=1024",        "max_json_depth=2",
        "rate_limit_per_minute=0",    NULL};
    static char req[1 << 17];
    size_t n;
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);

    /* Request line: at the limit served, one byte more 414. */
    n = request_line(req, LIM_LINE);
    n += (size_t)snprintf(req + n, 32, H "\r\n");
    expect_status(e, "request line at the limit", req, n, 200);
    n = request_line(req, LIM_LINE + 1);
    n += (size_t)snprintf(req + n, 32, H "\r\n");
    expect_status(e, "request line over the limit", req, n, 414);

    /* One header line: at the limit served, one byte more 431. */
    n = (size_t)snprintf(req, 64, "GET /healthz HTTP/1.1\r\n" H);
    n += fill_header(req + n, 0, LIM_HEADER);
    memcpy(req + n, "\r\n", 2);
    expect_status(e, "header line at the limit", req, n + 2, 200);
    n = (size_t)snprintf(req, 64, "GET /healthz HTTP/1.1\r\n" H);
    n += fill_header(req + n, 0, LIM_HEADER + 1);
    memcpy(req + n, "\r\n", 2);
    expect_status(e, "header line over the limit", req, n + 2, 431);

    /* Header count: Host and 7 more served, 8 more 431. */
    for (int extra = LIM_COUNT - 1; extra <= LIM_COUNT; extra++) {
        n = (size_t)snprintf(req, 64, "GET /healthz HTTP/1.1\r\n" H);
        for (int k = 0; k < extra; k++)
            n += fill_header(req + n, k, 12);
        memcpy(req + n, "\r\n", 2);
        expect_status(e,
                      extra == LIM_COUNT - 1 ? "header count at the limit"
                                             : "header count over the limit",
                      req, n + 2, extra == LIM_COUNT - 1 ? 200 : 431);
    }

    /* The whole head: at the limit served, one byte more 431. */
    n = head_of(req, LIM_HEAD);
    CHECK_INT(n, LIM_HEAD);
    expect_status(e, "head at the limit", req, n, 200);
    n = head_of(req, LIM_HEAD + 1);
    CHECK_INT(n, LIM_HEAD + 1);
    expect_status(e, "head over the limit", req, n, 431);

    /* Floods: an endless request line, an endless header. */
    n = (size_t)snprintf(req, 16, "GET /");
    memset(req + n, 'a', 65536);
    expect_status(e, "request line flood", req, n + 65536, 414);
    n = (size_t)snprintf(req, 64, "GET /healthz HTTP/1.1\r\n" H "X-A: ");
    memset(req + n, 'a', 65536);
    expect_status(e, "header flood", req, n + 65536, 431);
    n = (size_t)snprintf(req, 64, "GET /healthz HTTP/1.1\r\n" H);
    for (int k = 0; k < 4000; k++)
        n += (size_t)snprintf(req + n, 16, "X-%d: a\r\n", k);
    expect_status(e, "header count flood", req, n, 431);

    /* Bodies, on the report route (its own cap is above max_body_bytes,
     * 1024). Content-Length at the cap is served; one byte more is refused
     * from the head, before a byte of the body is sent. */
    static char body[2048];
    n = body_request(req, body, LIM_BODY, false);
    expect_status(e, "Content-Length body at the cap", req, n, 201);
    n = body_request(req, body, LIM_BODY + 1, false);
    expect_status(e, "Content-Length body over the cap (head only)", req,
                  n - (LIM_BODY + 1), 413);
    /* Chunked: at the cap served; one byte more refused at that byte,
     * before the last chunk is sent. */
    n = body_request(req, body, LIM_BODY, true);
    expect_status(e, "chunked body at the cap", req, n, 201);
    n = body_request(req, body, LIM_BODY + 1, true);
    expect_status(e, "chunked body over the cap (no last chunk)", req,
                  n - strlen("0\r\n\r\n"), 413);
    /* A route that takes no body: refused from its Content-Length. */
    static const char cl[] =
        "GET /healthz HTTP/1.1\r\n" H "Content-Length: 100000\r\n\r\n";
    expect_status(e, "Content-Length on a route without a body", cl,
                  sizeof(cl) - 1, 413);
    static const char ch[] =
        "GET /healthz HTTP/1.1\r\n" H CHUNKED "\r\n5\r\nhello\r\n";
    expect_status(e, "chunked body on a route without a body", ch,
                  sizeof(ch) - 1, 413);

    /* JSON nesting: at max_json_depth stored, one deeper 400. */
    static const char deep2[] =
        "{\"content\":\"x\",\"accused\":{\"name\":\"a\"}}";
    static const char deep3[] =
        "{\"content\":\"x\",\"accused\":{\"name\":[\"a\"]}}";
    n = (size_t)snprintf(req, 512, RPT "Content-Length: %zu\r\n\r\n%s",
                         strlen(deep2), deep2);
    expect_status(e, "JSON at the nesting limit", req, n, 201);
    n = (size_t)snprintf(req, 512, RPT "Content-Length: %zu\r\n\r\n%s",
                         strlen(deep3), deep3);
    expect_json_400(e, req, n);

    /* The three at their limits were stored, nothing refused was. */
    char v[32];
    CHECK_INT(e2e_sql(e, false, "SELECT count(*) FROM reports", v, sizeof(v)),
              0);
    CHECK_STR(v, "3");

    /* Still serving. */
    struct e2e_reply r;
    e2e_reply_init(&r);
    CHECK_INT(e2e_get(e, "/healthz", &r), 200);
    e2e_reply_free(&r);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_limits_exact_statuses(void)
{
    struct e2e e;
    if (e2e_init(&e, "limits_exact_statuses") == 0)
        limits_exact_statuses(&e);
    e2e_cleanup(&e);
}
