/*
 * triage_ids: a byte per id above the watermark (the window is as wide as
 * the ids committed while the oldest gap stays open, bounded by
 * triage_gap_timeout_ms), shifted down as the watermark moves; and a short
 * list of marks, one per read that saw new ids, instead of a time per gap.
 */
#include "triage_ids.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void triage_ids_init(struct triage_ids *x)
{
    memset(x, 0, sizeof(*x));
}

void triage_ids_cleanup(struct triage_ids *x)
{
    free(x->done);
    free(x->marks);
    memset(x, 0, sizeof(*x));
}

void triage_ids_reset(struct triage_ids *x, int64_t watermark)
{
    if (x->done_cap > 0)
        memset(x->done, 0, x->done_cap);
    x->done_len = 0;
    x->mark_count = 0;
    x->watermark = watermark;
    x->maxseen = watermark;
}

bool triage_ids_done(const struct triage_ids *x, int64_t id)
{
    if (id <= x->watermark)
        return true;
    size_t i = (size_t)(id - x->watermark - 1);
    return i < x->done_len && x->done[i];
}

void triage_ids_set_done(struct triage_ids *x, int64_t id)
{
    if (id <= x->watermark)
        return;
    size_t i = (size_t)(id - x->watermark - 1);
    if (i >= x->done_cap) {
        size_t cap = x->done_cap ? x->done_cap : 4096;
        while (cap <= i)
            cap *= 2;
        x->done = xrealloc(x->done, cap);
        memset(x->done + x->done_cap, 0, cap - x->done_cap);
        x->done_cap = cap;
    }
    if (i >= x->done_len)
        x->done_len = i + 1;
    x->done[i] = 1;
}

void triage_ids_seen(struct triage_ids *x, int64_t upto, double t0)
{
    if (upto <= x->maxseen)
        return;
    if (x->mark_count == x->mark_cap) {
        x->mark_cap = x->mark_cap ? x->mark_cap * 2 : 64;
        x->marks = xrealloc(x->marks, x->mark_cap * sizeof(*x->marks));
    }
    x->marks[x->mark_count++] = (struct triage_ids_mark){upto, t0};
    x->maxseen = upto;
}

double triage_ids_missed_at(const struct triage_ids *x, int64_t id)
{
    for (size_t i = 0; i < x->mark_count; i++)
        if (x->marks[i].upto >= id)
            return x->marks[i].t0;
    return INFINITY;
}

void triage_ids_advance(struct triage_ids *x, int64_t w)
{
    if (w <= x->watermark)
        return;
    size_t k = (size_t)(w - x->watermark);
    if (k >= x->done_len) {
        if (x->done_len > 0)
            memset(x->done, 0, x->done_len);
        x->done_len = 0;
    } else {
        memmove(x->done, x->done + k, x->done_len - k);
        memset(x->done + x->done_len - k, 0, k);
        x->done_len -= k;
    }
    x->watermark = w;
    if (x->maxseen < w)
        x->maxseen = w;
    size_t drop = 0;
    while (drop < x->mark_count && x->marks[drop].upto <= w)
        drop++;
    if (drop > 0) {
        memmove(x->marks, x->marks + drop,
                (x->mark_count - drop) * sizeof(*x->marks));
        x->mark_count -= drop;
    }
}

static bool in_batch(const int64_t *batch, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (batch[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && batch[lo] == id;
}

int64_t triage_ids_next(const struct triage_ids *x, const int64_t *batch,
                        size_t n, int64_t known_upto, double horizon,
                        double now, double timeout_s,
                        triage_ids_passed_cb passed, void *arg)
{
    int64_t w = x->watermark;
    while (w < x->maxseen) {
        int64_t id = w + 1;
        if (triage_ids_done(x, id) || in_batch(batch, n, id)) {
            w = id;
            continue;
        }
        double t0 = triage_ids_missed_at(x, id);
        if (id <= known_upto && t0 < horizon) {
            w = id; /* final: every transaction open at t0 has ended */
            continue;
        }
        if (now - t0 >= timeout_s) {
            if (passed != NULL)
                passed(arg, id, t0);
            w = id;
            continue;
        }
        break;
    }
    return w;
}
