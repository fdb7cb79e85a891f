/*
 * staffdb: one worker's session for the staff API, logged in as the role
 * that cannot see past its unit (tipd_staff, migrations/0006_walls.sql).
 *
 * A staff request makes two trips, each shared with every other request
 * waiting on the worker at that moment:
 *
 *   1. who: the request's bearer token is looked up by tipd_whoami(), one
 *      statement per request, all in one pipeline sync;
 *   2. act: its statement runs in one transaction with those of the other
 *      requests ready then (group commit, as intake does for reports):
 *
 *        (set_config('tipd.token', TOKEN, true); STATEMENT) x n; sync
 *
 *      Each statement runs bound to its own caller's token, so PostgreSQL's
 *      row-level security checks every statement's unit again.
 *
 * At most one who-job and one act-job are outstanding; whatever arrives
 * meanwhile goes with the next, so that under load a commit carries many
 * claims and at rest each request goes at once. A group whose transaction
 * failed (one bad statement aborts all) is run again one request at a time,
 * so one failing request cannot take the others down with it.
 */
#ifndef TIPD_STAFFDB_H
#define TIPD_STAFFDB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "db.h"

struct staff_call;

#define STAFFDB_PARAMS_MAX 8 /* parameters of a mergeable statement */

/* The who-trip's end. status: 0 (call->who is set), 401 (unknown or
 * revoked token), 503 (the session failed). */
typedef void (*staff_who_cb)(struct staff_call *call, int status);
/* The result of the call's statement, the call's answer in row `row`;
 * borrowed for the call. */
typedef void (*staff_result_cb)(struct staff_call *call, const PGresult *res,
                                int row);
/* The act-trip's end. status: 0 if its transaction's outcome is known
 * (committed says whether it committed; sqlstate names the first failed
 * statement of the call, or is empty), negative if the session failed
 * first (whether it committed is unknown). */
typedef void (*staff_done_cb)(struct staff_call *call, int status,
                              bool committed, const char *sqlstate);

/* Caller storage, valid until done (or who, when it fails). */
struct staff_call {
    const char *token; /* borrowed: the raw bearer token (printable ASCII) */
    const char *sql;   /* borrowed */
    const char *const *params;
    int nparams;
    /*
     * Mergeable calls: item is a JSON object's members (borrowed). Calls
     * next to each other in a group with the same sql and the same
     * params[1..] run as one statement, bound to the first one's token
     * (they share the unit, a params[1..] value), with params[0] the array
     * of their items, each given "n" (0, 1, ...): the statement answers
     * one row per item, in that order. NULL: a statement of its own.
     */
    const char *item;
    staff_who_cb who_done;
    staff_result_cb result;
    staff_done_cb done;
    struct staff_identity who;
    /* The session's bookkeeping. */
    bool found;
    bool solo;        /* runs in a group of its own (after a failed group) */
    bool failed;      /* its statement failed */
    char sqlstate[6]; /* of that failure */
    int span;         /* act: calls its statement answers (0: merged into
                         an earlier call's) */
    struct staff_call *next;
};

/* A group of calls in one job: the who-trip or the act-trip. */
struct staff_trip {
    struct db_job job;
    struct staffdb *owner;
    struct staff_call *calls; /* in flight, in statement order */
    int count;
    int index;                 /* results seen */
    struct staff_call *cursor; /* act: the call of the next statement */
    int statements;            /* act: statements sent (merged calls share) */
    int prepares;     /* PREPAREs sent first (their results come first) */
    bool last_seen;   /* act: the last statement answered */
    bool failed;      /* act: some statement failed */
    char sqlstate[6]; /* act: the first failure's SQLSTATE */
    bool busy;        /* submitted and not done */
};

/* The statements the session has prepared, by their text's address (the
 * statements are static strings): each is parsed once per connection. */
#define STAFFDB_STATEMENTS_MAX 24
struct staff_statement {
    const char *sql;       /* borrowed; NULL: free slot */
    uint64_t prepared_for; /* db.connects when prepared; 0: not yet */
};

struct staffdb {
    struct db_session db;
    struct staff_statement statements[STAFFDB_STATEMENTS_MAX];
    struct metrics *metrics; /* borrowed; may be NULL */
    int group_max;
    struct staff_call *who_queue, *who_tail; /* waiting for the who-trip */
    struct staff_call *act_queue, *act_tail; /* waiting for the act-trip */
    struct staff_trip who;
    struct staff_trip act;
    bool stopping;
};

/* Caller storage; connects at once. */
void staffdb_start(struct staffdb *s, uv_loop_t *loop,
                   const struct db_options *opt, struct metrics *metrics,
                   int worker, int group_max);

/* Queues the who-trip of call (token set). 0, or -1 if the session is not
 * up (who_done is then never called). */
int staffdb_who(struct staffdb *s, struct staff_call *call);

/* Queues the act-trip of call (sql, params, result, done set). 0, or -1 if
 * the session is not up (done is then never called). */
int staffdb_act(struct staffdb *s, struct staff_call *call);

/* Whether a token is one tipd could have made: printable ASCII, no
 * longer than STAFFDB_TOKEN_MAX (others are refused before the database). */
#define STAFFDB_TOKEN_MAX 128
bool staffdb_token_ok(const char *token, size_t len);

/* Ends waiting calls with a failure and closes the session; cb runs once
 * every handle is closed. */
void staffdb_stop(struct staffdb *s, db_closed_cb cb);

#endif
