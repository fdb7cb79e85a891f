/*
 * db: one worker's PostgreSQL session on its libuv loop: it connects by
 * itself, runs one job at a time in pipeline mode, and proves itself alive.
 *
 * A job is a short sequence of statements sent back to back and closed by
 * one PQpipelineSync, so it costs one round trip and is all-or-nothing when
 * it opens a transaction (an error aborts the rest until the sync). Intake's
 * group commit is a job; so is the probe (`SELECT 1`) sent when the session
 * has been idle for db_probe_interval_ms. On any failure (refused, timed
 * out, connection killed, server paused) the session drops the connection,
 * finishes the job in flight with a negative status (its outcome is then
 * unknown), and reconnects with a doubling backoff. /readyz reports a
 * worker ready only while its session is up and its last job or probe was
 * answered in time.
 *
 * States (set_state() in db.c is the only writer):
 *
 *   WAITING --backoff--> CONNECTING --connected--> BUSY (probe) --sync--> IDLE
 *      ^                     | failed, timed out      ^  |                 |
 *      +---------------------+------------------------|--+ lost, timeout   |
 *                                                     +-- job or probe ----+
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
    uint64_t job_timeout_ms; /* a job unanswered this long drops the link */
    uint64_t reconnect_max_ms;
};

#define DB_STATE_MAP(X)                                                        \
    X(WAITING, "waiting")                                                      \
    X(CONNECTING, "connecting")                                                \
    X(IDLE, "idle")                                                            \
    X(BUSY, "busy")                                                            \
    X(CLOSING, "closing")                                                      \
    X(CLOSED, "closed")

enum db_state {
#define X(name, text) DB_##name,
    DB_STATE_MAP(X)
#undef X
};

struct db_job;

/* Sends the job's statements (PQsendQueryParams; pipeline mode is on).
 * 0, or -1 if libpq refused one (the session is then reset). */
typedef int (*db_job_send_cb)(struct db_job *job, PGconn *pg);
/* One result of the job's statements, in order; borrowed for the call. */
typedef void (*db_job_result_cb)(struct db_job *job, const PGresult *res);
/* The job's end. 0: every result was delivered (a transaction committed
 * only if its COMMIT result said so). Negative: the session failed first;
 * whether a COMMIT sent took effect is unknown. */
typedef void (*db_job_done_cb)(struct db_job *job, int status);

struct db_job {
    db_job_send_cb send;
    db_job_result_cb result;
    db_job_done_cb done;
    struct db_job *next; /* the session's queue link */
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
    uv_timer_t timer;             /* the deadline of the current state */
    enum db_state state;
    bool ready;                /* up, and the last job answered in time */
    struct db_job *job;        /* borrowed: in flight (BUSY), or NULL */
    struct db_job *queue;      /* borrowed: waiting jobs, oldest first */
    struct db_job *queue_tail; /* borrowed: the newest waiting job */
    bool probe_failed;         /* the probe in flight got an error */
    uint64_t connects;         /* connections made: a new one has no prepared
                                  statements */
    uint64_t backoff_ms;       /* next reconnect wait */
    int pending_closes;        /* handles still closing */
    db_closed_cb on_closed;
    void (*on_idle)(struct db_session *s, void *data); /* may be NULL */
    void *on_idle_data;
};

/* Caller storage; the session lives on loop. Starts connecting at once. */
void db_session_start(struct db_session *s, uv_loop_t *loop,
                      const struct db_options *opt, struct metrics *metrics,
                      int worker);

/*
 * Queues job behind those already waiting. Returns 0, or -1 if the session
 * is not up: the job's callbacks are then never called. Once accepted, done
 * is called exactly once (possibly before this returns, if the connection
 * fails on sending), and job must stay valid until then.
 */
int db_session_submit(struct db_session *s, struct db_job *job);

/* Whether the session is up with nothing in flight or waiting: the moment
 * group commit sends its next batch. */
bool db_session_idle(const struct db_session *s);

/* Called whenever the session becomes idle (see db_session_idle). */
void db_session_on_idle(struct db_session *s,
                        void (*cb)(struct db_session *s, void *data),
                        void *data);

/* Closes the session; a job in flight ends with a negative status; cb runs
 * once every handle is closed. */
void db_session_stop(struct db_session *s, db_closed_cb cb);
bool db_session_ready(const struct db_session *s);

/*
 * A blocking connection for the commands that run before or instead of
 * serving (migrate, units, token). Returns it (free with PQfinish), or NULL
 * with err saying what to fix.
 */
PGconn *db_connect_blocking(const char *conninfo, char *err, size_t errlen);

/*
 * conninfo (a libpq connection string or URI) with its user replaced by
 * user, as a key=value string (free it), or NULL with err saying what is
 * wrong with conninfo.
 */
char *db_conninfo_with_user(const char *conninfo, const char *user, char *err,
                            size_t errlen);

#endif
