/*
 * headscan: tipd's own strict check of a request head's bytes, run before
 * llhttp sees them.
 *
 * Debian's llhttp 8.1.0 accepts several request-smuggling vectors (a bare CR
 * ending a header value, a bare LF line end, obs-fold continuation lines, an
 * empty header name, HTTP/0.9-style request lines, spacing tricks;
 * spec/reliability.md C1). Rather than trust a parser whose leniency we do
 * not control, every head is scanned here first against RFC 9112's grammar,
 * narrowed to what a legitimate client sends, and against the configured
 * size limits. Only a head that passes is handed to llhttp, whole.
 *
 * The scanner is resumable: call headscan_run with the same growing buffer
 * (the bytes of this request so far); it continues where it stopped.
 */
#ifndef TIPD_HEADSCAN_H
#define TIPD_HEADSCAN_H

#include <stdbool.h>
#include <stddef.h>

struct headscan_limits {
    size_t request_line; /* longest request line; longer is 414 */
    size_t header_line;  /* longest header line; longer is 431 */
    size_t header_count; /* most header lines; more is 431 */
    size_t head;         /* whole head including the final CRLF; 431 */
};

enum headscan_result {
    HEADSCAN_MORE,  /* valid so far; the head is not complete */
    HEADSCAN_DONE,  /* complete and valid; head_len is set */
    HEADSCAN_ERROR, /* invalid; status and reason are set */
};

struct headscan {
    const struct headscan_limits *limits; /* borrowed */
    size_t pos;                           /* bytes checked so far */
    size_t line_start;                    /* offset of the current line */
    size_t header_count;                  /* header lines seen */
    size_t head_len;                      /* DONE: bytes of the head */
    int status;                           /* ERROR: 400, 414 or 431 */
    const char *reason;                   /* ERROR: static, user-safe */
};

void headscan_init(struct headscan *s, const struct headscan_limits *limits);

/*
 * Scans head[0..len), which must start with the same bytes as the previous
 * call's. Stops at the end of the head, an error, or the end of the data.
 */
enum headscan_result headscan_run(struct headscan *s, const char *head,
                                  size_t len);

#endif
