/*
 * fake: the loopback transport and the test routes (/healthz, /echo, which
 * answers its body back, and /count, which counts how often it ran).
 */
#include "fake.h"

#include <string.h>

#include "util.h"

static struct fake *fake_of(struct http_conn *c)
{
    return container_of(c, struct fake, conn);
}

static void f_write(struct http_conn *c, const struct iovec *iov, int n)
{
    struct fake *f = fake_of(c);
    for (int i = 0; i < n; i++)
        buf_append(&f->out, iov[i].iov_base, iov[i].iov_len);
    f->writes_queued++;
}

static void f_read_start(struct http_conn *c)
{
    fake_of(c)->reading = true;
}

static void f_read_stop(struct http_conn *c)
{
    fake_of(c)->reading = false;
}

static void f_shutdown(struct http_conn *c)
{
    fake_of(c)->shut = true;
}

static void f_close(struct http_conn *c)
{
    fake_of(c)->closed = true;
}

static const struct http_conn_ops fake_ops = {
    .write = f_write,
    .read_start = f_read_start,
    .read_stop = f_read_stop,
    .shutdown = f_shutdown,
    .close = f_close,
};

static int h_healthz(void *app, struct http_conn *conn,
                     struct http_request *req, struct http_response *res)
{
    res->content_type = "application/json";
    buf_appends(&res->body, "{\"status\":\"ok\"}\n");
    return 200;
}

static int h_echo(void *app, struct http_conn *conn, struct http_request *req,
                  struct http_response *res)
{
    fake_of(conn)->handled++;
    res->content_type = "application/octet-stream";
    buf_append(&res->body, req->body.data, req->body.len);
    return 200;
}

static int h_count(void *app, struct http_conn *conn, struct http_request *req,
                   struct http_response *res)
{
    fake_of(conn)->handled++;
    return 204;
}

/* A route whose admission always says "too busy". */
static int admit_busy(void *app, struct http_conn *conn,
                      struct http_response *res)
{
    return 503;
}

static const struct route table[] = {
    {HTTP_METHOD_GET, "/healthz", h_healthz, 0, "healthz", NULL},
    {HTTP_METHOD_POST, "/echo", h_echo, 1024, "echo", NULL},
    {HTTP_METHOD_GET, "/count", h_count, 0, "count", NULL},
    {HTTP_METHOD_POST, "/busy", h_echo, 1024, "busy", admit_busy},
};
const struct router fake_router = {table, ARRAY_SIZE(table)};

void fake_init(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    f->limits = (struct http_limits){
        .head = {.request_line = 256,
                 .header_line = 256,
                 .header_count = 16,
                 .head = 2048},
        .body_max = 4096,
        .response_max = 65536,
        .header_timeout_ms = 1000,
        .body_timeout_ms = 5000,
        .body_min_rate = 10,
        .body_window_ms = 1000,
        .idle_timeout_ms = 3000,
        .send_timeout_ms = 2000,
        .linger_ms = 500,
    };
    buf_init(&f->inbox, 1 << 20);
    buf_init(&f->out, 1 << 22);
    f->now = 1000000;
}

void fake_start(struct fake *f)
{
    http_conn_init(&f->conn, &fake_ops, &f->limits, &fake_router, f, f->now);
    f->reading = true;
}

void fake_cleanup(struct fake *f)
{
    http_conn_cleanup(&f->conn);
    buf_cleanup(&f->inbox);
    buf_cleanup(&f->out);
}

void fake_pump(struct fake *f)
{
    for (;;) {
        if (f->closed)
            return;
        if (f->reading && f->inbox.len > 0) {
            /* Deliver a copy: the connection may feed more into inbox. */
            struct buf chunk;
            buf_init(&chunk, f->inbox.len);
            buf_append(&chunk, f->inbox.data, f->inbox.len);
            buf_reset(&f->inbox);
            http_conn_on_read(&f->conn, chunk.data, chunk.len, f->now);
            buf_cleanup(&chunk);
            continue;
        }
        if (f->writes_queued > 0 && !f->hold_writes) {
            f->writes_queued--;
            http_conn_on_written(&f->conn, 0, f->now);
            continue;
        }
        return;
    }
}

void fake_feed(struct fake *f, const char *data, size_t len)
{
    buf_append(&f->inbox, data, len);
    fake_pump(f);
}

void fake_feeds(struct fake *f, const char *s)
{
    fake_feed(f, s, strlen(s));
}

void fake_advance(struct fake *f, uint64_t ms)
{
    f->now += ms;
    if (!f->closed)
        http_conn_tick(&f->conn, f->now);
    fake_pump(f);
}
