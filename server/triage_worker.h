/*
 * triage_worker: the thread that turns committed reports into routed cases
 * (spec/triage.md, issue 4), off the intake hot path.
 *
 * One per tipd process, on a thread of its own with its own PostgreSQL
 * connection, driven synchronously (libpq's non-blocking calls waited on
 * with poll(2), so every statement has a deadline and a stop interrupts
 * it); it never touches the HTTP workers' loops. Among several tipd nodes
 * on one database only the one holding a session advisory lock triages;
 * the others retry the lock and take over when its connection goes.
 *
 * It polls every triage_poll_interval_ms for committed reports that have no
 * decision, decides them in id order with triage_decide (triage/triage.h),
 * and writes the decisions, the new cases, the duplicates joining earlier
 * cases, the copies, the deadlines and its progress in one transaction per
 * batch: a crash or a lost connection at any point loses or duplicates
 * nothing (report_triage's primary key makes a decision exactly-once).
 * Report ids come from nextval() in intake transactions that may commit
 * out of order or roll back, so an id missing below committed ones is an
 * open transaction until every transaction that was open when it was first
 * missed has ended (triage_worker.c explains the watermark).
 *
 * The library keeps a memory of every decided report (the duplicate
 * clusters and the reports per accused). The worker builds it from the
 * database when it takes the lock, and again whenever its memory may
 * disagree with what committed (a batch that failed after being decided).
 *
 * SIGHUP (triage_worker_reload) reads rules_file and holidays_file again
 * between batches; a file with an error is logged (file:line: key) and the
 * one in force stays.
 *
 * States (set_state() in triage_worker.c is the only writer; each change is
 * logged):
 *
 *   LOADING --rules ok--> CONNECTING --up--> LOCKING --lock--> REBUILDING
 *      | bad rules            ^   | failed     | held elsewhere    | done
 *      v                      |   v            v                   v
 *   NO_RULES --SIGHUP-->  BACKOFF <------- (any error) ------- TRIAGING
 *   any --triage_worker_stop--> STOPPED
 */
#ifndef TIPD_TRIAGE_WORKER_H
#define TIPD_TRIAGE_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "config.h"
#include "metrics.h"

#define TRIAGE_WORKER_STATE_MAP(X)                                             \
    X(LOADING, "loading")                                                      \
    X(NO_RULES, "no_rules")                                                    \
    X(CONNECTING, "connecting")                                                \
    X(LOCKING, "locking")                                                      \
    X(REBUILDING, "rebuilding")                                                \
    X(TRIAGING, "triaging")                                                    \
    X(BACKOFF, "backoff")                                                      \
    X(STOPPED, "stopped")

enum triage_worker_state {
#define X(name, text) TRIAGE_WORKER_##name,
    TRIAGE_WORKER_STATE_MAP(X)
#undef X
};

struct triage_run; /* the thread's own state, in triage_worker.c */

struct triage_worker {
    const struct config *config;    /* borrowed; outlives the worker */
    struct triage_metrics *metrics; /* borrowed; outlives the worker */
    pthread_t thread;
    bool started;           /* the thread runs (join it) */
    int wake[2];            /* pipe: stop and reload wake the thread */
    atomic_bool stopping;   /* set once by triage_worker_stop */
    atomic_bool reload;     /* SIGHUP seen, not yet acted on */
    struct triage_run *run; /* owned by the thread while it runs */
};

/*
 * Starts the thread. w is caller storage that must stay put until
 * triage_worker_join returns. Returns 0, or a negative errno (nothing
 * started, nothing to join).
 */
int triage_worker_start(struct triage_worker *w, const struct config *config,
                        struct triage_metrics *metrics);

/* Asks the thread to read rules_file and holidays_file again between
 * batches. Callable from any thread. */
void triage_worker_reload(struct triage_worker *w);

/* Asks the thread to stop: a batch not yet committed is abandoned (its
 * transaction rolls back; the reports are triaged later). Callable from
 * any thread, more than once. */
void triage_worker_stop(struct triage_worker *w);

/* Waits for the thread after triage_worker_stop and frees what the worker
 * holds. */
void triage_worker_join(struct triage_worker *w);

#endif
