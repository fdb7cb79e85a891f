/*
 * staffdb: the staff session's two trips (see staffdb.h).
 */
#include "staffdb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "util.h"

static const char who_sql[] =
    "SELECT staff_id, unit_id, role FROM tipd_whoami($1)";
/* The binding, and no JIT: a claim's LIMIT is known only when it runs, so
 * its estimate grows with the queue and crosses jit_above_cost at some
 * 100,000 cases, where compiling took 60 ms for a statement that runs in
 * one. Both last until the transaction ends. */
static const char bind_sql[] =
    "SELECT set_config('tipd.token', $1, true), set_config('jit', 'off', true)";

static void pump(struct staffdb *s);

bool staffdb_token_ok(const char *token, size_t len)
{
    if (len == 0 || len > STAFFDB_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (token[i] <= ' ' || token[i] > '~')
            return false;
    return true;
}

/*
 * The name of sql's prepared statement on the current connection, sending
 * its PREPARE first (counted in *prepares) if this connection has not had
 * it: planning a case-work statement under row-level security costs about
 * as much as running it. NULL if libpq refused to send it.
 */
static const char *prepared(struct staffdb *s, PGconn *pg, const char *sql,
                            int nparams, int *prepares, char name[24])
{
    int slot = -1;
    for (int i = 0; i < STAFFDB_STATEMENTS_MAX && slot < 0; i++)
        if (s->statements[i].sql == sql || s->statements[i].sql == NULL)
            slot = i;
    if (slot < 0)
        abort(); /* more statements than STAFFDB_STATEMENTS_MAX: raise it */
    struct staff_statement *st = &s->statements[slot];
    snprintf(name, 24, "tipd_staff_%d", slot);
    if (st->sql == sql && st->prepared_for == s->db.connects)
        return name;
    st->sql = sql;
    if (PQsendPrepare(pg, name, sql, nparams, NULL) != 1)
        return NULL;
    st->prepared_for = s->db.connects;
    (*prepares)++;
    return name;
}

/* After a failed PREPARE: prepare everything again next time. */
static void forget_prepared(struct staffdb *s)
{
    for (int i = 0; i < STAFFDB_STATEMENTS_MAX; i++)
        s->statements[i].prepared_for = 0;
}

static struct staff_call *nth(struct staff_call *c, int n)
{
    while (c != NULL && n-- > 0)
        c = c->next;
    return c;
}

/* --- the who-trip ------------------------------------------------------------
 */

static int who_send(struct db_job *job, PGconn *pg)
{
    struct staff_trip *t = container_of(job, struct staff_trip, job);
    char name[24];
    t->index = 0;
    t->prepares = 0;
    if (prepared(t->owner, pg, who_sql, 1, &t->prepares, name) == NULL)
        return -1;
    for (struct staff_call *c = t->calls; c != NULL; c = c->next) {
        const char *params[1] = {c->token};
        if (PQsendQueryPrepared(pg, name, 1, params, NULL, NULL, 0) != 1)
            return -1;
    }
    return 0;
}

/* Results: the PREPARE if one was sent, then one lookup per call. */
static void who_result(struct db_job *job, const PGresult *res)
{
    struct staff_trip *t = container_of(job, struct staff_trip, job);
    int index = t->index++ - t->prepares;
    if (index < 0) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            forget_prepared(t->owner);
        return;
    }
    struct staff_call *c = nth(t->calls, index);
    if (c != NULL)
        c->found = auth_identity(res, &c->who);
}

static void who_done(struct db_job *job, int status)
{
    struct staff_trip *t = container_of(job, struct staff_trip, job);
    struct staff_call *c = t->calls;
    bool complete = status == 0 && t->index - t->prepares == t->count;
    t->calls = NULL;
    t->busy = false;
    while (c != NULL) {
        struct staff_call *next = c->next;
        c->next = NULL;
        /* Only a statement that answered says "unknown token": a lookup
         * cut short by an error is the database's failure. */
        c->who_done(c, !complete ? 503 : c->found ? 0 : 401);
        c = next;
    }
    pump(t->owner);
}

/* --- the act-trip ------------------------------------------------------------
 */

/* Whether b can join the statement of a (see staff_call.item). */
static bool mergeable(const struct staff_call *a, const struct staff_call *b)
{
    if (a->item == NULL || b->item == NULL || a->solo || b->solo ||
        a->sql != b->sql || a->nparams != b->nparams)
        return false;
    for (int i = 1; i < a->nparams; i++)
        if (strcmp(a->params[i], b->params[i]) != 0)
            return false;
    return true;
}

/* Marks each call with the calls its statement answers (span); returns
 * the number of statements. */
static int plan_statements(struct staff_trip *t)
{
    int statements = 0;
    struct staff_call *head = NULL;
    for (struct staff_call *c = t->calls; c != NULL; c = c->next) {
        c->span = 0;
        if (head != NULL && mergeable(head, c)) {
            head->span++;
            continue;
        }
        head = c;
        head->span = 1;
        statements++;
    }
    return statements;
}

/* Sends the statement of head (with the span - 1 calls after it). */
static int send_statement(struct staffdb *s, PGconn *pg, const char *name,
                          struct staff_call *head)
{
    if (head->item == NULL)
        return PQsendQueryPrepared(pg, name, head->nparams, head->params, NULL,
                                   NULL, 0) == 1
                   ? 0
                   : -1;
    struct buf items;
    buf_init(&items, (size_t)1 << 24);
    buf_appends(&items, "[");
    struct staff_call *c = head;
    for (int n = 0; n < head->span; n++, c = c->next)
        buf_printf(&items, "%s{\"n\":%d,%s}", n > 0 ? "," : "", n, c->item);
    buf_appends(&items, "]");
    const char *params[STAFFDB_PARAMS_MAX];
    int np =
        head->nparams < STAFFDB_PARAMS_MAX ? head->nparams : STAFFDB_PARAMS_MAX;
    params[0] = items.data; /* NUL-ended by buf */
    for (int i = 1; i < np; i++)
        params[i] = head->params[i];
    /* libpq copies the parameters into its buffer at once. */
    int rc =
        PQsendQueryPrepared(pg, name, np, params, NULL, NULL, 0) == 1 ? 0 : -1;
    buf_cleanup(&items);
    return rc;
}

static int act_send(struct db_job *job, PGconn *pg)
{
    struct staff_trip *t = container_of(job, struct staff_trip, job);
    struct staffdb *s = t->owner;
    char bind_name[24], name[24];
    t->index = 0;
    t->prepares = 0;
    t->last_seen = false;
    t->failed = false;
    t->sqlstate[0] = '\0';
    t->statements = plan_statements(t);
    t->cursor = t->calls;
    if (s->metrics != NULL)
        atomic_fetch_add_explicit(&s->metrics->staff_statements,
                                  (uint64_t)t->statements,
                                  memory_order_relaxed);
    if (prepared(s, pg, bind_sql, 1, &t->prepares, bind_name) == NULL)
        return -1;
    for (struct staff_call *c = t->calls; c != NULL; c = c->next)
        if (c->span > 0 &&
            prepared(s, pg, c->sql, c->nparams, &t->prepares, name) == NULL)
            return -1;
    /* No BEGIN and COMMIT: the statements up to the pipeline's sync are one
     * implicit transaction, which commits at the sync, or rolls back at
     * the first error and leaves the session clean (an explicit block
     * would stay open and aborted, failing every later trip). Each
     * statement runs bound to its (first) caller's token. */
    for (struct staff_call *c = t->calls; c != NULL; c = c->next) {
        if (c->span == 0)
            continue;
        const char *bind[1] = {c->token};
        int unused = 0; /* prepared above: this only names it */
        if (PQsendQueryPrepared(pg, bind_name, 1, bind, NULL, NULL, 0) != 1 ||
            prepared(s, pg, c->sql, c->nparams, &unused, name) == NULL ||
            send_statement(s, pg, name, c) != 0)
            return -1;
    }
    return 0;
}

/* Results: the PREPAREs sent, then (bind, statement) per statement. */
static void act_result(struct db_job *job, const PGresult *res)
{
    struct staff_trip *t = container_of(job, struct staff_trip, job);
    int index = t->index++ - t->prepares;
    ExecStatusType st = PQresultStatus(res);
    if (index < 0) {
        /* A failed PREPARE aborts the rest of the pipeline too. */
        if (st != PGRES_COMMAND_OK) {
            forget_prepared(t->owner);
            t->failed = true;
        }
        return;
    }
    struct staff_call *head = t->cursor;
    if (st == PGRES_FATAL_ERROR) {
        const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (!t->failed) {
            log_error("staff_statement_failed", "sqlstate=%s group=%d",
                      code ? code : "", t->count);
            snprintf(t->sqlstate, sizeof(t->sqlstate), "%s",
                     code != NULL && code[0] != '\0' ? code : "XX000");
        }
        t->failed = true;
        if (head != NULL && !head->failed) {
            head->failed = true;
            snprintf(head->sqlstate, sizeof(head->sqlstate), "%s",
                     code ? code : "");
        }
    } else if (head != NULL && index % 2 == 1 && st == PGRES_TUPLES_OK) {
        struct staff_call *c = head;
        for (int row = 0; row < head->span; row++, c = c->next)
            if (row < PQntuples(res))
                c->result(c, res, row);
        if (index == 2 * t->statements - 1)
            t->last_seen = true;
    }
    if (index % 2 == 1 && head != NULL)
        t->cursor = nth(head, head->span);
}

static void push_front(struct staffdb *s, struct staff_call *calls)
{
    struct staff_call *last = calls;
    while (last->next != NULL)
        last = last->next;
    last->next = s->act_queue;
    if (s->act_queue == NULL)
        s->act_tail = last;
    s->act_queue = calls;
}

static void act_done(struct db_job *job, int status)
{
    struct staff_trip *t = container_of(job, struct staff_trip, job);
    struct staffdb *s = t->owner;
    struct staff_call *c = t->calls;
    t->calls = NULL;
    t->busy = false;
    if (status == 0 && t->failed && t->count > 1 && !s->stopping) {
        /* Nothing of the group committed: run each call on its own, so
         * only the one that fails fails. */
        for (struct staff_call *x = c; x != NULL; x = x->next) {
            x->solo = true;
            x->failed = false;
            x->sqlstate[0] = '\0';
        }
        push_front(s, c);
        if (s->metrics != NULL)
            atomic_fetch_add_explicit(&s->metrics->staff_groups_split, 1,
                                      memory_order_relaxed);
        pump(s);
        return;
    }
    while (c != NULL) {
        struct staff_call *next = c->next;
        c->next = NULL;
        /* Every statement answered and none failed: the sync committed.
         * A call whose own statement did not fail still failed with the
         * transaction (the first error names why). */
        c->done(c, status, status == 0 && !t->failed && t->last_seen,
                c->sqlstate[0] != '\0' || !t->failed ? c->sqlstate
                                                     : t->sqlstate);
        c = next;
    }
    pump(s);
}

/* --- the queues --------------------------------------------------------------
 */

/* Takes up to max calls off a queue (a solo call only by itself). */
static struct staff_call *take(struct staff_call **queue,
                               struct staff_call **tail, int max, int *count)
{
    struct staff_call *first = *queue, *last = NULL, *c = first;
    int n = 0;
    while (c != NULL && n < max && !(n > 0 && c->solo)) {
        last = c;
        c = c->next;
        n++;
        if (last->solo)
            break;
    }
    if (last != NULL)
        last->next = NULL;
    *queue = c;
    if (c == NULL)
        *tail = NULL;
    *count = n;
    return n > 0 ? first : NULL;
}

/* Ends calls that will not run: the session is down or stopping. */
static void fail_calls(struct staff_call *c, bool who)
{
    while (c != NULL) {
        struct staff_call *next = c->next;
        c->next = NULL;
        if (who)
            c->who_done(c, 503);
        else
            c->done(c, -1, false, "");
        c = next;
    }
}

static void fail_queued(struct staffdb *s)
{
    struct staff_call *who = s->who_queue, *act = s->act_queue;
    s->who_queue = s->who_tail = NULL;
    s->act_queue = s->act_tail = NULL;
    fail_calls(who, true);
    fail_calls(act, false);
}

/* Sends each trip that is not out yet with what waits for it. */
static void pump(struct staffdb *s)
{
    if (!s->who.busy && s->who_queue != NULL) {
        s->who.calls =
            take(&s->who_queue, &s->who_tail, s->group_max, &s->who.count);
        s->who.busy = true;
        if (db_session_submit(&s->db, &s->who.job) != 0) {
            /* Not up: the trip never ran; its calls and the rest fail. */
            struct staff_call *calls = s->who.calls;
            s->who.busy = false;
            s->who.calls = NULL;
            fail_calls(calls, true);
            fail_queued(s);
            return;
        }
    }
    if (!s->act.busy && s->act_queue != NULL) {
        s->act.calls =
            take(&s->act_queue, &s->act_tail, s->group_max, &s->act.count);
        s->act.busy = true;
        if (s->metrics != NULL) {
            atomic_fetch_add_explicit(&s->metrics->staff_groups, 1,
                                      memory_order_relaxed);
            atomic_fetch_add_explicit(&s->metrics->staff_actions,
                                      (uint64_t)s->act.count,
                                      memory_order_relaxed);
        }
        if (db_session_submit(&s->db, &s->act.job) != 0) {
            struct staff_call *calls = s->act.calls;
            s->act.busy = false;
            s->act.calls = NULL;
            fail_calls(calls, false);
            fail_queued(s);
        }
    }
}

static int enqueue(struct staffdb *s, struct staff_call **queue,
                   struct staff_call **tail, struct staff_call *call)
{
    if (s->stopping || !db_session_ready(&s->db))
        return -1;
    call->next = NULL;
    if (*tail != NULL)
        (*tail)->next = call;
    else
        *queue = call;
    *tail = call;
    pump(s);
    return 0;
}

int staffdb_who(struct staffdb *s, struct staff_call *call)
{
    call->found = false;
    return enqueue(s, &s->who_queue, &s->who_tail, call);
}

int staffdb_act(struct staffdb *s, struct staff_call *call)
{
    call->solo = false;
    call->failed = false;
    call->sqlstate[0] = '\0';
    return enqueue(s, &s->act_queue, &s->act_tail, call);
}

void staffdb_start(struct staffdb *s, uv_loop_t *loop,
                   const struct db_options *opt, struct metrics *metrics,
                   int worker, int group_max)
{
    memset(s, 0, sizeof(*s));
    s->metrics = metrics;
    s->group_max = group_max > 0 ? group_max : 1;
    s->who.owner = s->act.owner = s;
    s->who.job.send = who_send;
    s->who.job.result = who_result;
    s->who.job.done = who_done;
    s->act.job.send = act_send;
    s->act.job.result = act_result;
    s->act.job.done = act_done;
    db_session_start(&s->db, loop, opt, NULL, worker);
}

void staffdb_stop(struct staffdb *s, db_closed_cb cb)
{
    s->stopping = true;
    fail_queued(s);
    db_session_stop(&s->db, cb); /* ends the trips in flight */
}
