/*
 * worker: libuv under http_conn. Everything here runs on the worker's own
 * thread except worker_stop, which only signals the wakeup handle.
 *
 * TLS sits between libuv's callbacks and http_conn's: a read is fed to the
 * connection's engine and drained into http_conn record by record; every
 * write of http_conn is encrypted and its ciphertext written, and the
 * engine's own bytes (handshake, alerts, close_notify) are sent after each
 * read and at shutdown. A connection whose TLS failed or was closed by the
 * peer takes no more bytes, so a client cannot grow the engine's buffers.
 */
#include "worker.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "http_conn.h"
#include "log.h"
#include "server.h"
#include "tls.h"
#include "util.h"

struct client {
    uv_tcp_t tcp;
    struct http_conn http;
    struct worker *worker; /* borrowed */
    struct client *prev, *next;
    struct tls_conn *tls; /* owned; NULL: plain HTTP */
    bool reading;
    bool tls_counted; /* the handshake's outcome is in the metrics */
};

struct write_req {
    uv_write_t req;
    struct client *client;
    bool notify; /* http_conn's write: tell it when written */
    char data[]; /* TLS: the ciphertext written */
};

static struct client *client_of(struct http_conn *c)
{
    return container_of(c, struct client, http);
}

static void maybe_finish(struct worker *w);

static void on_client_closed(uv_handle_t *h)
{
    struct client *cl = h->data;
    struct worker *w = cl->worker;
    if (cl->prev != NULL)
        cl->prev->next = cl->next;
    else
        w->clients = cl->next;
    if (cl->next != NULL)
        cl->next->prev = cl->prev;
    http_conn_cleanup(&cl->http);
    if (cl->tls != NULL) {
        if (!cl->tls_counted)
            atomic_fetch_add_explicit(&w->metrics.tls_handshakes_unfinished, 1,
                                      memory_order_relaxed);
        tls_conn_cleanup(cl->tls);
        free(cl->tls);
    }
    free(cl);
    atomic_fetch_sub(&w->server->connections, 1);
    atomic_fetch_sub_explicit(&w->metrics.connections_open, 1,
                              memory_order_relaxed);
    maybe_finish(w);
}

static void client_close(struct client *cl)
{
    if (!uv_is_closing((uv_handle_t *)&cl->tcp))
        uv_close((uv_handle_t *)&cl->tcp, on_client_closed);
}

static void on_write(uv_write_t *req, int status)
{
    struct write_req *wr = container_of(req, struct write_req, req);
    struct client *cl = wr->client;
    bool notify = wr->notify;
    free(wr);
    if (notify)
        http_conn_on_written(&cl->http, status, util_now_ms());
}

/*
 * Writes the ciphertext waiting in cl's TLS engine, in one write request
 * that carries it. notify: the write is http_conn's answer (written even
 * when empty, so http_conn hears of it). 0, or a libuv error.
 */
static int tls_send(struct client *cl, bool notify)
{
    size_t n = tls_conn_pending(cl->tls);
    if (n == 0 && !notify)
        return 0;
    struct write_req *wr = xmalloc(sizeof(*wr) + n);
    wr->client = cl;
    wr->notify = notify;
    size_t got = tls_conn_take(cl->tls, wr->data, n);
    uv_buf_t buf = uv_buf_init(wr->data, (unsigned)got);
    int rc = uv_write(&wr->req, (uv_stream_t *)&cl->tcp, &buf, 1, on_write);
    if (rc != 0)
        free(wr);
    return rc;
}

static void t_write(struct http_conn *c, const struct iovec *iov, int n)
{
    struct client *cl = client_of(c);
    if (cl->tls != NULL) {
        int rc = 0;
        for (int i = 0; i < n && rc == 0; i++)
            rc = tls_conn_write(cl->tls, iov[i].iov_base, iov[i].iov_len);
        if (rc == 0)
            rc = tls_send(cl, true);
        if (rc != 0)
            client_close(cl); /* as a failing stream below */
        return;
    }
    uv_buf_t bufs[2];
    if (n > 2)
        n = 2;
    for (int i = 0; i < n; i++)
        bufs[i] = uv_buf_init(iov[i].iov_base, (unsigned)iov[i].iov_len);
    struct write_req *wr = xmalloc(sizeof(*wr));
    wr->client = cl;
    wr->notify = true;
    if (uv_write(&wr->req, (uv_stream_t *)&cl->tcp, bufs, (unsigned)n,
                 on_write) != 0) {
        /* The stream is already failing: close; the close callback frees
         * everything and no write callback will come. */
        free(wr);
        client_close(cl);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct client *cl = h->data;
    (void)suggested;
    *buf = uv_buf_init(cl->worker->read_buf, sizeof(cl->worker->read_buf));
}

static void t_read_stop(struct http_conn *c);

/* Counts the handshake's outcome once it is known. */
static void count_handshake(struct client *cl)
{
    struct metrics *m = &cl->worker->metrics;
    if (cl->tls_counted)
        return;
    if (cl->tls->handshaken) {
        atomic_fetch_add_explicit(&m->tls_handshakes_ok, 1,
                                  memory_order_relaxed);
        cl->tls_counted = true;
    } else if (cl->tls->state == TLS_CONN_FAILED) {
        atomic_fetch_add_explicit(&m->tls_handshakes_failed, 1,
                                  memory_order_relaxed);
        cl->tls_counted = true;
        /* OpenSSL's reason only ("no shared cipher", "unsupported
         * protocol"): never who the client was. */
        log_debug("tls_handshake_failed", "worker=%d reason=\"%s\"",
                  cl->worker->index, cl->tls->reason);
    }
}

/* Ciphertext read: decrypted into http_conn as far as it goes. */
static void tls_read(struct client *cl, const char *data, size_t len,
                     uint64_t now)
{
    struct tls_conn *t = cl->tls;
    struct worker *w = cl->worker;
    uv_handle_t *h = (uv_handle_t *)&cl->tcp;
    if (t->state == TLS_CONN_FAILED || t->state == TLS_CONN_CLOSED)
        return; /* discarded unbuffered: nothing can come after these */
    int rc = tls_conn_feed(t, data, len);
    while (rc == 0 && !uv_is_closing(h)) {
        int n = tls_conn_read(t, w->tls_buf, sizeof(w->tls_buf));
        if (n <= 0) {
            rc = n;
            break;
        }
        http_conn_on_read(&cl->http, w->tls_buf, (size_t)n, now);
    }
    count_handshake(cl);
    if (uv_is_closing(h))
        return;
    /* The handshake's next flight, or the alert that refuses it. */
    tls_send(cl, false);
    if (rc < 0) {
        /* The peer's close_notify is its end of stream; bytes that are
         * not TLS end the connection as a reset would. */
        t_read_stop(&cl->http);
        http_conn_on_eof(&cl->http, now);
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct client *cl = s->data;
    uint64_t now = util_now_ms();
    if (cl->tls != NULL && nread > 0)
        tls_read(cl, buf->base, (size_t)nread, now);
    else if (nread > 0)
        http_conn_on_read(&cl->http, buf->base, (size_t)nread, now);
    else if (nread < 0)
        http_conn_on_eof(&cl->http, now); /* EOF, or a reset */
}

static void t_read_start(struct http_conn *c)
{
    struct client *cl = client_of(c);
    if (cl->reading || uv_is_closing((uv_handle_t *)&cl->tcp))
        return;
    if (uv_read_start((uv_stream_t *)&cl->tcp, on_alloc, on_read) == 0)
        cl->reading = true;
}

static void t_read_stop(struct http_conn *c)
{
    struct client *cl = client_of(c);
    if (!cl->reading)
        return;
    uv_read_stop((uv_stream_t *)&cl->tcp);
    cl->reading = false;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status; /* a failed half-close ends in close all the same */
    free(req);
}

static void t_shutdown(struct http_conn *c)
{
    struct client *cl = client_of(c);
    if (cl->tls != NULL) {
        /* close_notify first: the client can tell our end from a cut. */
        tls_conn_close_notify(cl->tls);
        tls_send(cl, false);
    }
    uv_shutdown_t *req = xmalloc(sizeof(*req));
    if (uv_shutdown(req, (uv_stream_t *)&cl->tcp, on_shutdown) != 0)
        free(req);
}

static void t_close(struct http_conn *c)
{
    struct client *cl = client_of(c);
    if (cl->tls != NULL && !uv_is_closing((uv_handle_t *)&cl->tcp)) {
        /* Best effort: a close_notify that fits the socket goes now. */
        tls_conn_close_notify(cl->tls);
        tls_send(cl, false);
    }
    client_close(cl);
}

static void t_request_done(struct http_conn *c, const struct route *route,
                           int status, uint64_t duration_ms)
{
    struct client *cl = client_of(c);
    metrics_observe(&cl->worker->metrics, route, status, duration_ms);
    /* Method, route and status only: never the target (it may carry a
     * case id or query), never the client's address. */
    if (cl->worker->server->config->log_requests)
        log_info("request", "worker=%d method=%s route=%s status=%d ms=%llu",
                 cl->worker->index, c->req.method_name,
                 route ? route->name : "none", status,
                 (unsigned long long)duration_ms);
}

static const struct http_conn_ops tcp_ops = {
    .write = t_write,
    .read_start = t_read_start,
    .read_stop = t_read_stop,
    .shutdown = t_shutdown,
    .close = t_close,
    .request_done = t_request_done,
};

static void on_refused_closed(uv_handle_t *h)
{
    free(h);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct worker *w = listener->data;
    if (status < 0) {
        log_warn("accept_failed", "worker=%d error=%s", w->index,
                 uv_err_name(status));
        return;
    }
    struct server *srv = w->server;
    if (atomic_load(&srv->connections) >= srv->config->max_connections ||
        w->stopping) {
        /* Accept and close at once: the excess costs nothing further
         * and the client learns immediately (spec/reliability.md D4). */
        uv_tcp_t *t = xmalloc(sizeof(*t));
        uv_tcp_init(&w->loop, t);
        if (uv_accept(listener, (uv_stream_t *)t) == 0)
            atomic_fetch_add_explicit(&w->metrics.connections_refused, 1,
                                      memory_order_relaxed);
        uv_close((uv_handle_t *)t, on_refused_closed);
        return;
    }

    struct client *cl = xcalloc(1, sizeof(*cl));
    cl->worker = w;
    uv_tcp_init(&w->loop, &cl->tcp);
    cl->tcp.data = cl;
    if (uv_accept(listener, (uv_stream_t *)&cl->tcp) != 0) {
        uv_close((uv_handle_t *)&cl->tcp, on_refused_closed);
        return;
    }
    if (tls_context_enabled(&srv->tls)) {
        cl->tls = xmalloc(sizeof(*cl->tls));
        if (tls_conn_init(cl->tls, &srv->tls) != 0) {
            log_error("tls_conn_failed",
                      "worker=%d reason=\"OpenSSL could "
                      "not allocate a connection\"",
                      w->index);
            free(cl->tls);
            uv_close((uv_handle_t *)&cl->tcp, on_refused_closed);
            return;
        }
    }
    uv_tcp_nodelay(&cl->tcp, 1);
    /* The address is hashed and forgotten here; nothing keeps it. */
    struct sockaddr_storage peer;
    int peer_len = sizeof(peer);
    uint64_t client = 0;
    if (uv_tcp_getpeername(&cl->tcp, (struct sockaddr *)&peer, &peer_len) == 0)
        client =
            ratelimit_client(&w->rl_key, (struct sockaddr *)&peer,
                             (unsigned)srv->config->rate_limit_ipv4_prefix,
                             (unsigned)srv->config->rate_limit_ipv6_prefix);
    memset(&peer, 0, sizeof(peer));
    http_conn_init(&cl->http, &tcp_ops, &srv->limits, srv->router, w,
                   util_now_ms());
    cl->http.client = client;
    /* The handshake's time counts against the first header deadline. */
    cl->next = w->clients;
    if (w->clients != NULL)
        w->clients->prev = cl;
    w->clients = cl;
    atomic_fetch_add(&srv->connections, 1);
    atomic_fetch_add_explicit(&w->metrics.connections_open, 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&w->metrics.connections_accepted, 1,
                              memory_order_relaxed);
    t_read_start(&cl->http);
}

static void on_sweep(uv_timer_t *t)
{
    struct worker *w = t->data;
    uint64_t now = util_now_ms();
    bool force = w->stopping && now >= w->stop_deadline_ms;
    batcher_expire(&w->batcher, now);
    /* One sweeper per node is enough; SKIP LOCKED keeps nodes apart. */
    if (w->index == 0 && !w->stopping)
        sms_sweep_tick(&w->sms_sweep, &w->db, w->server->config, now);
    if (now - w->rl_key.made_ms >=
        w->server->config->rate_limit_key_rotation_s * 1000) {
        ratelimit_key_init(&w->rl_key, now);
        ratelimit_reset(&w->limits);
    }
    for (struct client *cl = w->clients; cl != NULL; cl = cl->next) {
        if (uv_is_closing((uv_handle_t *)&cl->tcp))
            continue;
        if (force && cl->http.state != HTTP_CONN_HANDLING)
            client_close(cl);
        else
            http_conn_tick(&cl->http, now);
    }
}

static void on_loop_handle_closed(uv_handle_t *h)
{
    (void)h; /* handles embedded in struct worker: nothing to free */
}

static void on_db_closed(struct db_session *s)
{
    struct worker *w = container_of(s, struct worker, db);
    batcher_cleanup(&w->batcher);
    uv_close((uv_handle_t *)&w->sweep, on_loop_handle_closed);
    uv_close((uv_handle_t *)&w->wakeup, on_loop_handle_closed);
}

/* The staff session first, then the intake session. */
static void on_staff_closed(struct db_session *s)
{
    struct worker *w = container_of(s, struct worker, staff.db);
    db_session_stop(&w->db, on_db_closed);
}

static void maybe_finish(struct worker *w)
{
    if (!w->stopping || w->finishing || w->clients != NULL)
        return;
    w->finishing = true;
    staffdb_stop(&w->staff, on_staff_closed);
}

static void on_wakeup(uv_async_t *a)
{
    struct worker *w = a->data;
    if (w->stopping || !atomic_load(&w->server->stopping))
        return;
    w->stopping = true;
    w->stop_deadline_ms =
        util_now_ms() + w->server->config->shutdown_timeout_ms;
    uv_close((uv_handle_t *)&w->listener, on_loop_handle_closed);
    struct client *next;
    for (struct client *cl = w->clients; cl != NULL; cl = next) {
        next = cl->next;
        if (!uv_is_closing((uv_handle_t *)&cl->tcp))
            http_conn_drain(&cl->http);
    }
    maybe_finish(w);
}

int worker_init(struct worker *w, struct server *server, int index, int fd)
{
    memset(w, 0, sizeof(*w));
    w->index = index;
    w->server = server;
    int rc = uv_loop_init(&w->loop);
    if (rc != 0)
        return rc;
    metrics_init(&w->metrics, server->router);
    const struct config *c = server->config;
    ratelimit_init(&w->limits, c->rate_limit_slots, c->rate_limit_per_minute,
                   c->rate_limit_burst);
    ratelimit_init_per_hour(&w->sms_status, c->rate_limit_slots,
                            c->sms_status_per_hour, c->sms_status_burst);
    if (ratelimit_key_init(&w->rl_key, util_now_ms()) != 0)
        return UV_EIO;
    uv_tcp_init(&w->loop, &w->listener);
    w->listener.data = w;
    rc = uv_tcp_open(&w->listener, fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&w->listener,
                       (int)server->config->listen_backlog, on_connection);
    uv_async_init(&w->loop, &w->wakeup, on_wakeup);
    w->wakeup.data = w;
    uv_timer_init(&w->loop, &w->sweep);
    w->sweep.data = w;
    if (rc != 0) {
        uv_close((uv_handle_t *)&w->listener, NULL);
        uv_close((uv_handle_t *)&w->wakeup, NULL);
        uv_close((uv_handle_t *)&w->sweep, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
        metrics_cleanup(&w->metrics);
        ratelimit_cleanup(&w->limits);
        ratelimit_cleanup(&w->sms_status);
    }
    return rc;
}

static void run(void *arg)
{
    struct worker *w = arg;
    uv_timer_start(&w->sweep, on_sweep, WORKER_SWEEP_MS, WORKER_SWEEP_MS);
    db_session_start(&w->db, &w->loop, &w->server->db, &w->metrics, w->index);
    batcher_init(&w->batcher, &w->db, &w->server->batch, &w->metrics);
    staffdb_start(&w->staff, &w->loop, &w->server->staff_db, &w->metrics,
                  w->index, (int)w->server->config->staff_group_max);
    /* A stop may have been signalled before the loop ran. */
    on_wakeup(&w->wakeup);
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

int worker_start(struct worker *w)
{
    return uv_thread_create(&w->thread, run, w);
}

void worker_stop(struct worker *w)
{
    uv_async_send(&w->wakeup);
}

void worker_join(struct worker *w)
{
    uv_thread_join(&w->thread);
    int rc = uv_loop_close(&w->loop);
    if (rc != 0)
        log_warn("loop_close", "worker=%d error=%s", w->index, uv_err_name(rc));
}

void worker_cleanup(struct worker *w)
{
    metrics_cleanup(&w->metrics);
    ratelimit_cleanup(&w->limits);
    regions_cache_cleanup(&w->regions);
    ratelimit_cleanup(&w->sms_status);
    OPENSSL_cleanse(&w->rl_key, sizeof(w->rl_key));
}
