/*
 * headscan: a line-at-a-time validator. Each line is checked once it is
 * complete (its CRLF seen); the limits are checked as bytes arrive so that
 * an over-long line is refused before it is buffered whole.
 *
 * Accepted grammar (a strict subset of RFC 9112):
 *   request-line = method SP request-target SP ( "HTTP/1.1" / "HTTP/1.0" ) CRLF
 *   method       = 1*( %x41-5A )            ; upper-case letters
 *   target       = 1*( %x21-7E )            ; visible ASCII, no spaces
 *   header-line  = field-name ":" *( SP / HTAB ) field-value CRLF
 *   field-name   = 1*tchar                  ; no space before the colon
 *   field-value  = *( %x20-7E / HTAB / %x80-FF )
 * Every CR must be followed by LF and every LF preceded by CR.
 */
#include "headscan.h"

#include <string.h>

void headscan_init(struct headscan *s, const struct headscan_limits *limits)
{
    memset(s, 0, sizeof(*s));
    s->limits = limits;
}

static enum headscan_result fail(struct headscan *s, int status,
                                 const char *reason)
{
    s->status = status;
    s->reason = reason;
    return HEADSCAN_ERROR;
}

static bool is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
        (ch >= '0' && ch <= '9'))
        return true;
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static const char *check_request_line(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] >= 'A' && p[i] <= 'Z')
        i++;
    if (i == 0 || i == n || p[i] != ' ')
        return "malformed request line: expected METHOD SP TARGET SP "
               "HTTP/1.1";
    size_t t = ++i;
    while (i < n && p[i] >= 0x21 && p[i] <= 0x7e)
        i++;
    if (i == t || i == n || p[i] != ' ')
        return "malformed request line: bad request target";
    i++;
    if (n - i != 8 || (memcmp(p + i, "HTTP/1.1", 8) != 0 &&
                       memcmp(p + i, "HTTP/1.0", 8) != 0))
        return "unsupported HTTP version: only HTTP/1.1 and HTTP/1.0";
    return NULL;
}

static const char *check_header_line(const unsigned char *p, size_t n)
{
    if (p[0] == ' ' || p[0] == '\t')
        return "obsolete line folding in header";
    size_t i = 0;
    while (i < n && is_tchar(p[i]))
        i++;
    if (i == n || p[i] != ':')
        return i == 0 && n > 0 && p[0] == ':'
                   ? "empty header name"
                   : "malformed header: expected NAME: VALUE";
    if (i == 0)
        return "empty header name";
    for (i++; i < n; i++) {
        unsigned char ch = p[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return "control character in header value";
    }
    return NULL;
}

enum headscan_result headscan_run(struct headscan *s, const char *head,
                                  size_t len)
{
    const unsigned char *p = (const unsigned char *)head;
    const struct headscan_limits *lim = s->limits;

    while (s->pos < len) {
        size_t i = s->pos;
        unsigned char ch = p[i];
        bool first_line = s->line_start == 0;

        if (i + 1 > lim->head)
            return fail(s, first_line ? 414 : 431,
                        first_line ? "request line too long"
                                   : "request headers too large");
        if (ch == '\n')
            return fail(s, 400, "bare LF in request head");
        if (ch != '\r') {
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                return fail(s, 400, "control character in request head");
            size_t line_len = i + 1 - s->line_start;
            if (first_line && line_len > lim->request_line)
                return fail(s, 414, "request line too long");
            if (!first_line && line_len > lim->header_line)
                return fail(s, 431, "request header line too long");
            s->pos++;
            continue;
        }

        /* A CR: it must end the line, so look at the byte after it. */
        if (i + 1 >= len)
            return HEADSCAN_MORE;
        if (p[i + 1] != '\n')
            return fail(s, 400, "bare CR in request head");
        if (i + 2 > lim->head)
            return fail(s, 431, "request headers too large");

        const unsigned char *line = p + s->line_start;
        size_t n = i - s->line_start;
        const char *why = NULL;
        if (first_line) {
            why = n == 0 ? "empty request line" : check_request_line(line, n);
        } else if (n == 0) {
            s->pos = i + 2;
            s->head_len = s->pos;
            return HEADSCAN_DONE;
        } else if (++s->header_count > lim->header_count) {
            return fail(s, 431, "too many request headers");
        } else {
            why = check_header_line(line, n);
        }
        if (why != NULL)
            return fail(s, 400, why);
        s->pos = i + 2;
        s->line_start = s->pos;
    }
    return HEADSCAN_MORE;
}
