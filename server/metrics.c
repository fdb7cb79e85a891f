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
    atomic_init(&m->staff_groups, 0);
    atomic_init(&m->staff_actions, 0);
    atomic_init(&m->staff_statements, 0);
    atomic_init(&m->staff_groups_split, 0);
    atomic_init(&m->tls_handshakes_ok, 0);
    atomic_init(&m->tls_handshakes_failed, 0);
    atomic_init(&m->tls_handshakes_unfinished, 0);
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
    uint64_t groups = 0, actions = 0, statements = 0, split = 0;
    uint64_t tls_ok = 0, tls_failed = 0, tls_unfinished = 0;
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
        groups += get(&all[w]->staff_groups);
        actions += get(&all[w]->staff_actions);
        statements += get(&all[w]->staff_statements);
        split += get(&all[w]->staff_groups_split);
        tls_ok += get(&all[w]->tls_handshakes_ok);
        tls_failed += get(&all[w]->tls_handshakes_failed);
        tls_unfinished += get(&all[w]->tls_handshakes_unfinished);
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
    rc |= buf_printf(
        out,
        "# HELP tipd_staff_groups_total Transactions of staff actions "
        "(group commit).\n"
        "# TYPE tipd_staff_groups_total counter\n"
        "tipd_staff_groups_total %llu\n"
        "# HELP tipd_staff_actions_total Staff actions sent in them.\n"
        "# TYPE tipd_staff_actions_total counter\n"
        "tipd_staff_actions_total %llu\n"
        "# HELP tipd_staff_statements_total Statements those actions ran as "
        "(claims on one queue that arrive together share one).\n"
        "# TYPE tipd_staff_statements_total counter\n"
        "tipd_staff_statements_total %llu\n"
        "# HELP tipd_staff_groups_split_total Failed groups run again one "
        "action at a time.\n"
        "# TYPE tipd_staff_groups_split_total counter\n"
        "tipd_staff_groups_split_total %llu\n",
        (unsigned long long)groups, (unsigned long long)actions,
        (unsigned long long)statements, (unsigned long long)split);
    rc |= buf_printf(
        out,
        "# HELP tipd_tls_handshakes_total TLS handshakes by result: ok, "
        "failed (refused: version, cipher, ALPN, not TLS), unfinished "
        "(closed at the header deadline or by the client).\n"
        "# TYPE tipd_tls_handshakes_total counter\n"
        "tipd_tls_handshakes_total{result=\"ok\"} %llu\n"
        "tipd_tls_handshakes_total{result=\"failed\"} %llu\n"
        "tipd_tls_handshakes_total{result=\"unfinished\"} %llu\n",
        (unsigned long long)tls_ok, (unsigned long long)tls_failed,
        (unsigned long long)tls_unfinished);
    return rc ? -1 : 0;
}

void metrics_tls_init(struct tls_metrics *m)
{
    atomic_init(&m->reloads_ok, 0);
    atomic_init(&m->reloads_failed, 0);
}

int metrics_render_tls(struct buf *out, struct tls_metrics *m)
{
    return buf_printf(
        out,
        "# HELP tipd_tls_reloads_total Reloads of tls_cert_file and "
        "tls_key_file on SIGHUP, by result.\n"
        "# TYPE tipd_tls_reloads_total counter\n"
        "tipd_tls_reloads_total{result=\"ok\"} %llu\n"
        "tipd_tls_reloads_total{result=\"failed\"} %llu\n",
        (unsigned long long)get(&m->reloads_ok),
        (unsigned long long)get(&m->reloads_failed));
}

void metrics_triage_init(struct triage_metrics *m)
{
    atomic_init(&m->active, 0);
    atomic_init(&m->waiting, 0);
    atomic_init(&m->lag_ms, 0);
    atomic_init(&m->decisions, 0);
    atomic_init(&m->cases_opened, 0);
    atomic_init(&m->batches, 0);
    atomic_init(&m->batch_us, 0);
    atomic_init(&m->failures, 0);
    atomic_init(&m->rebuilds, 0);
    atomic_init(&m->gaps_timed_out, 0);
    atomic_init(&m->calendar_fallbacks, 0);
    atomic_init(&m->reloads_ok, 0);
    atomic_init(&m->reloads_failed, 0);
    atomic_init(&m->cases_open, -1);
    atomic_init(&m->cases_overdue, -1);
}

int metrics_render_triage(struct buf *out, struct triage_metrics *m)
{
    int64_t open = atomic_load_explicit(&m->cases_open, memory_order_relaxed);
    int rc = 0;
    if (open >= 0)
        rc |= buf_printf(
            out,
            "# HELP tipd_cases_open Open cases in all units (counted by the "
            "triage worker every few seconds).\n"
            "# TYPE tipd_cases_open gauge\n"
            "tipd_cases_open %lld\n"
            "# HELP tipd_cases_overdue Open cases past their due time.\n"
            "# TYPE tipd_cases_overdue gauge\n"
            "tipd_cases_overdue %lld\n",
            (long long)open,
            (long long)atomic_load_explicit(&m->cases_overdue,
                                            memory_order_relaxed));
    rc |= buf_printf(
        out,
        "# HELP tipd_triage_active 1 while this node's triage worker holds "
        "the triage lock and its database connection.\n"
        "# TYPE tipd_triage_active gauge\n"
        "tipd_triage_active %d\n"
        "# HELP tipd_triage_waiting Committed reports not yet triaged (from "
        "report ids when more than a batch waits).\n"
        "# TYPE tipd_triage_waiting gauge\n"
        "tipd_triage_waiting %lld\n"
        "# HELP tipd_triage_lag_seconds Age of the oldest committed report "
        "not yet triaged, at the last poll; 0 when none waits.\n"
        "# TYPE tipd_triage_lag_seconds gauge\n"
        "tipd_triage_lag_seconds %.3f\n"
        "# HELP tipd_triage_decisions_total Reports triaged.\n"
        "# TYPE tipd_triage_decisions_total counter\n"
        "tipd_triage_decisions_total %llu\n"
        "# HELP tipd_triage_cases_opened_total Cases opened.\n"
        "# TYPE tipd_triage_cases_opened_total counter\n"
        "tipd_triage_cases_opened_total %llu\n"
        "# HELP tipd_triage_batch_seconds Time of committed triage batches "
        "(decide and write, one transaction each).\n"
        "# TYPE tipd_triage_batch_seconds summary\n"
        "tipd_triage_batch_seconds_sum %.6f\n"
        "tipd_triage_batch_seconds_count %llu\n",
        atomic_load_explicit(&m->active, memory_order_relaxed),
        (long long)atomic_load_explicit(&m->waiting, memory_order_relaxed),
        (double)get(&m->lag_ms) / 1000, (unsigned long long)get(&m->decisions),
        (unsigned long long)get(&m->cases_opened),
        (double)get(&m->batch_us) / 1e6, (unsigned long long)get(&m->batches));
    rc |= buf_printf(
        out,
        "# HELP tipd_triage_failures_total Triage batches that did not "
        "commit and connections lost (each is retried).\n"
        "# TYPE tipd_triage_failures_total counter\n"
        "tipd_triage_failures_total %llu\n"
        "# HELP tipd_triage_rebuilds_total Times the worker rebuilt its "
        "memory of decided reports from the database.\n"
        "# TYPE tipd_triage_rebuilds_total counter\n"
        "tipd_triage_rebuilds_total %llu\n"
        "# HELP tipd_triage_gaps_timed_out_total Report ids passed after "
        "triage_gap_timeout_ms (rechecked on every poll).\n"
        "# TYPE tipd_triage_gaps_timed_out_total counter\n"
        "tipd_triage_gaps_timed_out_total %llu\n"
        "# HELP tipd_triage_calendar_fallbacks_total Deadlines that ran into "
        "a year holidays_file does not declare (counted Monday to Friday).\n"
        "# TYPE tipd_triage_calendar_fallbacks_total counter\n"
        "tipd_triage_calendar_fallbacks_total %llu\n"
        "# HELP tipd_triage_rules_reloads_total Reloads of rules_file and "
        "holidays_file on SIGHUP, by result.\n"
        "# TYPE tipd_triage_rules_reloads_total counter\n"
        "tipd_triage_rules_reloads_total{result=\"ok\"} %llu\n"
        "tipd_triage_rules_reloads_total{result=\"failed\"} %llu\n",
        (unsigned long long)get(&m->failures),
        (unsigned long long)get(&m->rebuilds),
        (unsigned long long)get(&m->gaps_timed_out),
        (unsigned long long)get(&m->calendar_fallbacks),
        (unsigned long long)get(&m->reloads_ok),
        (unsigned long long)get(&m->reloads_failed));
    return rc ? -1 : 0;
}
