/*
 * Loopback tests: raw bytes through the real http_conn, http_parse,
 * headscan and router code over the fake transport.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "http_client.h"
#include "test.h"

#define MAXR 16

static int responses(struct fake *f, struct http_client_response *r)
{
    return http_client_parse(f->out.data ? f->out.data : "", f->out.len, r,
                             MAXR, NULL);
}

void test_conn_keepalive_and_pipelining(void)
{
    struct fake f;
    struct http_client_response r[MAXR];
    char v[64];

    fake_init(&f);
    fake_start(&f);
    /* Two pipelined requests in one write: two answers, in order. */
    fake_feeds(&f, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                   "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(responses(&f, r), 2);
    CHECK_INT(r[0].status, 200);
    CHECK(http_client_header(&r[0], "Content-Type", v, sizeof(v)));
    CHECK_STR(v, "application/json");
    CHECK_INT(r[1].status, 404); /* no body: the connection stays */
    CHECK(strstr(r[1].body, "\"code\":\"not_found\"") != NULL);
    CHECK(!f.closed);
    CHECK_INT(f.conn.state, HTTP_CONN_IDLE);

    /* Connection: close is honoured after the answer. */
    fake_feeds(&f, "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close"
                   "\r\n\r\n");
    CHECK_INT(responses(&f, r), 3);
    CHECK(http_client_header(&r[2], "Connection", v, sizeof(v)));
    CHECK_STR(v, "close");
    CHECK(f.shut);
    CHECK_INT(f.conn.state, HTTP_CONN_LINGER);
    fake_advance(&f, 600); /* linger ends */
    CHECK(f.closed);
    fake_cleanup(&f);

    /* HTTP/1.0 without keep-alive closes; HEAD has no body. */
    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "HEAD /healthz HTTP/1.0\r\n\r\n");
    CHECK_INT(responses(&f, r), 0); /* Content-Length but no body */
    CHECK(strstr(f.out.data, "HTTP/1.1 200 OK\r\n") == f.out.data);
    CHECK(strstr(f.out.data, "\r\n\r\n")[4] == '\0');
    CHECK(f.shut);
    fake_cleanup(&f);

    /* HTTP/1.0 asking for keep-alive is told it got it. */
    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    CHECK_INT(responses(&f, r), 1);
    CHECK(http_client_header(&r[0], "Connection", v, sizeof(v)));
    CHECK_STR(v, "keep-alive");
    CHECK(!f.shut);
    fake_cleanup(&f);

    /* 405 names the problem; a body on an unknown route closes. */
    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "POST /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(responses(&f, r), 1);
    CHECK_INT(r[0].status, 405);
    CHECK(http_client_header(&r[0], "Allow", v, sizeof(v)));
    CHECK_STR(v, "GET, HEAD"); /* RFC 9110: a 405 names what is allowed */
    CHECK(!f.shut);
    fake_feeds(&f, "POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 3"
                   "\r\n\r\nabc");
    CHECK_INT(responses(&f, r), 2);
    CHECK_INT(r[1].status, 404);
    CHECK(f.shut);
    fake_cleanup(&f);
}

void test_conn_body_content_length_and_chunked(void)
{
    struct fake f;
    struct http_client_response r[MAXR];

    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                   "\r\nhello"
                   "POST /echo HTTP/1.1\r\nHost: a\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n"
                   "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n");
    CHECK_INT(responses(&f, r), 2);
    CHECK_INT(r[0].status, 200);
    CHECK_INT(r[0].body_len, 5);
    CHECK(memcmp(r[0].body, "hello", 5) == 0);
    CHECK_INT(r[1].status, 200);
    CHECK_INT(r[1].body_len, 7);
    CHECK(memcmp(r[1].body, "abcdefg", 7) == 0);
    CHECK(!f.closed && !f.shut);
    fake_cleanup(&f);

    /* Over the route's cap (1024) by Content-Length: 413 before reading. */
    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1025"
                   "\r\n\r\n");
    CHECK_INT(responses(&f, r), 1);
    CHECK_INT(r[0].status, 413);
    CHECK_INT(f.handled, 0);
    CHECK(f.shut);
    fake_cleanup(&f);

    /* Over the cap by chunks: 413 once the cap is passed. */
    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "POST /echo HTTP/1.1\r\nHost: a\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n");
    char chunk[600];
    memset(chunk, 'x', sizeof(chunk));
    for (int i = 0; i < 2 && !f.shut; i++) {
        fake_feeds(&f, "258\r\n"); /* 600 bytes */
        fake_feed(&f, chunk, sizeof(chunk));
        fake_feeds(&f, "\r\n");
    }
    CHECK_INT(responses(&f, r), 1);
    CHECK_INT(r[0].status, 413);
    CHECK_INT(f.handled, 0);
    CHECK(f.shut);
    fake_cleanup(&f);

    /* A body where the route takes none: 413. */
    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 1"
                   "\r\n\r\nx");
    CHECK_INT(responses(&f, r), 1);
    CHECK_INT(r[0].status, 413);
    fake_cleanup(&f);
}

/* Sends s to a fresh connection; returns the one answer's status. */
static int one_status(const char *s, size_t len, bool *closed)
{
    struct fake f;
    struct http_client_response r[MAXR];
    fake_init(&f);
    fake_start(&f);
    fake_feed(&f, s, len);
    int n = responses(&f, r);
    int status = n == 1 ? r[0].status : -n;
    *closed = f.shut || f.closed;
    fake_cleanup(&f);
    return status;
}

void test_conn_limits_exact_statuses(void)
{
    char req[4096];
    bool closed;

    /* Request line over 256 bytes: 414. */
    int n = snprintf(req, sizeof(req),
                     "GET /%0300d HTTP/1.1\r\nHost: a\r\n\r\n", 0);
    CHECK_INT(one_status(req, (size_t)n, &closed), 414);
    CHECK(closed);

    /* A header line over 256 bytes: 431. */
    n = snprintf(req, sizeof(req),
                 "GET / HTTP/1.1\r\nHost: a\r\nX: %0300d\r\n"
                 "\r\n",
                 0);
    CHECK_INT(one_status(req, (size_t)n, &closed), 431);
    CHECK(closed);

    /* Seventeen headers (limit 16): 431. */
    n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 17; i++)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "X-%d: v\r\n", i);
    n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    CHECK_INT(one_status(req, (size_t)n, &closed), 431);
    CHECK(closed);

    /* Head over 2048 bytes with each line in bounds: 431. */
    n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 12; i++)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "X-%d: %0200d\r\n", i,
                      0);
    n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    CHECK_INT(one_status(req, (size_t)n, &closed), 431);
    CHECK(closed);

    /* Transfer-Encoding other than chunked: 501. */
    const char *gz = "POST /echo HTTP/1.1\r\nHost: a\r\n"
                     "Transfer-Encoding: gzip\r\n\r\n";
    CHECK_INT(one_status(gz, strlen(gz), &closed), 501);
    CHECK(closed);

    /* Expect other than 100-continue: 417. */
    const char *ex = "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n"
                     "Content-Length: 1\r\n\r\nx";
    CHECK_INT(one_status(ex, strlen(ex), &closed), 417);
    CHECK(closed);
}

/* One smuggling vector; the canary after it must never be answered. */
struct vector {
    const char *name;
    const char *bytes;
    size_t len; /* 0: strlen */
};

#define CANARY "GET /count HTTP/1.1\r\nHost: a\r\n\r\n"

static const struct vector vectors[] = {
    {"CL+TE",
     "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     0},
    {"TE+CL",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
     "Content-Length: 4\r\n\r\n0\r\n\r\n",
     0},
    {"duplicate CL",
     "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
     "Content-Length: 1\r\n\r\nx",
     0},
    {"list CL",
     "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx", 0},
    {"CL with sign",
     "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", 0},
    {"TE xchunked",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n"
     "0\r\n\r\n",
     0},
    {"TE list",
     "POST /echo HTTP/1.1\r\nHost: a\r\n"
     "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
     0},
    {"TE twice",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     0},
    {"TE space before colon",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"
     "0\r\n\r\n",
     0},
    {"TE vertical tab",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\x0b"
     "chunked\r\n\r\n0\r\n\r\n",
     0},
    {"obs-fold", "GET /count HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 0},
    {"bare CR in value", "GET /count HTTP/1.1\r\nHost: a\r\nX: a\rb: c\r\n\r\n",
     0},
    {"empty header name", "GET /count HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 0},
    {"two Host", "GET /count HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0},
    {"no Host", "GET /count HTTP/1.1\r\n\r\n", 0},
    {"HTTP/0.9 with headers", "GET /count\r\nHost: a\r\n\r\n", 0},
    {"HTTP/1.0 with TE",
     "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0},
    {"bare LF", "GET /count HTTP/1.1\nHost: a\n\n", 0},
    {"NUL in header", "GET /count HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 39},
    {"CTL in header", "GET /count HTTP/1.1\r\nHost: a\r\nX: a\x1b\r\n\r\n", 0},
    {"chunk-size overflow",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "ffffffffffffffffff\r\nx\r\n0\r\n\r\n",
     0},
    {"trailer Host",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "1\r\nx\r\n0\r\nHost: b\r\n\r\n",
     0},
    {"trailer Content-Length",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "1\r\nx\r\n0\r\nContent-Length: 5\r\n\r\n",
     0},
    {"chunk without CRLF",
     "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "1\r\nxx\r\n0\r\n\r\n",
     0},
    {"upgrade",
     "GET /count HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
     "Upgrade: h2c\r\n\r\n",
     0},
    {"CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 0},
    {"unknown method", "FOO /count HTTP/1.1\r\nHost: a\r\n\r\n", 0},
    {"absolute form with space", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 0},
};

void test_conn_smuggling_vectors(void)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const struct vector *v = &vectors[i];
        struct fake f;
        struct http_client_response r[MAXR];
        size_t len = v->len ? v->len : strlen(v->bytes);
        fake_init(&f);
        fake_start(&f);
        fake_feed(&f, v->bytes, len);
        fake_feeds(&f, CANARY);
        int n = responses(&f, r);
        int s = n > 0 ? r[0].status : 0;
        bool allowed = s == 400 || s == 413 || s == 414 || s == 431 || s == 501;
        if (n != 1 || !allowed || !f.shut || f.handled != 0 ||
            strstr(r[0].body, "{\"error\":") != r[0].body)
            test_failf(__FILE__, __LINE__,
                       "vector '%s': %d answers, first %d, shut %d, "
                       "handled %d",
                       v->name, n, s, f.shut, f.handled);
        fake_cleanup(&f);
    }
}

/* Everything the connection wrote, with the Date value masked. */
static void masked_output(struct fake *f, struct buf *out)
{
    buf_reset(out);
    const char *p = f->out.data ? f->out.data : "";
    const char *end = p + f->out.len;
    while (p < end) {
        const char *d = strstr(p, "Date: ");
        if (d == NULL || d >= end) {
            buf_append(out, p, (size_t)(end - p));
            break;
        }
        buf_append(out, p, (size_t)(d - p) + 6);
        buf_appends(out, "*");
        p = strstr(d, "\r\n");
    }
}

void test_conn_split_at_every_offset(void)
{
    /* C2: every valid request, split at every offset into two writes,
     * gives the same answers as one write. */
    static const char *const cases[] = {
        "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        "\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /count HTTP/1.1\r\n"
        "Host: a\r\nConnection: close\r\n\r\n",
        "HEAD /healthz HTTP/1.0\r\nX-Long:\t  spaced  \r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
        "Content-Length: 2\r\n\r\nok",
    };
    struct buf whole, split;
    buf_init(&whole, 1 << 20);
    buf_init(&split, 1 << 20);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const char *s = cases[c];
        size_t len = strlen(s);
        struct fake f;
        fake_init(&f);
        fake_start(&f);
        fake_feed(&f, s, len);
        masked_output(&f, &whole);
        int handled = f.handled;
        fake_cleanup(&f);
        CHECK(whole.len > 0);
        for (size_t k = 1; k < len; k++) {
            fake_init(&f);
            fake_start(&f);
            fake_feed(&f, s, k);
            fake_feed(&f, s + k, len - k);
            masked_output(&f, &split);
            if (split.len != whole.len ||
                memcmp(split.data, whole.data, whole.len) != 0 ||
                f.handled != handled) {
                test_failf(__FILE__, __LINE__,
                           "case %zu split at %zu differs:\n%s\n---\n%s", c, k,
                           whole.data, split.data);
                fake_cleanup(&f);
                goto done;
            }
            fake_cleanup(&f);
        }
    }
done:
    buf_cleanup(&whole);
    buf_cleanup(&split);
}

void test_conn_deadlines(void)
{
    struct fake f;
    struct http_client_response r[MAXR];

    /* A connection that sends nothing closes at the header deadline. */
    fake_init(&f);
    fake_start(&f);
    fake_advance(&f, 999);
    CHECK(!f.closed);
    fake_advance(&f, 1);
    CHECK(f.closed);
    CHECK_INT(f.out.len, 0);
    fake_cleanup(&f);

    /* A trickled head is not kept alive by its trickle: 408 at the
     * total header deadline. */
    fake_init(&f);
    fake_start(&f);
    const char *head = "GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: aaaa";
    for (size_t i = 0; i < strlen(head) && f.out.len == 0; i++) {
        fake_feed(&f, head + i, 1);
        fake_advance(&f, 30);
    }
    CHECK_INT(responses(&f, r), 1);
    CHECK_INT(r[0].status, 408);
    CHECK(f.shut);
    fake_cleanup(&f);

    /* Keep-alive idle: closed after idle_timeout_ms without a request. */
    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
    fake_advance(&f, 2999);
    CHECK(!f.closed);
    fake_advance(&f, 1);
    CHECK(f.closed);
    fake_cleanup(&f);

    /* A body slower than body_min_rate (10 B/s over 1 s): 408. */
    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100"
                   "\r\n\r\n");
    for (int i = 0; i < 30 && f.out.len == 0; i++) {
        fake_feed(&f, "x", 1);
        fake_advance(&f, 200); /* 5 B/s */
    }
    CHECK_INT(responses(&f, r), 1);
    CHECK_INT(r[0].status, 408);
    CHECK_INT(f.handled, 0);
    fake_cleanup(&f);

    /* A client that never reads its answer: closed at the send deadline. */
    fake_init(&f);
    fake_start(&f);
    f.hold_writes = true;
    fake_feeds(&f, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(f.conn.state, HTTP_CONN_WRITING);
    fake_advance(&f, 1999);
    CHECK(!f.closed);
    fake_advance(&f, 1);
    CHECK(f.closed);
    fake_cleanup(&f);
}

void test_conn_expect_continue(void)
{
    struct fake f;
    struct http_client_response r[MAXR];

    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                   "Content-Length: 2\r\n\r\n");
    CHECK_INT(responses(&f, r), 1);
    CHECK_INT(r[0].status, 100);
    fake_feeds(&f, "ok");
    CHECK_INT(responses(&f, r), 2);
    CHECK_INT(r[1].status, 200);
    CHECK(memcmp(r[1].body, "ok", 2) == 0);
    fake_cleanup(&f);

    /* Refused before the body: the final answer, no 100. */
    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                   "Content-Length: 5000\r\n\r\n");
    CHECK_INT(responses(&f, r), 1);
    CHECK_INT(r[0].status, 413);
    fake_cleanup(&f);
}

void test_conn_admission_before_body(void)
{
    struct fake f;
    struct http_client_response r[MAXR];
    char v[64];

    /* Refused before the body is read: 503 with Retry-After, the handler
     * never runs, and the connection closes (the body is left unread). */
    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "POST /busy HTTP/1.1\r\nHost: a\r\nContent-Length: 5"
                   "\r\n\r\n");
    CHECK_INT(responses(&f, r), 1);
    CHECK_INT(r[0].status, 503);
    CHECK(http_client_header(&r[0], "Retry-After", v, sizeof(v)));
    CHECK_STR(v, "1");
    CHECK(strstr(r[0].body, "\"code\":\"overloaded\"") != NULL);
    CHECK_INT(f.handled, 0);
    CHECK(f.shut);
    fake_cleanup(&f);

    /* With Expect: 100-continue the client is spared sending the body. */
    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "POST /busy HTTP/1.1\r\nHost: a\r\nContent-Length: 5"
                   "\r\nExpect: 100-continue\r\n\r\n");
    CHECK_INT(responses(&f, r), 1);
    CHECK_INT(r[0].status, 503);
    fake_cleanup(&f);

    /* A body that came with its head is already in memory: it is skipped,
     * the 503 keeps the connection, and the next request is served. */
    fake_init(&f);
    fake_start(&f);
    fake_feeds(&f, "POST /busy HTTP/1.1\r\nHost: a\r\nContent-Length: 5"
                   "\r\n\r\nhelloGET /count HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(responses(&f, r), 2);
    CHECK_INT(r[0].status, 503);
    CHECK(http_client_header(&r[0], "Retry-After", v, sizeof(v)));
    CHECK(!http_client_header(&r[0], "Connection", v, sizeof(v)));
    CHECK_INT(r[1].status, 204);
    CHECK_INT(f.handled, 1);
    CHECK(!f.shut);
    fake_cleanup(&f);
}

/* The first head's deadline counts from the connection's open, so time
 * spent silent (or in TLS's handshake) is part of it and cannot buy a slow
 * head a second deadline. */
void test_conn_first_head_deadline_from_open(void)
{
    struct fake f;
    struct http_client_response r[MAXR];
    const char *part = "GET /healthz HTTP/1.1\r\nHost: a\r\n";

    /* 408 at 1000 ms after the open, not 1000 ms after the first byte. */
    fake_init(&f);
    fake_start(&f);
    fake_advance(&f, 900);
    fake_feeds(&f, part);
    fake_advance(&f, 99);
    CHECK_INT(f.out.len, 0);
    fake_advance(&f, 1);
    CHECK_INT(responses(&f, r), 1);
    CHECK_INT(r[0].status, 408);
    CHECK(f.shut);
    fake_cleanup(&f);

    /* Only the first head: the next request's deadline is its own. */
    fake_init(&f);
    fake_start(&f);
    fake_advance(&f, 900);
    fake_feeds(&f, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
    CHECK_INT(responses(&f, r), 1);
    CHECK_INT(r[0].status, 200);
    fake_advance(&f, 500);
    fake_feeds(&f, part);
    fake_advance(&f, 999);
    CHECK_INT(responses(&f, r), 1);
    fake_advance(&f, 1);
    CHECK_INT(responses(&f, r), 2);
    CHECK_INT(r[1].status, 408);
    fake_cleanup(&f);
}
