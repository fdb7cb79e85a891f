/*
 * http_conn: the mechanism behind the diagram in http_conn.h.
 *
 * Input is kept in one bounded buffer (c->in) that always starts at the
 * first unparsed byte. A head is parsed only once headscan has seen it
 * whole, so llhttp's header callbacks get complete spans and copy them into
 * the request's arena; the head's bytes are then dropped from c->in and the
 * body bytes flow through llhttp into the request's bounded body buffer.
 * llhttp pauses at the end of each message, so whatever follows in c->in is
 * the next pipelined request, parsed only after this one is answered.
 */
#include "http_conn.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* Bytes accepted from one read beyond the head limit (libuv reads 64 KiB). */
#define READ_SLACK 65536

static void process(struct http_conn *c, uint64_t now);

const char *http_conn_state_name(enum http_conn_state s)
{
    switch (s) {
#define X(name, text)                                                          \
    case HTTP_CONN_##name:                                                     \
        return text;
        HTTP_CONN_STATE_MAP(X)
#undef X
    }
    return "unknown";
}

static void change_state(struct http_conn *c, enum http_conn_state next,
                         uint64_t now)
{
    c->state = next;
    c->since_ms = now;
}

static int on_head(void *ctx, struct http_request *req, uint64_t content_length,
                   bool chunked, uint64_t *body_max);

void http_conn_init(struct http_conn *c, const struct http_conn_ops *ops,
                    const struct http_limits *limits,
                    const struct router *router, void *app, uint64_t now_ms)
{
    memset(c, 0, sizeof(*c));
    c->ops = ops;
    c->limits = limits;
    c->router = router;
    c->app = app;
    buf_init(&c->in, limits->head.head + READ_SLACK);
    arena_init(&c->arena, 4096);
    http_parse_init(&c->parse, limits->head.header_count, on_head, c);
    buf_init(&c->req.body, 0);
    buf_init(&c->res.headers, 4096);
    buf_init(&c->res.body, limits->response_max);
    buf_init(&c->head, 8192);
    c->req.arena = &c->arena;
    c->opened_ms = now_ms;
    change_state(c, HTTP_CONN_IDLE, now_ms);
}

void http_conn_cleanup(struct http_conn *c)
{
    buf_cleanup(&c->in);
    buf_cleanup(&c->req.body);
    buf_cleanup(&c->res.headers);
    buf_cleanup(&c->res.body);
    buf_cleanup(&c->head);
    arena_cleanup(&c->arena);
}

static void close_now(struct http_conn *c, uint64_t now)
{
    if (c->state == HTTP_CONN_CLOSED)
        return;
    change_state(c, HTTP_CONN_CLOSED, now);
    c->ops->close(c);
}

/* Date header text, cached per thread for the current second. */
static const char *date_now(void)
{
    static _Thread_local char text[40];
    static _Thread_local time_t cached;
    time_t t = time(NULL);
    if (t != cached) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached = t;
    }
    return text;
}

static void send_response(struct http_conn *c, uint64_t now)
{
    struct http_response *res = &c->res;
    if (res->status < 200 || res->status > 599)
        http_response_error(res, 500, "the handler gave no answer", NULL);
    if (res->status >= 400 && res->body.len == 0 && res->content_type == NULL)
        http_response_error(res, res->status, http_status_reason(res->status),
                            NULL);
    if (res->close || !c->req.keep_alive || c->draining || c->peer_eof)
        c->close_after = true;

    buf_reset(&c->head);
    buf_printf(&c->head,
               "HTTP/1.1 %d %s\r\nServer: tipd\r\nDate: %s\r\n"
               "Cache-Control: no-store\r\n"
               "X-Content-Type-Options: nosniff\r\n",
               res->status, http_status_reason(res->status), date_now());
    if (res->content_type != NULL)
        buf_printf(&c->head, "Content-Type: %s\r\n", res->content_type);
    if (res->status != HTTP_NO_CONTENT) /* 204 has no length (RFC 9110) */
        buf_printf(&c->head, "Content-Length: %zu\r\n", res->body.len);
    buf_append(&c->head, res->headers.data ? res->headers.data : "",
               res->headers.len);
    if (c->close_after)
        buf_appends(&c->head, "Connection: close\r\n");
    else if (c->req.version_minor == 0)
        /* An HTTP/1.0 client assumes close unless told otherwise. */
        buf_appends(&c->head, "Connection: keep-alive\r\n");
    if (buf_appends(&c->head, "\r\n") != 0) {
        /* Only handler-added headers can overflow; answer plainly. */
        buf_reset(&res->headers);
        http_response_error(res, 500, "response headers too large", NULL);
        send_response(c, now);
        return;
    }

    if (c->ops->request_done != NULL)
        c->ops->request_done(c, c->route, res->status, now - c->req.started_ms);

    struct iovec iov[2];
    int n = 0;
    iov[n].iov_base = c->head.data;
    iov[n++].iov_len = c->head.len;
    if (res->body.len > 0 && c->req.method != HTTP_METHOD_HEAD) {
        iov[n].iov_base = res->body.data;
        iov[n++].iov_len = res->body.len;
    }
    change_state(c, HTTP_CONN_WRITING, now);
    c->writes_pending++;
    c->ops->write(c, iov, n);
}

/* Answers a protocol violation and closes after it. */
static void fail(struct http_conn *c, int status, const char *reason,
                 uint64_t now)
{
    c->ops->read_stop(c);
    c->close_after = true;
    if (reason != NULL || c->res.status == 0)
        http_response_error(&c->res, status,
                            reason ? reason : http_status_reason(status), NULL);
    send_response(c, now);
}

static void reset_response(struct http_response *res)
{
    res->status = 0;
    res->content_type = NULL;
    res->close = false;
    buf_reset(&res->headers);
    buf_reset(&res->body);
}

static void start_request(struct http_conn *c, uint64_t now)
{
    arena_reset(&c->arena);
    struct http_request *r = &c->req;
    r->method = HTTP_METHOD_OTHER;
    r->method_name = "";
    r->version_minor = 1;
    r->keep_alive = false;
    r->param_count = 0;
    r->started_ms = now;
    buf_reset(&r->body);
    r->body.max = 0;
    reset_response(&c->res);
    c->route = NULL;
    c->early_status = 0;
    c->send_continue = false;
    headscan_init(&c->scan, &c->limits->head);
    http_parse_start(&c->parse, r);
    change_state(c, HTTP_CONN_HEAD, now);
}

static int on_head(void *ctx, struct http_request *req, uint64_t content_length,
                   bool chunked, uint64_t *body_max)
{
    struct http_conn *c = ctx;
    bool has_body = chunked || content_length > 0;

    const struct http_header *expect = http_request_header(req, "expect");
    if (expect != NULL) {
        if (!util_ieq(expect->value, expect->value_len, "100-continue")) {
            http_response_error(&c->res, 417,
                                "only Expect: 100-continue is supported", NULL);
            return 417;
        }
        c->send_continue = req->version_minor == 1 && has_body;
    }

    enum router_result r = router_match(c->router, req, &c->route);
    if (r != ROUTER_FOUND) {
        int status = r == ROUTER_NOT_FOUND ? 404 : 405;
        http_response_error(&c->res, status,
                            r == ROUTER_NOT_FOUND
                                ? "no such resource"
                                : "method not allowed on this resource",
                            NULL);
        if (status == 405) {
            char allow[64];
            router_allow(c->router, req, allow, sizeof(allow));
            http_response_header(&c->res, "Allow", allow);
        }
        if (has_body)
            return status; /* refuse unread: the connection closes */
        c->early_status = status;
        *body_max = 0;
        return 0;
    }
    if (c->route->admit != NULL) {
        int status = c->route->admit(c->app, c, &c->res);
        if (status != 0) {
            if (c->res.body.len == 0)
                http_response_error(&c->res, status, http_status_reason(status),
                                    NULL);
            /* A body still to come is refused unread and the connection
             * closes. One that arrived with its head is already in memory:
             * reading it costs a copy, and keeping the connection spares
             * a refused client (a flood) a new TCP connection per retry. */
            bool buffered = !chunked && content_length <= c->limits->body_max &&
                            c->in.len - c->scan.head_len >= content_length;
            if (has_body && !buffered)
                return status;
            c->early_status = status;
            c->send_continue = false;
            *body_max = content_length;
            return 0;
        }
    }
    uint64_t cap = c->route->body_max;
    if (cap > c->limits->body_max)
        cap = c->limits->body_max;
    if (content_length > cap) {
        http_response_error(&c->res, 413,
                            cap == 0 ? "this resource takes no request body"
                                     : "request body too large",
                            NULL);
        return 413;
    }
    *body_max = cap;
    return 0;
}

static void dispatch(struct http_conn *c, uint64_t now)
{
    c->ops->read_stop(c);
    change_state(c, HTTP_CONN_HANDLING, now);
    int status = c->early_status;
    if (status == 0)
        status = c->route->handler(c->app, c, &c->req, &c->res);
    if (status == HTTP_ASYNC)
        return;
    c->res.status = status;
    send_response(c, now);
}

/* Parses as much of c->in as the state allows. */
static void process(struct http_conn *c, uint64_t now)
{
    for (;;) {
        if (c->state == HTTP_CONN_IDLE) {
            if (c->in.len == 0)
                return;
            if (c->draining) {
                close_now(c, now);
                return;
            }
            start_request(c, now);
        }
        if (c->state == HTTP_CONN_HEAD) {
            enum headscan_result r =
                headscan_run(&c->scan, c->in.data, c->in.len);
            if (r == HEADSCAN_MORE)
                return;
            if (r == HEADSCAN_ERROR) {
                fail(c, c->scan.status, c->scan.reason, now);
                return;
            }
            enum http_parse_state ps =
                http_parse_head(&c->parse, c->in.data, c->scan.head_len);
            buf_consume(&c->in, c->scan.head_len);
            if (ps == HTTP_PARSE_ERROR) {
                fail(c, c->parse.status, c->parse.reason, now);
                return;
            }
            if (ps == HTTP_PARSE_DONE) {
                dispatch(c, now);
                return;
            }
            change_state(c, HTTP_CONN_BODY, now);
            c->window_start_ms = now;
            c->window_bytes = 0;
            if (c->send_continue) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                struct iovec iov = {(void *)cont, sizeof(cont) - 1};
                c->writes_pending++;
                c->ops->write(c, &iov, 1);
                if (c->state != HTTP_CONN_BODY)
                    return;
            }
        }
        if (c->state != HTTP_CONN_BODY || c->in.len == 0)
            return;
        size_t used = 0;
        enum http_parse_state ps =
            http_parse_body(&c->parse, c->in.data, c->in.len, &used);
        buf_consume(&c->in, used);
        c->window_bytes += used;
        if (ps == HTTP_PARSE_ERROR) {
            fail(c, c->parse.status, c->parse.reason, now);
            return;
        }
        if (ps == HTTP_PARSE_DONE) {
            dispatch(c, now);
            return;
        }
    }
}

void http_conn_on_read(struct http_conn *c, const char *data, size_t len,
                       uint64_t now_ms)
{
    switch (c->state) {
    case HTTP_CONN_LINGER:
    case HTTP_CONN_CLOSED:
        return; /* discarded: we answered and are closing */
    case HTTP_CONN_IDLE:
    case HTTP_CONN_HEAD:
    case HTTP_CONN_BODY:
        break;
    default:
        /* Reading is paused in these states; a read already under way
         * is kept for after the answer. */
        if (buf_append(&c->in, data, len) != 0)
            close_now(c, now_ms);
        return;
    }
    if (buf_append(&c->in, data, len) != 0) {
        /* Only a head beyond every limit can fill c->in. */
        fail(c, 431, "request headers too large", now_ms);
        return;
    }
    process(c, now_ms);
}

void http_conn_on_eof(struct http_conn *c, uint64_t now_ms)
{
    c->peer_eof = true;
    switch (c->state) {
    case HTTP_CONN_HANDLING:
    case HTTP_CONN_WRITING:
        return; /* answer, then close (send_response sees peer_eof) */
    default:
        close_now(c, now_ms);
    }
}

static void finish_request(struct http_conn *c, uint64_t now)
{
    c->requests++;
    if (c->close_after) {
        change_state(c, HTTP_CONN_LINGER, now);
        c->ops->shutdown(c);
        if (c->peer_eof)
            close_now(c, now);
        else
            c->ops->read_start(c);
        return;
    }
    change_state(c, HTTP_CONN_IDLE, now);
    c->ops->read_start(c);
    process(c, now);
}

void http_conn_on_written(struct http_conn *c, int status, uint64_t now_ms)
{
    c->writes_pending--;
    if (c->state == HTTP_CONN_CLOSED)
        return;
    if (status < 0) {
        close_now(c, now_ms);
        return;
    }
    if (c->state == HTTP_CONN_WRITING && c->writes_pending == 0)
        finish_request(c, now_ms);
}

void http_conn_respond(struct http_conn *c, uint64_t now_ms)
{
    if (c->state != HTTP_CONN_HANDLING)
        return;
    send_response(c, now_ms);
}

void http_conn_drain(struct http_conn *c)
{
    c->draining = true;
    if (c->state == HTTP_CONN_IDLE)
        close_now(c, c->since_ms);
}

void http_conn_tick(struct http_conn *c, uint64_t now)
{
    const struct http_limits *l = c->limits;
    uint64_t age = now - c->since_ms;
    switch (c->state) {
    case HTTP_CONN_IDLE: {
        /* A connection that never sent a byte gets the header deadline,
         * so an idle socket costs as little as a slow head. */
        uint64_t limit =
            c->requests == 0 ? l->header_timeout_ms : l->idle_timeout_ms;
        if (age >= limit)
            close_now(c, now);
        return;
    }
    case HTTP_CONN_HEAD: {
        /* The first head's deadline counts from the connection's open,
         * not its first byte: time spent silent (or in TLS's handshake)
         * cannot buy a slow head a second deadline. */
        uint64_t start = c->requests == 0 ? c->opened_ms : c->req.started_ms;
        if (now - start >= l->header_timeout_ms)
            fail(c, 408, "request headers not received in time", now);
        return;
    }
    case HTTP_CONN_BODY:
        if (age >= l->body_timeout_ms) {
            fail(c, 408, "request body not received in time", now);
            return;
        }
        if (l->body_min_rate > 0 &&
            now - c->window_start_ms >= l->body_window_ms) {
            uint64_t need = l->body_min_rate * l->body_window_ms / 1000;
            if (c->window_bytes < need) {
                fail(c, 408, "request body arriving too slowly", now);
                return;
            }
            c->window_start_ms = now;
            c->window_bytes = 0;
        }
        return;
    case HTTP_CONN_WRITING:
        if (age >= l->send_timeout_ms)
            close_now(c, now);
        return;
    case HTTP_CONN_LINGER:
        if (age >= l->linger_ms)
            close_now(c, now);
        return;
    case HTTP_CONN_HANDLING:
    case HTTP_CONN_CLOSED:
        return;
    }
}
