/*
 * Unit tests of headscan: the strict grammar and the limits, byte by byte.
 */
#include <stdio.h>
#include <string.h>

#include "headscan.h"
#include "test.h"

static const struct headscan_limits limits = {
    .request_line = 64, .header_line = 64, .header_count = 4, .head = 256};

/* Scans s whole; returns the result and fills *st. */
static enum headscan_result scan(const char *s, struct headscan *st)
{
    headscan_init(st, &limits);
    return headscan_run(st, s, strlen(s));
}

void test_headscan_accepts_valid_heads(void)
{
    struct headscan s;
    const char *ok = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK_INT(scan(ok, &s), HEADSCAN_DONE);
    CHECK_INT(s.head_len, strlen(ok));

    /* Bytes after the head are left alone (the body, or a pipeline). */
    const char *with_body = "POST /r HTTP/1.1\r\nHost: a\r\n"
                            "Content-Length: 2\r\n\r\nhi";
    CHECK_INT(scan(with_body, &s), HEADSCAN_DONE);
    CHECK_INT(s.head_len, strlen(with_body) - 2);

    /* Tabs and UTF-8 in values are fine; an empty value is fine. */
    CHECK_INT(scan("GET / HTTP/1.0\r\nX-A:\tv\xe4\xb8\xad\r\nX-E:\r\n\r\n", &s),
              HEADSCAN_DONE);

    /* Resumable: one byte at a time gives the same answer. */
    headscan_init(&s, &limits);
    enum headscan_result r = HEADSCAN_MORE;
    for (size_t n = 1; n <= strlen(ok) && r == HEADSCAN_MORE; n++)
        r = headscan_run(&s, ok, n);
    CHECK_INT(r, HEADSCAN_DONE);
    CHECK_INT(s.head_len, strlen(ok));

    /* Incomplete is MORE, not an error. */
    CHECK_INT(scan("GET / HTTP/1.1\r\nHost: a\r", &s), HEADSCAN_MORE);
}

void test_headscan_rejects_smuggling_shapes(void)
{
    static const char *const bad[] = {
        "GET / HTTP/1.1\nHost: a\r\n\r\n",          /* bare LF */
        "GET / HTTP/1.1\r\nHost: a\n\n",            /* bare LF */
        "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",        /* bare CR */
        "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n",  /* obs-fold */
        "GET / HTTP/1.1\r\nHost: a\r\n\tb\r\n\r\n", /* obs-fold */
        "GET / HTTP/1.1\r\n: a\r\n\r\n",            /* empty name */
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",       /* space before : */
        "GET / HTTP/1.1\r\nX: a\x01\r\n\r\n",       /* CTL in value */
        "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n",       /* DEL in value */
        "GET /\r\nHost: a\r\n\r\n",                 /* HTTP/0.9 */
        "GET / HTTP/0.9\r\nHost: a\r\n\r\n",        /* HTTP/0.9 */
        "GET / HTTP/2.0\r\nHost: a\r\n\r\n",        /* version */
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",       /* double SP */
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",       /* trailing SP */
        "get / HTTP/1.1\r\nHost: a\r\n\r\n",        /* lower case */
        "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",    /* empty line */
        "GET /a\x80 HTTP/1.1\r\nHost: a\r\n\r\n",   /* non-ASCII URL */
        "GET / HTTP/1.1\r\nHo\x00st: a\r\n\r\n",    /* NUL: cut here */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct headscan s;
        size_t len = strlen(bad[i]);
        if (i == sizeof(bad) / sizeof(bad[0]) - 1)
            len = 30; /* the NUL case: include the NUL byte */
        headscan_init(&s, &limits);
        enum headscan_result r = headscan_run(&s, bad[i], len);
        if (r != HEADSCAN_ERROR || s.status != 400)
            test_failf(__FILE__, __LINE__, "vector %zu: result %d status %d", i,
                       (int)r, s.status);
    }
}

void test_headscan_limits(void)
{
    struct headscan s;
    char line[200];
    /* Request line over 64 bytes: 414, even before it ends. */
    memset(line, 'a', sizeof(line));
    memcpy(line, "GET /", 5);
    line[100] = '\0';
    CHECK_INT(scan(line, &s), HEADSCAN_ERROR);
    CHECK_INT(s.status, 414);

    /* One header line over 64 bytes: 431. */
    char head[300] = "GET / HTTP/1.1\r\nX: ";
    memset(head + strlen(head), 'v', 70);
    CHECK_INT(scan(head, &s), HEADSCAN_ERROR);
    CHECK_INT(s.status, 431);

    /* Five header lines: 431 (the limit is four). */
    CHECK_INT(scan("GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n"
                   "E: 1\r\n\r\n",
                   &s),
              HEADSCAN_ERROR);
    CHECK_INT(s.status, 431);
    CHECK_INT(
        scan("GET / HTTP/1.1\r\nA: 1\r\nB: 1\r\nC: 1\r\nD: 1\r\n\r\n", &s),
        HEADSCAN_DONE);

    /* Whole head over 256 bytes with every line within limits: 431. */
    char big[400] = "GET / HTTP/1.1\r\n";
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(big);
        snprintf(big + n, sizeof(big) - n, "X-Long: %055d\r\n", i);
    }
    CHECK_INT(scan(big, &s), HEADSCAN_ERROR);
    CHECK_INT(s.status, 431);
}
