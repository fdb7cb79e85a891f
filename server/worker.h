/*
 * worker: one event loop thread: its listener, its client connections
 * (the libuv transport under http_conn), its deadline sweep and its
 * database session.
 *
 * With TLS (server/tls.h) a client also holds a tls_conn between the
 * socket and the http_conn: ciphertext read is fed to it and the plaintext
 * it gives goes to http_conn; http_conn's answers are encrypted and the
 * ciphertext written. The plain path is the same code without the engine.
 *
 * Client memory: a struct client holds the TCP handle and the http_conn;
 * it is freed only in the handle's close callback (style.md 15). Deadlines
 * are not one timer per connection: a sweep every WORKER_SWEEP_MS asks each
 * connection to apply its own (http_conn_tick), which costs microseconds
 * for thousands of connections and adds at most one sweep to a deadline.
 *
 * Stopping: on the server's stop signal the worker closes its listener,
 * drains its connections (idle ones close at once, busy ones after their
 * answer), force-closes what is left after shutdown_timeout_ms, then closes
 * its database session and lets its loop end.
 */
#ifndef TIPD_WORKER_H
#define TIPD_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "batch.h"
#include "ratelimit.h"
#include "regions.h"
#include "db.h"
#include "staffdb.h"
#include "metrics.h"
#include "sms_sweep.h"

#define WORKER_SWEEP_MS 100

struct server;
struct client;

struct worker {
    int index;
    struct server *server; /* borrowed */
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t wakeup; /* the main thread asks us to stop */
    uv_timer_t sweep;  /* connection deadlines */
    uv_thread_t thread;
    struct metrics metrics; /* written by this thread only */
    struct db_session db;
    struct batcher batcher;      /* group commit on db */
    struct staffdb staff;        /* the staff API's walled session */
    struct ratelimit limits;     /* public routes' token buckets */
    struct ratelimit sms_status; /* status SMS per sender hash */

    /* Worker 0's SMS housekeeping: fragments, expired repeat keys. */
    struct sms_sweep sms_sweep;

    struct ratelimit_key rl_key;  /* in memory only; rotated */
    struct regions_cache regions; /* the public form's region list */
    struct client *clients;       /* owned list of open connections */
    bool stopping;
    bool finishing; /* closing the loop's own handles */
    uint64_t stop_deadline_ms;
    char read_buf[65536]; /* every read lands here, then is copied */
    char tls_buf[16384];  /* TLS: one record's plaintext, then copied */
};

/*
 * Prepares w on the calling thread: loop, listener on fd (takes ownership),
 * timers. 0, or a negative libuv error.
 */
int worker_init(struct worker *w, struct server *server, int index, int fd);
/* Starts the thread. 0, or a negative libuv error. */
int worker_start(struct worker *w);
/* Asks the worker to drain and stop (any thread). */
void worker_stop(struct worker *w);
/* Waits for the thread and closes its loop. */
void worker_join(struct worker *w);
/* Frees what init made. Only once every worker is joined: a scrape of
 * /metrics on any worker reads every worker's counters. */
void worker_cleanup(struct worker *w);

#endif
