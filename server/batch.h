/*
 * batch: group commit. Reports from all of a worker's connections wait in
 * one queue; whenever the worker's database session is free, up to
 * intake_batch_max of them go to PostgreSQL as one transaction in one round
 * trip (BEGIN; one INSERT of all rows through unnest(); the idempotency
 * keys' owners; COMMIT; sync). While that batch commits, the next one
 * gathers, so a burst makes batches bigger instead of queues longer.
 *
 * A request is answered only from its batch's outcome: 201 when COMMIT's
 * command tag said COMMIT (PostgreSQL answers ROLLBACK to the COMMIT of a
 * failed transaction without an error), 503 when the batch failed. When the
 * outcome was lost with the connection, keyed requests wait for the next
 * batch, which finds what did commit; requests without a key get 503.
 * Idempotency: a keyed request whose key another request already owns (in an
 * earlier batch, in this one, or in another worker's batch still committing,
 * which ON CONFLICT waits for) is answered from the owner's row: 201 with the
 * same report if the request bytes are the same, 409 if the key was reused for
 * a different request.
 *
 * Bounds: intake_max_pending waiting requests per worker (intake refuses
 * more with 503 before reading their bodies) and intake_queue_timeout_ms of
 * waiting (then 503), so a stalled database grows 503s, not memory.
 *
 * States of the batch in flight: EMPTY --flush--> SENT --job done--> EMPTY.
 */
#ifndef TIPD_BATCH_H
#define TIPD_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "metrics.h"
#include "report.h"

struct batch_item;
typedef void (*batch_done_cb)(struct batch_item *it);

/* One report waiting for its commit. Caller storage (the request's arena),
 * valid until done is called. */
struct batch_item {
    const struct report *report;    /* borrowed */
    unsigned char receipt_hash[32]; /* HMAC of the receipt code */
    const char *scope;              /* idempotency scope, e.g. "web" */
    const char *key;                /* idempotency key, or NULL */
    unsigned char request_sha[32];  /* with a key: the request's SHA-256 */
    batch_done_cb done;
    void *data; /* for the caller */
    /* Outcome, set before done: */
    int status;    /* 201, 409 or 503 */
    bool replayed; /* 201 from an earlier request with the same key */
    long long report_id;
    /* Internal: */
    uint64_t queued_ms;
    long long assigned_id;
    bool stored;
    struct batch_item *next;
};

struct batch_options {
    size_t max_batch;          /* reports per transaction */
    size_t max_pending;        /* waiting requests */
    uint64_t queue_timeout_ms; /* longest wait before 503 */
};

struct batcher {
    struct db_session *db;           /* borrowed */
    const struct batch_options *opt; /* borrowed */
    struct metrics *metrics;         /* borrowed */
    struct batch_item *head, *tail;  /* waiting, oldest first */
    size_t pending;
    struct db_job job;       /* the batch in flight */
    struct batch_item *sent; /* its items, or NULL */
    size_t sent_count;
    bool keyed;       /* it has idempotency keys */
    int result_index; /* results seen */
    bool commit_ok;
    uint64_t prepared_for; /* db->connects whose connection has the
                              statements prepared; 0: none */
    int first_result;      /* index of BEGIN's result in this batch */
    uint64_t sent_ms;
    struct buf params[22]; /* text-format arrays */
    struct buf lookup[2];  /* scopes and keys for statement 2 */
};

/* Call after db_session_start: the batcher sends whenever db is idle. */
void batcher_init(struct batcher *b, struct db_session *db,
                  const struct batch_options *opt, struct metrics *metrics);
/* Answers every waiting item 503; call once the session has stopped. */
void batcher_cleanup(struct batcher *b);

/* Whether a new request would be taken (database up, room to wait). */
bool batcher_admits(const struct batcher *b);

/* Queues it (done will be called exactly once, maybe before this
 * returns). -1 if full or the database is down: nothing queued. */
int batcher_submit(struct batcher *b, struct batch_item *it, uint64_t now);

/* Answers 503 to items that waited longer than queue_timeout_ms. */
void batcher_expire(struct batcher *b, uint64_t now);

#endif
