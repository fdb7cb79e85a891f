/*
 * http_parse: llhttp callbacks that copy the head into the request's arena
 * and enforce the framing rules at the end of the head. on_message_complete
 * pauses llhttp, so exactly one request is consumed per call and the bytes
 * after it stay with the caller (pipelining).
 */
#include "http_parse.h"

#include <string.h>

#include "util.h"

static struct http_parse *from(llhttp_t *l)
{
    return container_of(l, struct http_parse, llhttp);
}

static int fail(struct http_parse *p, int status, const char *reason)
{
    p->state = HTTP_PARSE_ERROR;
    p->status = status;
    p->reason = reason;
    return HPE_USER;
}

static int on_url(llhttp_t *l, const char *at, size_t len)
{
    struct http_parse *p = from(l);
    struct http_request *r = p->req;
    r->target = arena_strndup(r->arena, at, len);
    const char *q = memchr(r->target, '?', len);
    if (q == NULL) {
        r->path = r->target;
        r->query = "";
    } else {
        r->path = arena_strndup(r->arena, r->target, (size_t)(q - r->target));
        r->query = q + 1;
    }
    return 0;
}

static int on_header_field(llhttp_t *l, const char *at, size_t len)
{
    struct http_parse *p = from(l);
    if (p->state != HTTP_PARSE_HEAD)
        return fail(p, 400, "trailer fields are not accepted");
    p->field_at = at;
    p->field_len = len;
    return 0;
}

static int on_header_value(llhttp_t *l, const char *at, size_t len)
{
    struct http_parse *p = from(l);
    p->value_at = at;
    p->value_len = len;
    return 0;
}

static int on_header_value_complete(llhttp_t *l)
{
    struct http_parse *p = from(l);
    struct http_request *r = p->req;
    const char *v = p->value_at ? p->value_at : "";
    size_t n = p->value_at ? p->value_len : 0;
    p->value_at = NULL;
    p->value_len = 0;
    while (n > 0 && (v[0] == ' ' || v[0] == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (r->header_count >= p->max_headers)
        return fail(p, 431, "too many request headers");

    struct http_header *h = &r->headers[r->header_count++];
    h->name = arena_strndup(r->arena, p->field_at, p->field_len);
    h->name_len = p->field_len;
    h->value = arena_strndup(r->arena, v, n);
    h->value_len = n;

    if (util_ieq(h->name, h->name_len, "host")) {
        p->host_count++;
    } else if (util_ieq(h->name, h->name_len, "content-length")) {
        p->cl_count++;
    } else if (util_ieq(h->name, h->name_len, "transfer-encoding")) {
        p->te_count++;
        if (!util_ieq(h->value, h->value_len, "chunked"))
            return fail(p, 501,
                        "only Transfer-Encoding: chunked is "
                        "supported");
        p->chunked = true;
    }
    return 0;
}

static int on_headers_complete(llhttp_t *l)
{
    struct http_parse *p = from(l);
    struct http_request *r = p->req;

    r->version_minor = l->http_minor;
    r->method_name = llhttp_method_name((llhttp_method_t)l->method);
    switch (l->method) {
    case HTTP_GET:
        r->method = HTTP_METHOD_GET;
        break;
    case HTTP_HEAD:
        r->method = HTTP_METHOD_HEAD;
        break;
    case HTTP_POST:
        r->method = HTTP_METHOD_POST;
        break;
    default:
        r->method = HTTP_METHOD_OTHER;
    }

    if (l->http_major != 1 || l->http_minor > 1)
        return fail(p, 400, "unsupported HTTP version");
    if (p->host_count > 1)
        return fail(p, 400, "more than one Host header");
    if (p->host_count == 0 && l->http_minor == 1)
        return fail(p, 400, "missing Host header");
    if (p->cl_count > 1)
        return fail(p, 400, "more than one Content-Length header");
    if (p->te_count > 1)
        return fail(p, 400, "more than one Transfer-Encoding header");
    if (p->te_count > 0 && p->cl_count > 0)
        return fail(p, 400, "both Content-Length and Transfer-Encoding");
    if (p->te_count > 0 && l->http_minor == 0)
        return fail(p, 400, "Transfer-Encoding on an HTTP/1.0 request");
    if (l->upgrade || l->method == HTTP_CONNECT)
        return fail(p, 400, "protocol upgrade is not supported");

    uint64_t length = p->cl_count ? l->content_length : 0;
    uint64_t body_max = 0;
    int status = p->on_head(p->ctx, r, length, p->chunked, &body_max);
    if (status != 0)
        return fail(p, status, NULL);
    if (length > body_max)
        return fail(p, 413, "request body too large");
    p->body_max = body_max;
    r->body.max = body_max;
    p->state = HTTP_PARSE_BODY;
    return 0;
}

static int on_body(llhttp_t *l, const char *at, size_t len)
{
    struct http_parse *p = from(l);
    if (buf_append(&p->req->body, at, len) != 0)
        return fail(p, 413, "request body too large");
    return 0;
}

static int on_message_complete(llhttp_t *l)
{
    struct http_parse *p = from(l);
    p->req->keep_alive = llhttp_should_keep_alive(l) != 0;
    p->state = HTTP_PARSE_DONE;
    return HPE_PAUSED;
}

/* Shared read-only by every parser on every thread. */
static const llhttp_settings_t settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http_parse_init(struct http_parse *p, size_t max_headers,
                     http_parse_head_cb on_head, void *ctx)
{
    memset(p, 0, sizeof(*p));
    llhttp_init(&p->llhttp, HTTP_REQUEST, &settings);
    p->max_headers = max_headers;
    p->on_head = on_head;
    p->ctx = ctx;
    p->state = HTTP_PARSE_DONE;
}

void http_parse_start(struct http_parse *p, struct http_request *req)
{
    if (llhttp_get_errno(&p->llhttp) == HPE_PAUSED)
        llhttp_resume(&p->llhttp);
    p->state = HTTP_PARSE_HEAD;
    p->req = req;
    p->host_count = p->cl_count = p->te_count = 0;
    p->chunked = false;
    p->status = 0;
    p->reason = NULL;
    p->body_max = 0;
    req->headers =
        arena_alloc(req->arena, p->max_headers * sizeof(struct http_header));
    req->header_count = 0;
    req->target = req->path = req->query = "";
}

/* Runs llhttp and maps its outcome onto our states. */
static enum http_parse_state run(struct http_parse *p, const char *data,
                                 size_t len, size_t *used)
{
    llhttp_errno_t err = llhttp_execute(&p->llhttp, data, len);
    *used = len;
    if (err == HPE_PAUSED) {
        *used = (size_t)(llhttp_get_error_pos(&p->llhttp) - data);
        return p->state;
    }
    if (err == HPE_OK)
        return p->state;
    if (p->state != HTTP_PARSE_ERROR) {
        p->reason = p->state == HTTP_PARSE_BODY
                        ? "malformed request body framing"
                        : "malformed request";
        p->status = 400;
        p->state = HTTP_PARSE_ERROR;
    }
    return p->state;
}

enum http_parse_state http_parse_head(struct http_parse *p, const char *data,
                                      size_t len)
{
    size_t used;
    enum http_parse_state s = run(p, data, len, &used);
    if (s == HTTP_PARSE_HEAD || (s != HTTP_PARSE_ERROR && used != len)) {
        /* headscan and llhttp disagree on where the head ends. */
        p->state = HTTP_PARSE_ERROR;
        p->status = 400;
        p->reason = "malformed request";
    }
    return p->state;
}

enum http_parse_state http_parse_body(struct http_parse *p, const char *data,
                                      size_t len, size_t *used)
{
    return run(p, data, len, used);
}
