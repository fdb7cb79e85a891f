/*
 * metrics: counters and histograms for GET /metrics (Prometheus text
 * format 0.0.4).
 *
 * Each worker owns one struct metrics and is its only writer; the scrape,
 * on any worker, sums all of them. Fields are relaxed atomics: a scrape may
 * see one worker's counters a request apart from another's, never a torn
 * value, and the hot path pays no lock.
 */
#ifndef TIPD_METRICS_H
#define TIPD_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "router.h"

/* Request latency histogram bounds in milliseconds (+Inf is implied). */
#define METRICS_LATENCY_BUCKETS 12

struct metrics {
    const struct router *router;      /* borrowed: labels and indexes */
    _Atomic uint64_t *requests;       /* owned: [route + 1][status slot] */
    _Atomic uint64_t *latency;        /* owned: [route + 1][bucket + 1] */
    _Atomic uint64_t *latency_sum_ms; /* owned: [route + 1] */
    _Atomic int64_t connections_open;
    _Atomic uint64_t connections_accepted;
    _Atomic uint64_t connections_refused; /* over max_connections */
    _Atomic int db_ready;                 /* 1 when the probe answers */
    _Atomic uint64_t db_connects;         /* successful connections */
    _Atomic uint64_t db_failures;         /* failed attempts and losses */
    _Atomic int64_t intake_pending;       /* reports waiting for a commit */
    _Atomic uint64_t intake_batches;      /* committed batches */
    _Atomic uint64_t intake_stored;       /* reports committed */
    _Atomic uint64_t intake_commit_ms;    /* sum of batch round trips */
    _Atomic uint64_t staff_groups;        /* staff action transactions */
    _Atomic uint64_t staff_actions;       /* staff actions in them */
    _Atomic uint64_t staff_statements;    /* their statements (merged
                                             claims share one) */
    _Atomic uint64_t staff_groups_split;  /* failed groups run one by one */
    _Atomic uint64_t tls_handshakes_ok;
    _Atomic uint64_t tls_handshakes_failed;     /* refused: version, cipher,
                                                   not TLS at all */
    _Atomic uint64_t tls_handshakes_unfinished; /* closed mid-handshake: the
                                                   deadline, or the peer */
};

/* The TLS certificate's reloads on SIGHUP (server/tls.h), main thread. */
struct tls_metrics {
    _Atomic uint64_t reloads_ok;
    _Atomic uint64_t reloads_failed; /* refused files (the old one stays) */
};

/*
 * The triage worker's figures (server/triage_worker.h). One triage worker
 * per process writes them; a scrape on any worker reads them. The gauges
 * are this node's view: 0 while its worker does not hold the triage lock.
 */
struct triage_metrics {
    _Atomic int active;              /* 1: this node's worker triages now */
    _Atomic int64_t waiting;         /* committed reports not yet triaged */
    _Atomic uint64_t lag_ms;         /* age of the oldest of them, 0: none */
    _Atomic uint64_t decisions;      /* reports triaged (committed) */
    _Atomic uint64_t cases_opened;   /* cases opened (committed) */
    _Atomic uint64_t batches;        /* batch transactions committed */
    _Atomic uint64_t batch_us;       /* sum of their decide + write times */
    _Atomic uint64_t failures;       /* batches lost, connections dropped */
    _Atomic uint64_t rebuilds;       /* memory rebuilt from the database */
    _Atomic uint64_t gaps_timed_out; /* ids passed by triage_gap_timeout_ms */
    _Atomic uint64_t calendar_fallbacks; /* deadlines counted Mon-Fri */
    _Atomic uint64_t reloads_ok;         /* SIGHUP reloads that took */
    _Atomic uint64_t reloads_failed;     /* refused files (old rules stay) */
    _Atomic int64_t cases_open;          /* open cases, all units (-1: not
                                            counted yet) */
    _Atomic int64_t cases_overdue;       /* open cases past their due time */
};

void metrics_init(struct metrics *m, const struct router *router);
void metrics_cleanup(struct metrics *m);

/* route may be NULL (no route matched). */
void metrics_observe(struct metrics *m, const struct route *route, int status,
                     uint64_t duration_ms);

/* Writes the sum of all[0..n) (n >= 1, one router) to out. -1 if out
 * is too small. */
int metrics_render(struct buf *out, struct metrics *const *all, size_t n);

/* Zeroes m. */
void metrics_tls_init(struct tls_metrics *m);
/* Appends the TLS reload figures to out. -1 if out is too small. */
int metrics_render_tls(struct buf *out, struct tls_metrics *m);

/* Zeroes m. */
void metrics_triage_init(struct triage_metrics *m);
/* Appends the triage figures to out. -1 if out is too small. */
int metrics_render_triage(struct buf *out, struct triage_metrics *m);

#endif
