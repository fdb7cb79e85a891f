/*
 * http_parse: one request at a time through llhttp, plus the framing rules
 * tipd enforces itself.
 *
 * The caller (http_conn) hands over a head only after headscan accepted it
 * whole, then the body bytes as they arrive. At the end of the head the
 * parser applies the framing rules llhttp 8.1.0 is lax about (exactly one
 * Host on HTTP/1.1; at most one Content-Length; Transfer-Encoding only as
 * a single "chunked" on HTTP/1.1 and never with Content-Length; no protocol
 * upgrade) and asks the caller, through on_head, whether to take the body
 * and how much of it. Trailers are refused: none of tipd's clients send
 * them and they are a smuggling vector (spec/reliability.md C1).
 *
 * States (one function per transition, see http_parse.c):
 *
 *   HEAD --head parsed, on_head accepts--> BODY --message end--> DONE
 *     \________________________ any violation ______________--> ERROR
 */
#ifndef TIPD_HTTP_PARSE_H
#define TIPD_HTTP_PARSE_H

#include <llhttp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

enum http_parse_state {
    HTTP_PARSE_HEAD,
    HTTP_PARSE_BODY,
    HTTP_PARSE_DONE,
    HTTP_PARSE_ERROR,
};

/*
 * Called once the head is parsed and the framing rules passed. Returns 0 to
 * read a body of at most *body_max bytes (set by the callee), or an HTTP
 * status to refuse the request without reading its body (413, 404, 503...);
 * the callee may then have filled the response already.
 */
typedef int (*http_parse_head_cb)(void *ctx, struct http_request *req,
                                  uint64_t content_length, bool chunked,
                                  uint64_t *body_max);

struct http_parse {
    llhttp_t llhttp;
    enum http_parse_state state;
    struct http_request *req; /* borrowed: being filled */
    size_t max_headers;       /* capacity of req->headers */
    http_parse_head_cb on_head;
    void *ctx;
    uint64_t body_max;    /* from on_head */
    const char *field_at; /* the header name being read */
    size_t field_len;
    const char *value_at; /* its value, if llhttp reported one */
    size_t value_len;
    int host_count, cl_count, te_count;
    bool chunked;
    int status;         /* ERROR: the status to answer */
    const char *reason; /* ERROR: static, user-safe */
};

void http_parse_init(struct http_parse *p, size_t max_headers,
                     http_parse_head_cb on_head, void *ctx);

/* Starts a new request that will be filled into req. */
void http_parse_start(struct http_parse *p, struct http_request *req);

/*
 * Parses the complete head in data[0..len) (checked by headscan). Returns
 * the new state: BODY (on_head accepted), DONE (no body) or ERROR.
 */
enum http_parse_state http_parse_head(struct http_parse *p, const char *data,
                                      size_t len);

/*
 * Feeds body bytes. *used is set to the bytes that belong to this request;
 * the rest (a pipelined next request) is for the caller to keep. Returns
 * BODY (wants more), DONE or ERROR.
 */
enum http_parse_state http_parse_body(struct http_parse *p, const char *data,
                                      size_t len, size_t *used);

#endif
