/*
 * metrics: fixed arrays indexed by route and by the position of a status in
 * HTTP_STATUS_TABLE, so observing a request is two relaxed increments and a
 * bucket search over a dozen bounds.
 */
#include "metrics.h"

#include <stdlib.h>

#include "http.h"
#include "util.h"

static const int statuses[] = {
#define X(code, sym, reason, err) code,
    HTTP_STATUS_TABLE(X)
#undef X
};
#define STATUS_SLOTS (ARRAY_SIZE(statuses) + 1) /* last: any other */

static const uint64_t bounds_ms[METRICS_LATENCY_BUCKETS] = {
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000};

static size_t status_slot(int status)
{
    for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
        if (statuses[i] == status)
            return i;
    return ARRAY_SIZE(statuses);
}

void metrics_init(struct metrics *m, const struct router *router)
{
    m->router = router;
    size_t r = router->count + 1;
    m->requests = xcalloc(r * STATUS_SLOTS, sizeof(*m->requests));
    m->latency =
        xcalloc(r * (METRICS_LATENCY_BUCKETS + 1), sizeof(*m->latency));
    m->latency_sum_ms = xcalloc(r, sizeof(*m->latency_sum_ms));
    atomic_init(&m->connections_open, 0);
    atomic_init(&m->connections_accepted, 0);
    atomic_init(&m->connections_refused, 0);
    atomic_init(&m->db_ready, 0);
    atomic_init(&m->db_connects, 0);
    atomic_init(&m->db_failures, 0);
    atomic_init(&m->intake_pending, 0);
    atomic_init(&m->intake_batches, 0);
    atomic_init(&m->intake_stored, 0);
    atomic_init(&m->intake_commit_ms, 0);
}

void metrics_cleanup(struct metrics *m)
{
    free(m->requests);
    free(m->latency);
    free(m->latency_sum_ms);
    m->requests = m->latency = m->latency_sum_ms = NULL;
}

static void inc(_Atomic uint64_t *p, uint64_t by)
{
    atomic_fetch_add_explicit(p, by, memory_order_relaxed);
}

static uint64_t get(_Atomic uint64_t *p)
{
    return atomic_load_explicit(p, memory_order_relaxed);
}

void metrics_observe(struct metrics *m, const struct route *route, int status,
                     uint64_t duration_ms)
{
    size_t r = route ? (size_t)(route - m->router->routes) + 1 : 0;
    inc(&m->requests[r * STATUS_SLOTS + status_slot(status)], 1);
    size_t b = 0;
    while (b < METRICS_LATENCY_BUCKETS && duration_ms > bounds_ms[b])
        b++;
    inc(&m->latency[r * (METRICS_LATENCY_BUCKETS + 1) + b], 1);
    inc(&m->latency_sum_ms[r], duration_ms);
}

static const char *route_label(const struct router *router, size_t r)
{
    return r == 0 ? "none" : router->routes[r - 1].name;
}

int metrics_render(struct buf *out, struct metrics *const *all, size_t n)
{
    const struct router *router = all[0]->router;
    size_t routes_count = router->count;
    int rc = 0;
    rc |= buf_appends(out, "# HELP tipd_http_requests_total HTTP requests "
                           "answered, by route and status.\n"
                           "# TYPE tipd_http_requests_total counter\n");
    for (size_t r = 0; r <= routes_count; r++) {
        for (size_t s = 0; s < STATUS_SLOTS; s++) {
            uint64_t sum = 0;
            for (size_t w = 0; w < n; w++)
                sum += get(&all[w]->requests[r * STATUS_SLOTS + s]);
            if (sum == 0)
                continue;
            if (s < ARRAY_SIZE(statuses))
                rc |= buf_printf(out,
                                 "tipd_http_requests_total{route=\"%s\","
                                 "status=\"%d\"} %llu\n",
                                 route_label(router, r), statuses[s],
                                 (unsigned long long)sum);
            else
                rc |=
                    buf_printf(out,
                               "tipd_http_requests_total{route=\"%s\","
                               "status=\"other\"} %llu\n",
                               route_label(router, r), (unsigned long long)sum);
        }
    }

    rc |= buf_appends(out, "# HELP tipd_http_request_duration_seconds Time "
                           "from a request's first byte to its answer.\n"
                           "# TYPE tipd_http_request_duration_seconds "
                           "histogram\n");
    for (size_t r = 0; r <= routes_count; r++) {
        uint64_t cumulative = 0, sum_ms = 0;
        for (size_t w = 0; w < n; w++)
            sum_ms += get(&all[w]->latency_sum_ms[r]);
        for (size_t b = 0; b <= METRICS_LATENCY_BUCKETS; b++) {
            for (size_t w = 0; w < n; w++)
                cumulative += get(
                    &all[w]->latency[r * (METRICS_LATENCY_BUCKETS + 1) + b]);
            if (b < METRICS_LATENCY_BUCKETS)
                rc |= buf_printf(out,
                                 "tipd_http_request_duration_seconds_bucket{"
                                 "route=\"%s\",le=\"%g\"} %llu\n",
                                 route_label(router, r),
                                 (double)bounds_ms[b] / 1000,
                                 (unsigned long long)cumulative);
            else
                rc |= buf_printf(out,
                                 "tipd_http_request_duration_seconds_bucket{"
                                 "route=\"%s\",le=\"+Inf\"} %llu\n",
                                 route_label(router, r),
                                 (unsigned long long)cumulative);
        }
        rc |=
            buf_printf(out,
                       "tipd_http_request_duration_seconds_sum{route="
                       "\"%s\"} %g\n"
                       "tipd_http_request_duration_seconds_count{route="
                       "\"%s\"} %llu\n",
                       route_label(router, r), (double)sum_ms / 1000,
                       route_label(router, r), (unsigned long long)cumulative);
    }

    int64_t open = 0, pending = 0;
    uint64_t accepted = 0, refused = 0, connects = 0, failures = 0;
    uint64_t batches = 0, stored = 0, commit_ms = 0;
    int ready = 0;
    for (size_t w = 0; w < n; w++) {
        open += atomic_load_explicit(&all[w]->connections_open,
                                     memory_order_relaxed);
        accepted += get(&all[w]->connections_accepted);
        refused += get(&all[w]->connections_refused);
        connects += get(&all[w]->db_connects);
        failures += get(&all[w]->db_failures);
        pending +=
            atomic_load_explicit(&all[w]->intake_pending, memory_order_relaxed);
        batches += get(&all[w]->intake_batches);
        stored += get(&all[w]->intake_stored);
        commit_ms += get(&all[w]->intake_commit_ms);
        ready += atomic_load_explicit(&all[w]->db_ready, memory_order_relaxed);
    }
    rc |= buf_printf(
        out,
        "# HELP tipd_connections_open Client connections open now.\n"
        "# TYPE tipd_connections_open gauge\n"
        "tipd_connections_open %lld\n"
        "# HELP tipd_connections_accepted_total Client connections "
        "accepted.\n"
        "# TYPE tipd_connections_accepted_total counter\n"
        "tipd_connections_accepted_total %llu\n"
        "# HELP tipd_connections_refused_total Connections closed at accept "
        "because max_connections was reached.\n"
        "# TYPE tipd_connections_refused_total counter\n"
        "tipd_connections_refused_total %llu\n"
        "# HELP tipd_workers Event-loop threads.\n"
        "# TYPE tipd_workers gauge\n"
        "tipd_workers %zu\n"
        "# HELP tipd_db_sessions_ready Worker database sessions whose last "
        "probe was answered in time.\n"
        "# TYPE tipd_db_sessions_ready gauge\n"
        "tipd_db_sessions_ready %d\n"
        "# HELP tipd_db_connects_total Database connections established.\n"
        "# TYPE tipd_db_connects_total counter\n"
        "tipd_db_connects_total %llu\n"
        "# HELP tipd_db_failures_total Failed database connection attempts "
        "and lost connections.\n"
        "# TYPE tipd_db_failures_total counter\n"
        "tipd_db_failures_total %llu\n",
        (long long)open, (unsigned long long)accepted,
        (unsigned long long)refused, n, ready, (unsigned long long)connects,
        (unsigned long long)failures);
    rc |= buf_printf(
        out,
        "# HELP tipd_intake_pending Reports waiting for their batch to "
        "commit.\n"
        "# TYPE tipd_intake_pending gauge\n"
        "tipd_intake_pending %lld\n"
        "# HELP tipd_intake_reports_stored_total Reports committed.\n"
        "# TYPE tipd_intake_reports_stored_total counter\n"
        "tipd_intake_reports_stored_total %llu\n"
        "# HELP tipd_intake_batch_seconds Round trip of committed batches "
        "(BEGIN to COMMIT answered).\n"
        "# TYPE tipd_intake_batch_seconds summary\n"
        "tipd_intake_batch_seconds_sum %g\n"
        "tipd_intake_batch_seconds_count %llu\n",
        (long long)pending, (unsigned long long)stored,
        (double)commit_ms / 1000, (unsigned long long)batches);
    return rc ? -1 : 0;
}
