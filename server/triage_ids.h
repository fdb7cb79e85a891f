/*
 * triage_ids: the triage worker's view of the report ids above its
 * watermark: which are decided, and when each missing one (a gap) was
 * first missed. triage_worker.c explains the watermark; this is its
 * arithmetic, with no database and no clock (times are given).
 *
 * Every id <= watermark is settled. Ids in (watermark, maxseen] are decided
 * or gaps; a gap was first missed at the time given with the first
 * triage_ids_seen whose upto covers it.
 */
#ifndef TIPD_TRIAGE_IDS_H
#define TIPD_TRIAGE_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct triage_ids_mark {
    int64_t upto; /* gaps in (the previous mark's upto, upto] ... */
    double t0;    /* ... were first missed at t0 (seconds) */
};

struct triage_ids {
    int64_t watermark;
    int64_t maxseen; /* the highest id seen; >= watermark */
    uint8_t *done;   /* owned: done[i] for id watermark + 1 + i */
    size_t done_len, done_cap;
    struct triage_ids_mark *marks; /* owned, upto ascending */
    size_t mark_count, mark_cap;
};

/* Caller storage: watermark 0, nothing seen. */
void triage_ids_init(struct triage_ids *x);
void triage_ids_cleanup(struct triage_ids *x);

/* Forgets everything above a new watermark (maxseen = watermark). */
void triage_ids_reset(struct triage_ids *x, int64_t watermark);

/* Whether id is settled or decided. */
bool triage_ids_done(const struct triage_ids *x, int64_t id);
void triage_ids_set_done(struct triage_ids *x, int64_t id);

/* Ids up to upto have been looked at; those above maxseen not decided
 * were missed at t0. Moves maxseen up to upto. */
void triage_ids_seen(struct triage_ids *x, int64_t upto, double t0);

/* When gap id was first missed (INFINITY when not covered). */
double triage_ids_missed_at(const struct triage_ids *x, int64_t id);

/* Moves the watermark up to w (a lower w changes nothing). */
void triage_ids_advance(struct triage_ids *x, int64_t w);

/* Called for a gap passed by its timeout. */
typedef void (*triage_ids_passed_cb)(void *arg, int64_t id, double t0);

/*
 * The watermark the ids allow once the batch (sorted ids, borrowed) is
 * decided: past decided ids; past gaps that are final (first missed before
 * horizon, and id <= known_upto, the highest id the last read answered
 * for); past gaps missed timeout_s or more before now, each given to
 * passed (may be NULL). Stops at the first other gap.
 */
int64_t triage_ids_next(const struct triage_ids *x, const int64_t *batch,
                        size_t n, int64_t known_upto, double horizon,
                        double now, double timeout_s,
                        triage_ids_passed_cb passed, void *arg);

#endif
