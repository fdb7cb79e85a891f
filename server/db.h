/*
 * db: one worker's PostgreSQL session on its libuv loop, kept alive by
 * itself.
 *
 * The session connects without blocking (PQconnectStart/PQconnectPoll),
 * probes the server with a tiny query every probe interval, and on any
 * failure (refused, timed out, connection killed, server paused) drops the
 * connection and reconnects with a doubling backoff. /readyz reports a
 * worker ready only while its last probe was answered in time. Intake's
 * group commit (a later module) sends its batches on this session.
 *
 * States (set_state() in db.c is the only writer):
 *
 *   WAITING --backoff timer--> CONNECTING --PQconnectPoll OK--> PROBING
 *      ^                           | failed / timed out          |   ^
 *      +---------------------------+------ lost, probe timeout --+   |
 *                                                  probe answered|   |
 *                                                                v   |
 *                                                   IDLE --interval--+
 *   any --db_session_stop--> CLOSING --handles closed--> CLOSED
 */
#ifndef TIPD_DB_H
#define TIPD_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "metrics.h"

struct db_options {
    const char *conninfo; /* borrowed; libpq connection string */
    uint64_t connect_timeout_ms;
    uint64_t probe_interval_ms;
    uint64_t probe_timeout_ms;
    uint64_t reconnect_max_ms;
};

#define DB_STATE_MAP(X)                                                        \
    X(WAITING, "waiting")                                                      \
    X(CONNECTING, "connecting")                                                \
    X(IDLE, "idle")                                                            \
    X(PROBING, "probing")                                                      \
    X(CLOSING, "closing")                                                      \
    X(CLOSED, "closed")

enum db_state {
#define X(name, text) DB_##name,
    DB_STATE_MAP(X)
#undef X
};

struct db_poll;
struct db_session;
typedef void (*db_closed_cb)(struct db_session *s);

struct db_session {
    uv_loop_t *loop;              /* borrowed */
    const struct db_options *opt; /* borrowed */
    struct metrics *metrics;      /* borrowed; may be NULL */
    int worker;                   /* for log lines */
    PGconn *pg;                   /* owned; NULL unless connecting/up */
    struct db_poll *poll;         /* owned; watches PQsocket(pg) */
    uv_timer_t timer;             /* one deadline per state */
    enum db_state state;
    bool ready;          /* last probe answered in time */
    uint64_t backoff_ms; /* next reconnect wait */
    int pending_closes;  /* handles still closing */
    db_closed_cb on_closed;
};

/* Caller storage; the session lives on loop. Starts connecting at once. */
void db_session_start(struct db_session *s, uv_loop_t *loop,
                      const struct db_options *opt, struct metrics *metrics,
                      int worker);
/* Closes the session; cb runs once every handle is closed. */
void db_session_stop(struct db_session *s, db_closed_cb cb);
bool db_session_ready(const struct db_session *s);

#endif
