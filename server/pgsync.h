/*
 * pgsync: one PostgreSQL connection driven step by step from one thread
 * (the triage worker's), with a deadline on every wait.
 *
 * libpq's non-blocking calls, waited on with poll(2): a server that stops
 * answering (paused, a network gone quiet) costs the deadline, not the
 * thread; and every wait also watches the owner's wake pipe, so that a
 * stop interrupts it at once (the connection is then closed, and a
 * transaction not yet committed rolls back on the server). The connection
 * stays in pipeline mode from connect to close: pgsync_run sends a few
 * statements with one sync, one round trip, all-or-nothing when they open
 * a transaction.
 */
#ifndef TIPD_PGSYNC_H
#define TIPD_PGSYNC_H

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGSYNC_OK 0
#define PGSYNC_LOST                                                            \
    (-1)                  /* the connection is closed: failed, timed out, or   \
                             the owner stops; `why` says which */
#define PGSYNC_ERROR (-2) /* a statement failed; the connection is fine */

#define PGSYNC_FOREVER UINT64_MAX /* pgsync_nap: until stopped or nudged */

struct pgsync {
    PGconn *pg;               /* owned; NULL while closed */
    int wake_fd;              /* borrowed: read end of the owner's pipe */
    const atomic_bool *stop;  /* borrowed: the owner stops */
    const atomic_bool *nudge; /* borrowed, may be NULL: cuts naps short */
    size_t failed;            /* PGSYNC_ERROR: index of the statement */
    char why[160];            /* why the connection last closed */
};

struct pgsync_stmt {
    const char *sql;
    int n;                     /* parameters */
    const char *const *params; /* borrowed, text format */
};

/* Caller storage; no connection yet. wake_fd must be non-blocking: the
 * waits drain it. */
void pgsync_init(struct pgsync *s, int wake_fd, const atomic_bool *stop,
                 const atomic_bool *nudge);

/* Connects (closing a previous connection first) within timeout_ms.
 * PGSYNC_OK or PGSYNC_LOST. */
int pgsync_connect(struct pgsync *s, const char *conninfo, uint64_t timeout_ms);

/* Closes the connection, if any; why (borrowed) is kept in s->why. */
void pgsync_close(struct pgsync *s, const char *why);

/*
 * Sends n statements with one sync and waits up to timeout_ms for all
 * their results: res[i] gets statement i's (owned: pgsync_clear; NULL
 * when none came). PGSYNC_OK when each succeeded; PGSYNC_ERROR when one
 * failed (s->failed; res[s->failed] holds the error, the later ones were
 * aborted); PGSYNC_LOST when the connection went or the owner stops (the
 * connection is closed; a COMMIT sent may or may not have taken effect).
 */
int pgsync_run(struct pgsync *s, const struct pgsync_stmt *st, size_t n,
               PGresult **res, uint64_t timeout_ms);

/* PQclear()s res[0..n) and sets them NULL. */
void pgsync_clear(PGresult **res, size_t n);

/* Sleeps ms (PGSYNC_FOREVER: no limit), cut short when the owner stops or
 * *nudge is set. */
void pgsync_nap(struct pgsync *s, uint64_t ms);

/* Whether the owner stops. */
bool pgsync_stopping(const struct pgsync *s);

/* A column of a row as a number (0 when NULL or not a number), or as text
 * (NULL when NULL; borrowed from res). */
int64_t pgsync_i64(const PGresult *res, int row, int col);
double pgsync_f64(const PGresult *res, int row, int col);
const char *pgsync_str(const PGresult *res, int row, int col);

#endif
