/*
 * db: the session state machine over libpq's asynchronous API.
 *
 * Two traps of libpq on libuv (notes/platform.md) shape this file. libpq may
 * close its socket inside PQconnectPoll and open a new one with the same fd
 * number, so the poll handle is closed before every PQconnectPoll and a new
 * one made after. And a poll callback with status < 0 stops the handle but
 * is not itself the error: we call into libpq and let it say what happened.
 *
 * The connection stays in pipeline mode from connect to close. A job's
 * results are read until its PGRES_PIPELINE_SYNC; PQgetResult's NULL
 * between two statements' results is only a separator there.
 */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "util.h"

struct db_poll {
    uv_poll_t handle;
    struct db_session *s;
};

static void on_poll(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);

static void set_ready(struct db_session *s, bool ready)
{
    s->ready = ready;
    if (s->metrics != NULL)
        atomic_store_explicit(&s->metrics->db_ready, ready ? 1 : 0,
                              memory_order_relaxed);
}

/* Readiness survives only the IDLE <-> BUSY cycle. */
static void set_state(struct db_session *s, enum db_state next)
{
    s->state = next;
    if (next != DB_IDLE && next != DB_BUSY)
        set_ready(s, false);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct db_session *s = h->data;
    if (h->type == UV_POLL)
        free(container_of(h, struct db_poll, handle));
    if (--s->pending_closes == 0 && s->state == DB_CLOSING) {
        s->state = DB_CLOSED;
        if (s->on_closed != NULL)
            s->on_closed(s);
    }
}

static void poll_close(struct db_session *s)
{
    if (s->poll == NULL)
        return;
    uv_poll_stop(&s->poll->handle);
    s->pending_closes++;
    uv_close((uv_handle_t *)&s->poll->handle, on_handle_closed);
    s->poll = NULL;
}

/* Watches the current libpq socket for events. -1 if there is none. */
static int poll_open(struct db_session *s, int events)
{
    int fd = PQsocket(s->pg);
    if (fd < 0)
        return -1;
    struct db_poll *p = xmalloc(sizeof(*p));
    p->s = s;
    if (uv_poll_init(s->loop, &p->handle, fd) != 0) {
        free(p);
        return -1;
    }
    p->handle.data = s;
    s->poll = p;
    uv_poll_start(&p->handle, events, on_poll);
    return 0;
}

static void arm(struct db_session *s, uint64_t ms)
{
    uv_timer_start(&s->timer, on_timer, ms, 0);
}

/* Ends the job in flight, if any, and every waiting job, with status. */
static void finish_jobs(struct db_session *s, int status)
{
    struct db_job *job = s->job;
    s->job = NULL;
    if (job != NULL && job->done != NULL)
        job->done(job, status);
    while (s->queue != NULL) {
        job = s->queue;
        s->queue = job->next;
        if (s->queue == NULL)
            s->queue_tail = NULL;
        if (job->done != NULL)
            job->done(job, -ENOTCONN); /* never sent */
    }
}

/* Drops the connection and schedules the next attempt. */
static void lose(struct db_session *s, const char *why)
{
    bool was_up = s->state == DB_IDLE || s->state == DB_BUSY;
    if (s->metrics != NULL)
        atomic_fetch_add_explicit(&s->metrics->db_failures, 1,
                                  memory_order_relaxed);
    /* libpq's message names the server and the cause; it carries no
     * client data. */
    log_warn(was_up ? "db_lost" : "db_connect_failed",
             "worker=%d reason=\"%s\" detail=\"%s\" retry_ms=%llu", s->worker,
             why, s->pg ? PQerrorMessage(s->pg) : "",
             (unsigned long long)s->backoff_ms);
    poll_close(s);
    if (s->pg != NULL) {
        PQfinish(s->pg);
        s->pg = NULL;
    }
    set_state(s, DB_WAITING);
    arm(s, s->backoff_ms);
    s->backoff_ms *= 2;
    if (s->backoff_ms > s->opt->reconnect_max_ms)
        s->backoff_ms = s->opt->reconnect_max_ms;
    finish_jobs(s, -ECONNRESET);
}

/* The probe: a job of the session's own. */
static int probe_send(struct db_job *job, PGconn *pg)
{
    return PQsendQueryParams(pg, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0) == 1
               ? 0
               : -1;
}

static struct db_job probe_job = {probe_send, NULL, NULL, NULL};

/*
 * A job's explicit transaction (BEGIN ... COMMIT) that hit an error stays
 * open and aborted past the sync: pipeline mode skips the COMMIT. The
 * session ends it before the next job, which would otherwise fail on it.
 */
static int rollback_send(struct db_job *job, PGconn *pg)
{
    (void)job;
    return PQsendQueryParams(pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0) == 1
               ? 0
               : -1;
}

static struct db_job rollback_job = {rollback_send, NULL, NULL, NULL};

static int run_job(struct db_session *s, struct db_job *job);

/* Runs the next waiting job, or rests until the probe interval. */
static void next_job(struct db_session *s)
{
    set_state(s, DB_IDLE);
    if (s->queue != NULL) {
        struct db_job *job = s->queue;
        s->queue = job->next;
        if (s->queue == NULL)
            s->queue_tail = NULL;
        run_job(s, job);
        return;
    }
    arm(s, s->opt->probe_interval_ms);
    if (s->on_idle != NULL)
        s->on_idle(s, s->on_idle_data);
}

/* Sends job with its sync; the session must be IDLE. */
static int run_job(struct db_session *s, struct db_job *job)
{
    s->job = job;
    s->probe_failed = false;
    set_state(s, DB_BUSY);
    if (job->send(job, s->pg) != 0 || PQpipelineSync(s->pg) != 1) {
        lose(s, "statement not sent");
        return 0; /* accepted: done() has run with the failure */
    }
    int flushed = PQflush(s->pg);
    if (flushed < 0) {
        lose(s, "write failed");
        return 0;
    }
    poll_close(s);
    poll_open(s, UV_READABLE | (flushed == 1 ? UV_WRITABLE : 0));
    arm(s,
        job == &probe_job ? s->opt->probe_timeout_ms : s->opt->job_timeout_ms);
    return 0;
}

static void start_connect(struct db_session *s)
{
    s->pg = PQconnectStart(s->opt->conninfo);
    if (s->pg == NULL || PQstatus(s->pg) == CONNECTION_BAD) {
        lose(s, "connection could not start");
        return;
    }
    PQsetnonblocking(s->pg, 1);
    set_state(s, DB_CONNECTING);
    if (poll_open(s, UV_WRITABLE) != 0) {
        lose(s, "no socket");
        return;
    }
    arm(s, s->opt->connect_timeout_ms);
}

static void connect_step(struct db_session *s)
{
    poll_close(s);
    PostgresPollingStatusType r = PQconnectPoll(s->pg);
    switch (r) {
    case PGRES_POLLING_OK:
        if (PQenterPipelineMode(s->pg) != 1) {
            lose(s, "pipeline mode refused");
            return;
        }
        if (s->metrics != NULL)
            atomic_fetch_add_explicit(&s->metrics->db_connects, 1,
                                      memory_order_relaxed);
        s->connects++;
        log_info("db_connected", "worker=%d", s->worker);
        s->backoff_ms = 50;
        set_state(s, DB_IDLE);
        run_job(s, &probe_job);
        return;
    case PGRES_POLLING_READING:
        if (poll_open(s, UV_READABLE) != 0)
            lose(s, "no socket");
        return;
    case PGRES_POLLING_WRITING:
        if (poll_open(s, UV_WRITABLE) != 0)
            lose(s, "no socket");
        return;
    default:
        lose(s, "connection refused or failed");
        return;
    }
}

/* The job's results, up to its sync. */
static void read_results(struct db_session *s)
{
    while (s->state == DB_BUSY && !PQisBusy(s->pg)) {
        PGresult *res = PQgetResult(s->pg);
        if (res == NULL)
            continue; /* the separator between two statements */
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            struct db_job *job = s->job;
            if (job == &probe_job && s->probe_failed) {
                lose(s, "probe failed");
                return;
            }
            set_ready(s, true);
            s->job = NULL;
            if (job->done != NULL)
                job->done(job, 0);
            if (s->state != DB_BUSY || s->job != NULL)
                return;
            if (PQtransactionStatus(s->pg) == PQTRANS_INERROR) {
                set_state(s, DB_IDLE);
                run_job(s, &rollback_job);
                return;
            }
            next_job(s);
            return;
        }
        if (s->job == &probe_job) {
            if (st != PGRES_TUPLES_OK)
                s->probe_failed = true;
        } else if (s->job->result != NULL) {
            s->job->result(s->job, res);
        }
        PQclear(res);
    }
}

static void on_input(struct db_session *s, int events)
{
    if ((events & UV_WRITABLE) != 0) {
        int flushed = PQflush(s->pg);
        if (flushed < 0) {
            lose(s, "write failed");
            return;
        }
        if (flushed == 0)
            uv_poll_start(&s->poll->handle, UV_READABLE, on_poll);
    }
    if (PQconsumeInput(s->pg) != 1) {
        lose(s, "connection lost");
        return;
    }
    if (s->state == DB_BUSY)
        read_results(s);
    if (s->pg != NULL && PQstatus(s->pg) == CONNECTION_BAD)
        lose(s, "connection lost");
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct db_session *s = h->data;
    if (status < 0) {
        /* Not fatal in itself: let libpq look at the socket. */
        events = UV_READABLE | UV_WRITABLE;
    }
    switch (s->state) {
    case DB_CONNECTING:
        connect_step(s);
        return;
    case DB_IDLE:
    case DB_BUSY:
        on_input(s, events);
        return;
    default:
        return;
    }
}

static void on_timer(uv_timer_t *t)
{
    struct db_session *s = t->data;
    switch (s->state) {
    case DB_WAITING:
        start_connect(s);
        return;
    case DB_CONNECTING:
        lose(s, "connect timed out");
        return;
    case DB_IDLE:
        run_job(s, &probe_job);
        return;
    case DB_BUSY:
        lose(s, s->job == &probe_job ? "probe timed out" : "job timed out");
        return;
    default:
        return;
    }
}

void db_session_start(struct db_session *s, uv_loop_t *loop,
                      const struct db_options *opt, struct metrics *metrics,
                      int worker)
{
    s->loop = loop;
    s->opt = opt;
    s->metrics = metrics;
    s->worker = worker;
    s->pg = NULL;
    s->poll = NULL;
    s->job = NULL;
    s->queue = s->queue_tail = NULL;
    s->ready = false;
    s->probe_failed = false;
    s->backoff_ms = 50;
    s->pending_closes = 0;
    s->on_closed = NULL;
    s->on_idle = NULL;
    s->on_idle_data = NULL;
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    set_state(s, DB_WAITING);
    start_connect(s);
}

bool db_session_idle(const struct db_session *s)
{
    return s->state == DB_IDLE && s->ready && s->queue == NULL;
}

int db_session_submit(struct db_session *s, struct db_job *job)
{
    if ((s->state != DB_IDLE && s->state != DB_BUSY) || !s->ready)
        return -1;
    job->next = NULL;
    if (s->state == DB_IDLE)
        return run_job(s, job);
    if (s->queue_tail != NULL)
        s->queue_tail->next = job;
    else
        s->queue = job;
    s->queue_tail = job;
    return 0;
}

void db_session_on_idle(struct db_session *s,
                        void (*cb)(struct db_session *s, void *data),
                        void *data)
{
    s->on_idle = cb;
    s->on_idle_data = data;
}

void db_session_stop(struct db_session *s, db_closed_cb cb)
{
    s->on_closed = cb;
    s->on_idle = NULL;
    poll_close(s);
    if (s->pg != NULL) {
        PQfinish(s->pg);
        s->pg = NULL;
    }
    uv_timer_stop(&s->timer);
    set_state(s, DB_CLOSING);
    finish_jobs(s, -ECANCELED);
    s->pending_closes++;
    uv_close((uv_handle_t *)&s->timer, on_handle_closed);
}

bool db_session_ready(const struct db_session *s)
{
    return s->ready;
}

PGconn *db_connect_blocking(const char *conninfo, char *err, size_t errlen)
{
    if (conninfo == NULL || conninfo[0] == '\0') {
        snprintf(err, errlen,
                 "database: not set; give a libpq connection string, e.g. "
                 "database = host=/run/postgresql dbname=tipd user=tipd");
        return NULL;
    }
    PGconn *pg = PQconnectdb(conninfo);
    if (PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, errlen, "database: cannot connect: %s",
                 PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    return pg;
}

/* Appends key='value' (libpq quoting: \\ and \' escaped) to b. */
static void append_kv(struct buf *b, const char *key, const char *value)
{
    if (b->len > 0)
        buf_appends(b, " ");
    buf_appends(b, key);
    buf_appends(b, "='");
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '\\' || *p == '\'')
            buf_appends(b, "\\");
        buf_append(b, p, 1);
    }
    buf_appends(b, "'");
}

char *db_conninfo_with_user(const char *conninfo, const char *user, char *err,
                            size_t errlen)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
    if (opts == NULL) {
        snprintf(err, errlen, "database: %s",
                 why != NULL ? why : "out of memory");
        PQfreemem(why);
        return NULL;
    }
    struct buf b;
    buf_init(&b, 65536);
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (o->val != NULL && strcmp(o->keyword, "user") != 0)
            append_kv(&b, o->keyword, o->val);
    append_kv(&b, "user", user);
    PQconninfoFree(opts);
    char *out = xmalloc(b.len + 1);
    memcpy(out, b.data, b.len);
    out[b.len] = '\0';
    buf_cleanup(&b);
    return out;
}
