/*
 * triage_worker: one thread, one connection, a loop of polls and batches.
 *
 * The watermark. Intake draws report ids with nextval() inside transactions
 * that commit in any order, or roll back, or store no row for an id (a key
 * another request owns). So committed ids have holes, and a hole may fill
 * later. The worker keeps W (triage_state.watermark): every id <= W is
 * decided, or will never commit, or is listed in triage_gaps. Above W it
 * remembers which ids it has decided (done) up to the highest id it has
 * seen (maxseen); every other id in (W, maxseen] is a gap. Each poll reads,
 * in id order, the undecided committed reports among: ids above maxseen,
 * the gaps, and triage_gaps; so a report is picked up whenever it commits,
 * and report_triage's primary key stops a second decision.
 *
 * A gap is final (never to commit) once every transaction that was open
 * when the gap was first missed has ended: the one that drew the id began
 * before that moment. Each poll first asks pg_stat_activity for the start
 * of the oldest transaction open now (the horizon), then reads the reports
 * in a later snapshot: a gap first missed before the horizon and not read
 * is final. A gap that stays open longer than triage_gap_timeout_ms (a
 * session left idle in a transaction) is passed anyway and written to
 * triage_gaps, which every poll reads again until the horizon passes it.
 *
 * One batch: learn and decide the reports in id order (the library's memory
 * changes here), find the cases that duplicates join, then send the whole
 * write in one pipeline: BEGIN, the decisions, the new cases, the case
 * memberships, the joined cases' counts, priorities and deadlines, the
 * copies, the gaps, the watermark with generation + 1 and the batch's name,
 * COMMIT. If the connection goes while COMMIT's answer is awaited, the
 * worker reconnects, retakes the lock and reads triage_state: one more
 * generation under its batch's name means the batch committed; anything
 * else (another node may have triaged meanwhile) means its memory may hold
 * decisions that did not commit, and it is rebuilt from the database.
 *
 * The connection is pgsync's (pgsync.h), the ids above the watermark
 * triage_ids' (triage_ids.h).
 */
/* syscall(SYS_gettid) for the thread's own niceness. */
#define _DEFAULT_SOURCE 1

#include "triage_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "norm.h"
#include "pgarray.h"
#include "pgsync.h"
#include "route.h"
#include "rules.h"
#include "triage.h"
#include "triage_ids.h"
#include "util.h"
#include "workdays.h"

/* pg_try_advisory_lock's key: "tipdtria" as a big-endian 64-bit number. */
#define LOCK_KEY "8388359357706955105"
#define REBUILD_CHUNK "2000" /* decided reports read at a time */
#define MAX_OPEN_GAPS 100000 /* gap ids sent with one poll */
#define BEIJING_OFFSET_S (8 * 3600)
#define FALLBACK_LOG_MS 60000 /* at most one calendar warning a minute */

/* Returns of the database helpers (pgsync.h). */
#define DB_OK PGSYNC_OK
#define DB_LOST PGSYNC_LOST
#define DB_ERROR PGSYNC_ERROR

/* One report of a batch and its decision. */
struct item {
    int64_t id;
    struct triage_report report; /* borrows from the poll's PGresult */
    struct triage_decision d;
    bool decided;
    double received; /* epoch seconds */
    int64_t opener;  /* cluster_report_id of the case it belongs to */
    bool opens;      /* opens that case */
    double due;      /* epoch seconds: end of the deadline day */
};

/* A root report outside the batch and its case's opener. */
struct root {
    int64_t report, opener;
};

/* A batch sent whose COMMIT was not answered. */
struct pending {
    bool set;
    int64_t generation; /* what triage_state says if it committed, */
    char batch[64];     /* with this name */
    int64_t watermark;
    int64_t *ids; /* owned */
    size_t count;
    size_t opened;
};

enum param {
    P_RT_ID,
    P_RT_CLUSTER,
    P_RT_AKEY,
    P_RT_UNIT,
    P_RT_CATEGORY,
    P_RT_QUEUE,
    P_RT_PRIORITY,
    P_RT_COPIES,
    P_RT_RULES,
    P_RT_CSIZE,
    P_RT_AREPORTS,
    P_C_OPENER,
    P_C_UNIT,
    P_C_QUEUE,
    P_C_PRIORITY,
    P_C_CATEGORY,
    P_C_AKEY,
    P_C_DUE,
    P_CR_OPENER,
    P_CR_REPORT,
    P_J_OPENER,
    P_J_PRIORITY,
    P_J_DUE,
    P_CC_OPENER,
    P_CC_UNIT,
    P_G_ID,
    P_G_T0,
    P_TMP,
    P_COUNT
};

struct triage_run {
    struct triage_worker *w;  /* borrowed */
    const struct config *c;   /* borrowed */
    struct triage_metrics *m; /* borrowed */
    enum triage_worker_state state;
    struct pgsync db; /* the connection */
    bool locked;      /* holds the advisory lock (on db) */
    uint64_t backoff_ms;
    struct norm *norm;   /* owned */
    struct rules *rules; /* owned; NULL until a file loads */
    struct workdays cal;
    bool sync_units;  /* rules (re)loaded: add missing units and queues */
    struct triage *t; /* owned; NULL: to be rebuilt */
    uint64_t cases_counted_ms; /* last count_cases (util_now_ms) */
    bool state_known;          /* memory checked against triage_state */
    struct triage_ids ids;     /* the watermark, as committed, and above it */
    int64_t generation;        /* as committed */
    size_t timed_out;          /* gaps passed by the timeout in this batch */
    int64_t gaps_table;        /* rows in triage_gaps after our last commit */
    uint64_t prune_ms;         /* when the last write was sent */
    struct pending pending;
    char node[32]; /* this worker's name in triage_state.batch */
    uint64_t fallback_logged_ms;
    uint64_t fallbacks_unlogged;
    struct buf p[P_COUNT];
};

static const char *const state_names[] = {
#define X(name, text) text,
    TRIAGE_WORKER_STATE_MAP(X)
#undef X
};

static void set_state(struct triage_run *r, enum triage_worker_state s)
{
    if (r->state == s)
        return;
    r->state = s;
    log_info("triage_state", "state=%s", state_names[s]);
    atomic_store_explicit(&r->m->active, s == TRIAGE_WORKER_TRIAGING,
                          memory_order_relaxed);
    if (s != TRIAGE_WORKER_TRIAGING) {
        atomic_store_explicit(&r->m->waiting, 0, memory_order_relaxed);
        atomic_store_explicit(&r->m->lag_ms, 0, memory_order_relaxed);
    }
}

static void count(_Atomic uint64_t *c, uint64_t by)
{
    atomic_fetch_add_explicit(c, by, memory_order_relaxed);
}

/* --- the connection ------------------------------------------------------ */

/* The connection went: log why, count it, forget the lock. */
static void lost(struct triage_run *r)
{
    if (!pgsync_stopping(&r->db)) {
        log_warn("triage_db_lost", "reason=\"%s\"", r->db.why);
        count(&r->m->failures, 1);
    }
    r->locked = false;
    r->state_known = false;
}

static int connect_db(struct triage_run *r)
{
    set_state(r, TRIAGE_WORKER_CONNECTING);
    int rc =
        pgsync_connect(&r->db, r->c->database, r->c->db_connect_timeout_ms);
    if (rc != DB_OK && !pgsync_stopping(&r->db))
        log_warn("triage_db_connect_failed", "reason=\"%s\"", r->db.why);
    return rc;
}

/* Logs a failed statement: its SQLSTATE and primary message, which never
 * carry row values (DETAIL would). */
static void log_sql_error(const PGresult *res, const char *what)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    log_error("triage_sql_error", "step=%s sqlstate=%s message=\"%s\"", what,
              state ? state : "?", msg ? msg : PQresultErrorMessage(res));
}

/* pgsync_run with triage_timeout_ms; a failure is logged (what names the
 * step) and a lost connection accounted for. */
static int run(struct triage_run *r, const char *what,
               const struct pgsync_stmt *s, size_t n, PGresult **res)
{
    int rc = pgsync_run(&r->db, s, n, res, r->c->triage_timeout_ms);
    if (rc == DB_LOST)
        lost(r);
    else if (rc == DB_ERROR && res[r->db.failed] != NULL)
        log_sql_error(res[r->db.failed], what);
    return rc;
}

/* One statement; its result (owned) or NULL with *rc set. */
static PGresult *run1(struct triage_run *r, const char *what, const char *sql,
                      int n, const char *const *params, int *rc)
{
    struct pgsync_stmt s = {sql, n, params};
    PGresult *res;
    *rc = run(r, what, &s, 1, &res);
    if (*rc != DB_OK) {
        PQclear(res);
        return NULL;
    }
    return res;
}

static void reset_params(struct triage_run *r)
{
    for (int i = 0; i < P_COUNT; i++)
        buf_reset(&r->p[i]);
}

/* --- rules, units and the calendar ---------------------------------------- */

static void forget_memory(struct triage_run *r);

/* Whether a and b have the same category keywords, in the same order. */
static bool same_keywords(const struct rules *a, const struct rules *b)
{
    if (a == NULL || a->category_count != b->category_count)
        return false;
    for (size_t i = 0; i < a->category_count; i++) {
        const struct rules_words *x = &a->categories[i].keywords;
        const struct rules_words *y = &b->categories[i].keywords;
        if (x->count != y->count)
            return false;
        for (size_t k = 0; k < x->count; k++)
            if (strcmp(x->norm[k], y->norm[k]) != 0)
                return false;
    }
    return true;
}

/* Loads rules_file and holidays_file; each that fails is logged and the one
 * in force stays. Returns whether both loaded (or the calendar is unset). */
static bool load_files(struct triage_run *r, bool reload)
{
    char err[1024];
    bool ok = true;
    struct rules *rules =
        rules_load(r->c->rules_file, r->norm, err, sizeof(err));
    if (rules == NULL) {
        log_error("triage_rules_refused", "file=%s error=\"%s\" kept=%s",
                  r->c->rules_file, err,
                  r->rules != NULL ? "previous" : "none");
        ok = false;
    } else {
        if (r->t != NULL && !same_keywords(r->rules, rules)) {
            /* The memory marks each report with the category keywords it
             * holds, numbered by the rules in force: new keywords need it
             * built again. */
            log_info("triage_memory_stale",
                     "reason=\"category keywords changed\"");
            forget_memory(r);
        }
        if (r->t != NULL)
            triage_set_rules(r->t, rules);
        rules_free(r->rules);
        r->rules = rules;
        r->sync_units = true;
        log_info("triage_rules_loaded",
                 "file=%s units=%zu categories=%zu rules=%zu", r->c->rules_file,
                 rules->unit_count, rules->category_count, rules->rule_count);
    }
    if (r->c->holidays_file[0] != '\0') {
        struct workdays cal;
        workdays_init(&cal);
        if (workdays_load(&cal, r->c->holidays_file, err, sizeof(err)) != 0) {
            log_error("triage_holidays_refused", "file=%s error=\"%s\"",
                      r->c->holidays_file, err);
            ok = false;
        } else {
            r->cal = cal;
            log_info("triage_holidays_loaded", "file=%s years=%d",
                     r->c->holidays_file, cal.year_count);
        }
    } else if (!reload) {
        log_warn("triage_holidays_unset",
                 "reason=\"holidays_file is empty: deadlines count Monday "
                 "to Friday\"");
    }
    if (reload)
        count(ok ? &r->m->reloads_ok : &r->m->reloads_failed, 1);
    return ok;
}

static bool valid_queue(const char *q)
{
    size_t n = strlen(q);
    if (n < 1 || n > 32 || q[0] < 'a' || q[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((q[i] >= 'a' && q[i] <= 'z') || (q[i] >= '0' && q[i] <= '9') ||
              q[i] == '_'))
            return false;
    return true;
}

/*
 * Adds the rules' units missing from `units` (a case needs its unit) and
 * every queue the rules name to every unit, never renaming anything:
 * `tipd units import` owns names and parents.
 */
static int sync_units(struct triage_run *r)
{
    reset_params(r);
    const struct rules *ru = r->rules;
    for (size_t i = 0; i < ru->unit_count; i++) {
        const struct rules_unit *u = &ru->units[i];
        char parent[7];
        pgarray_text(&r->p[0], u->id);
        pgarray_text(&r->p[1], u->name);
        pgarray_text(&r->p[2], rules_level_name(rules_region_level(u->id)));
        pgarray_text(&r->p[3], route_parent(ru, u->id, parent)
                                   ? parent
                                   : (const char *)0);
    }
    pgarray_text(&r->p[4], "default");
    pgarray_text(&r->p[4], "review");
    for (size_t i = 0; i < ru->rule_count; i++) {
        const char *q = ru->rules[i].queue;
        if (q == NULL)
            continue;
        if (valid_queue(q))
            pgarray_text(&r->p[4], q);
        else
            log_warn("triage_queue_invalid",
                     "rule_index=%zu reason=\"queue names are [a-z][a-z0-9_]* "
                     "of at most 32; cases go to default\"",
                     i);
    }
    const char *units[4] = {pgarray_end(&r->p[0]), pgarray_end(&r->p[1]),
                            pgarray_end(&r->p[2]), pgarray_end(&r->p[3])};
    const char *queues[2] = {units[0], pgarray_end(&r->p[4])};
    const struct pgsync_stmt s[] = {
        {"INSERT INTO units (id, name, level, parent_id)"
         " SELECT * FROM unnest($1::text[], $2::text[], $3::text[],"
         " $4::text[]) ON CONFLICT (id) DO NOTHING",
         4, units},
        {"INSERT INTO queues (unit_id, name)"
         " SELECT DISTINCT u, q FROM unnest($1::text[]) u, unnest($2::text[]) q"
         " ON CONFLICT DO NOTHING",
         2, queues},
    };
    PGresult *res[2];
    int rc = run(r, "sync_units", s, 2, res);
    if (rc == DB_OK) {
        log_info("triage_units_synced", "units_added=%s queues_added=%s",
                 PQcmdTuples(res[0]), PQcmdTuples(res[1]));
        r->sync_units = false;
    }
    pgsync_clear(res, 2);
    return rc;
}

/*
 * The end of the deadline day, Beijing time, of a report received at
 * `received` (epoch seconds) with priority p, in epoch seconds.
 */
static double due_at(struct triage_run *r, double received,
                     enum rules_priority p)
{
    uint64_t days_by[4];
    days_by[RULES_PRIORITY_LOW] = r->c->triage_due_days_low;
    days_by[RULES_PRIORITY_NORMAL] = r->c->triage_due_days_normal;
    days_by[RULES_PRIORITY_HIGH] = r->c->triage_due_days_high;
    days_by[RULES_PRIORITY_URGENT] = r->c->triage_due_days_urgent;
    int n = (int)days_by[(int)p & 3];
    double x = (received + BEIJING_OFFSET_S) / 86400.0;
    long day = (long)x;
    if ((double)day > x)
        day--; /* floor */
    struct workdays_date from = workdays_civil_from_days(day), deadline;
    bool fallback = false;
    long end_day;
    if (workdays_add(&r->cal, from, n, &deadline, &fallback) == 0) {
        end_day = workdays_days_from_civil(deadline.year, deadline.month,
                                           deadline.day);
    } else {
        /* A received date outside the calendar's range (input error):
         * calendar days, flagged like any other fallback. */
        end_day = day + n;
        fallback = true;
    }
    if (fallback) {
        count(&r->m->calendar_fallbacks, 1);
        r->fallbacks_unlogged++;
        uint64_t now = util_now_ms();
        if (r->fallback_logged_ms == 0 ||
            now - r->fallback_logged_ms >= FALLBACK_LOG_MS) {
            log_warn("triage_calendar_fallback",
                     "year=%d deadlines=%llu reason=\"a deadline runs into a "
                     "year holidays_file does not declare: counted Monday "
                     "to Friday\"",
                     from.year, (unsigned long long)r->fallbacks_unlogged);
            r->fallback_logged_ms = now;
            r->fallbacks_unlogged = 0;
        }
    }
    return (double)(end_day + 1) * 86400.0 - BEIJING_OFFSET_S;
}

static void forget_memory(struct triage_run *r)
{
    triage_free(r->t);
    r->t = NULL;
    r->state_known = false;
    free(r->pending.ids);
    memset(&r->pending, 0, sizeof(r->pending));
}

/* --- rebuilding the memory -------------------------------------------------
 */

static enum rules_channel channel_of(const char *text)
{
    enum rules_channel ch;
    if (text != NULL && rules_channel_parse(text, &ch) == 0)
        return ch;
    /* `visit` (in person, entered by staff) is handled with letters:
     * 来信来访, the petitions office's two written-down channels. */
    return RULES_CHANNEL_LETTER;
}

/* Columns: id, channel, content, region, name, unit, position, rank. */
static void fill_report(const PGresult *res, int row, int col0,
                        struct triage_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    rep->id = pgsync_str(res, row, col0);
    rep->channel = channel_of(pgsync_str(res, row, col0 + 1));
    rep->content = pgsync_str(res, row, col0 + 2);
    rep->region = pgsync_str(res, row, col0 + 3);
    rep->accused_name = pgsync_str(res, row, col0 + 4);
    rep->accused_unit = pgsync_str(res, row, col0 + 5);
    rep->accused_position = pgsync_str(res, row, col0 + 6);
    rep->accused_rank = pgsync_str(res, row, col0 + 7);
}

/*
 * Builds the memory from the decided reports and their stored decisions
 * (triage_restore: nothing is decided again), and the watermark state from
 * triage_state and report_triage.
 */
static int rebuild(struct triage_run *r)
{
    set_state(r, TRIAGE_WORKER_REBUILDING);
    uint64_t start = util_now_ms();
    forget_memory(r);
    int rc;
    PGresult *st = run1(r, "rebuild",
                        "SELECT watermark, generation,"
                        " extract(epoch FROM clock_timestamp()),"
                        " (SELECT count(*) FROM triage_gaps)"
                        " FROM triage_state",
                        0, NULL, &rc);
    if (st == NULL)
        return rc;
    if (PQntuples(st) != 1) {
        PQclear(st);
        log_error("triage_state_missing",
                  "reason=\"triage_state has no row (migration 0004)\"");
        return DB_ERROR;
    }
    triage_ids_reset(&r->ids, pgsync_i64(st, 0, 0));
    r->generation = pgsync_i64(st, 0, 1);
    double now_db = pgsync_f64(st, 0, 2);
    r->gaps_table = pgsync_i64(st, 0, 3);
    PQclear(st);

    /* The decided reports, in id order (the order they were decided but
     * for late commits; a duplicate's case is found through its root's
     * case membership, so that difference moves no report to another
     * case). */
    struct triage *t = triage_new(r->norm, r->rules);
    size_t restored = 0;
    /* Only the newest triage_memory_reports: memory stays bounded however
     * many reports the database holds. */
    char after[32] = "0", keep[24];
    snprintf(keep, sizeof(keep), "%llu",
             (unsigned long long)r->c->triage_memory_reports);
    const char *keep_params[1] = {keep};
    PGresult *from =
        run1(r, "rebuild",
             "SELECT coalesce(min(report_id) - 1, 0) FROM"
             " (SELECT report_id FROM report_triage"
             " ORDER BY report_id DESC LIMIT $1::bigint) AS newest",
             1, keep_params, &rc);
    if (from == NULL) {
        triage_free(t);
        return rc;
    }
    util_copy(after, sizeof(after), PQgetvalue(from, 0, 0));
    PQclear(from);
    for (;;) {
        const char *params[1] = {after};
        PGresult *res =
            run1(r, "rebuild",
                 "SELECT r.id, r.channel, r.content, r.region, r.accused_name,"
                 " r.accused_unit, r.accused_position, r.accused_rank,"
                 " t.cluster_report_id, t.accused_key"
                 " FROM report_triage t JOIN reports r ON r.id = t.report_id"
                 " WHERE t.report_id > $1 AND r.id > $1 ORDER BY t.report_id"
                 " LIMIT " REBUILD_CHUNK,
                 1, params, &rc);
        if (res == NULL) {
            triage_free(t);
            return rc;
        }
        int n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            struct triage_report rep;
            fill_report(res, i, 0, &rep);
            triage_restore(t, &rep, pgsync_str(res, i, 8),
                           pgsync_str(res, i, 9));
        }
        restored += (size_t)n;
        if (n > 0)
            util_copy(after, sizeof(after), PQgetvalue(res, n - 1, 0));
        PQclear(res);
        if (n == 0)
            break;
        if (pgsync_stopping(&r->db)) {
            triage_free(t);
            return DB_LOST;
        }
    }

    /* Above the watermark: what is decided, and the gaps between. */
    char w[32];
    snprintf(w, sizeof(w), "%lld", (long long)r->ids.watermark);
    const char *params[1] = {w};
    PGresult *ids = run1(r, "rebuild",
                         "SELECT report_id FROM report_triage"
                         " WHERE report_id > $1 ORDER BY report_id",
                         1, params, &rc);
    if (ids == NULL) {
        triage_free(t);
        return rc;
    }
    int64_t top = r->ids.watermark;
    for (int i = 0; i < PQntuples(ids); i++) {
        int64_t id = pgsync_i64(ids, i, 0);
        triage_ids_set_done(&r->ids, id);
        if (id > top)
            top = id;
    }
    PQclear(ids);
    /* The gaps below top were missed at some time before now: now is a
     * safe (late) first-missed time. */
    triage_ids_seen(&r->ids, top, now_db);

    r->t = t;
    r->state_known = true;
    count(&r->m->rebuilds, 1);
    log_info("triage_rebuilt",
             "reports=%zu watermark=%lld generation=%lld ms=%llu", restored,
             (long long)r->ids.watermark, (long long)r->generation,
             (unsigned long long)(util_now_ms() - start));
    return DB_OK;
}

/*
 * After (re)taking the lock: whether the memory matches what committed.
 * A batch whose COMMIT went unanswered committed if the generation moved
 * by exactly one; otherwise the memory is rebuilt.
 */
static int check_state(struct triage_run *r)
{
    if (r->t == NULL)
        return rebuild(r);
    int rc;
    PGresult *st = run1(r, "check",
                        "SELECT watermark, generation,"
                        " (SELECT count(*) FROM triage_gaps), batch"
                        " FROM triage_state",
                        0, NULL, &rc);
    if (st == NULL)
        return rc;
    bool one = PQntuples(st) == 1;
    int64_t gen = one ? pgsync_i64(st, 0, 1) : -1;
    int64_t gaps = one ? pgsync_i64(st, 0, 2) : 0;
    const char *batch = one ? pgsync_str(st, 0, 3) : NULL;
    struct pending *p = &r->pending;
    /* Ours only if named by us: another node may have taken the lock and
     * committed a batch of its own meanwhile. */
    bool committed = p->set && gen == p->generation && batch != NULL &&
                     strcmp(batch, p->batch) == 0;
    PQclear(st);
    if (committed) {
        for (size_t i = 0; i < p->count; i++)
            triage_ids_set_done(&r->ids, p->ids[i]);
        triage_ids_advance(&r->ids, p->watermark);
        r->generation = gen;
        r->gaps_table = gaps;
        count(&r->m->decisions, p->count);
        count(&r->m->cases_opened, p->opened);
        count(&r->m->batches, 1);
        log_info("triage_batch_confirmed", "reports=%zu generation=%lld",
                 p->count, (long long)gen);
        free(p->ids);
        memset(p, 0, sizeof(*p));
        r->state_known = true;
        return DB_OK;
    }
    if (gen == r->generation && (!p->set || p->count == 0)) {
        /* Nothing was decided in memory that did not commit. */
        free(p->ids);
        memset(p, 0, sizeof(*p));
        r->state_known = true;
        return DB_OK;
    }
    log_info("triage_memory_stale",
             "generation=%lld database_generation=%lld pending=%d",
             (long long)r->generation, (long long)gen, p->set ? 1 : 0);
    return rebuild(r);
}

/* --- one poll and its batch --------------------------------------------------
 */

static const struct item *find_item(const struct item *items, size_t n,
                                    int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (items[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && items[lo].id == id ? &items[lo] : NULL;
}

static const struct root *find_root(const struct root *roots, size_t n,
                                    int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (roots[mid].report < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && roots[lo].report == id ? &roots[lo] : NULL;
}

/*
 * The cases that duplicates join: a duplicate joins the case its cluster's
 * root report belongs to (read for roots of earlier batches; for roots in
 * this batch, the case the root opened or joined). A root without a case
 * (the memory was rebuilt and reads a cluster differently than it was
 * first decided) gives its duplicate a case of its own.
 */
static int assign_cases(struct triage_run *r, struct item *items, size_t n)
{
    struct buf *a = &r->p[P_TMP];
    buf_reset(a);
    size_t outside = 0;
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        uint64_t root = 0;
        it->opens = true;
        it->opener = it->id;
        if (!it->d.duplicate || it->d.cluster == NULL ||
            util_parse_u64(it->d.cluster, strlen(it->d.cluster), &root) != 0 ||
            (int64_t)root == it->id)
            continue;
        if (find_item(items, n, (int64_t)root) == NULL) {
            pgarray_i64(a, (int64_t)root);
            outside++;
        }
    }
    struct root *roots = NULL;
    size_t root_count = 0;
    if (outside > 0) {
        const char *params[1] = {pgarray_end(a)};
        int rc;
        PGresult *res =
            run1(r, "cases",
                 "SELECT cr.report_id, c.cluster_report_id"
                 " FROM case_reports cr JOIN cases c ON c.id = cr.case_id"
                 " WHERE cr.report_id = ANY($1::bigint[])"
                 " ORDER BY cr.report_id",
                 1, params, &rc);
        if (res == NULL)
            return rc;
        root_count = (size_t)PQntuples(res);
        roots = xcalloc(root_count + 1, sizeof(*roots));
        for (size_t i = 0; i < root_count; i++) {
            roots[i].report = pgsync_i64(res, (int)i, 0);
            roots[i].opener = pgsync_i64(res, (int)i, 1);
        }
        PQclear(res);
    }
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        uint64_t root = 0;
        if (!it->d.duplicate || it->d.cluster == NULL ||
            util_parse_u64(it->d.cluster, strlen(it->d.cluster), &root) != 0 ||
            (int64_t)root == it->id)
            continue;
        const struct item *in = find_item(items, n, (int64_t)root);
        const struct root *out = find_root(roots, root_count, (int64_t)root);
        if (in != NULL && in->id < it->id) {
            it->opens = false;
            it->opener = in->opener;
        } else if (out != NULL) {
            it->opens = false;
            it->opener = out->opener;
        } else {
            log_warn("triage_root_without_case",
                     "report=%lld cluster=%lld reason=\"opens its own case\"",
                     (long long)it->id, (long long)root);
        }
    }
    free(roots);
    return DB_OK;
}

/* The decision's queue, as `queues` can hold it. */
static const char *queue_of(const struct triage_decision *d)
{
    return d->queue != NULL && valid_queue(d->queue) ? d->queue : "default";
}

static const char *unit_of(const struct triage_run *r, const struct item *it)
{
    if (it->d.unit[0] != '\0')
        return it->d.unit;
    return r->rules->default_unit[it->report.channel];
}

/* Fills the write's parameters from the decided items. */
static void build_write(struct triage_run *r, const struct item *items,
                        size_t n)
{
    struct buf *p = r->p;
    struct buf inner;
    buf_init(&inner, (size_t)1 << 20);
    for (size_t i = 0; i < n; i++) {
        const struct item *it = &items[i];
        const struct triage_decision *d = &it->d;
        const char *prio = rules_priority_name(d->priority);
        const char *unit = unit_of(r, it);
        pgarray_i64(&p[P_RT_ID], it->id);
        uint64_t cluster = 0;
        if (d->cluster == NULL ||
            util_parse_u64(d->cluster, strlen(d->cluster), &cluster) != 0)
            cluster = (uint64_t)it->id;
        pgarray_i64(&p[P_RT_CLUSTER], (int64_t)cluster);
        pgarray_text(&p[P_RT_AKEY], d->accused_key);
        pgarray_text(&p[P_RT_UNIT], unit);
        pgarray_text(&p[P_RT_CATEGORY], d->category);
        pgarray_text(&p[P_RT_QUEUE], queue_of(d));
        pgarray_text(&p[P_RT_PRIORITY], prio);
        buf_reset(&inner);
        for (size_t k = 0; k < d->copy_count; k++)
            pgarray_text(&inner, d->copies[k]);
        pgarray_text(&p[P_RT_COPIES], pgarray_end(&inner));
        buf_reset(&inner);
        for (size_t k = 0; k < d->rule_count; k++)
            pgarray_text(&inner, d->rules[k]);
        pgarray_text(&p[P_RT_RULES], pgarray_end(&inner));
        pgarray_i64(&p[P_RT_CSIZE], (int64_t)d->cluster_size);
        pgarray_i64(&p[P_RT_AREPORTS], (int64_t)d->accused_reports);
        if (it->opens) {
            pgarray_i64(&p[P_C_OPENER], it->id);
            pgarray_text(&p[P_C_UNIT], unit);
            pgarray_text(&p[P_C_QUEUE], queue_of(d));
            pgarray_text(&p[P_C_PRIORITY], prio);
            pgarray_text(&p[P_C_CATEGORY], d->category);
            pgarray_text(&p[P_C_AKEY], d->accused_key);
            pgarray_f64(&p[P_C_DUE], it->due);
        } else {
            pgarray_i64(&p[P_J_OPENER], it->opener);
            pgarray_text(&p[P_J_PRIORITY], prio);
            pgarray_f64(&p[P_J_DUE], it->due);
        }
        pgarray_i64(&p[P_CR_OPENER], it->opener);
        pgarray_i64(&p[P_CR_REPORT], it->id);
        for (size_t k = 0; k < d->copy_count; k++) {
            pgarray_i64(&p[P_CC_OPENER], it->opener);
            pgarray_text(&p[P_CC_UNIT], d->copies[k]);
        }
    }
    buf_cleanup(&inner);
}

/* A gap passed by triage_gap_timeout_ms: into triage_gaps. */
static void gap_timed_out(void *arg, int64_t id, double t0)
{
    struct triage_run *r = arg;
    pgarray_i64(&r->p[P_G_ID], id);
    pgarray_f64(&r->p[P_G_T0], t0);
    r->timed_out++;
}

static const char poll_horizon_sql[] =
    /* The start of the oldest transaction open in this database now; 0
     * when some session's state cannot be read (another role without
     * pg_read_all_stats): then only triage_gap_timeout_ms passes gaps. */
    "SELECT extract(epoch FROM clock_timestamp()),"
    " CASE WHEN bool_or(state IS NULL) THEN 0"
    " ELSE extract(epoch FROM coalesce(min(xact_start), clock_timestamp()))"
    " END"
    " FROM pg_stat_activity"
    " WHERE datname = current_database() AND backend_type = 'client backend'"
    " AND pid <> pg_backend_pid()";

#define REPORT_COLUMNS                                                         \
    "r.id, r.channel, r.content, r.region, r.accused_name, r.accused_unit,"    \
    " r.accused_position, r.accused_rank, extract(epoch FROM r.received_at),"  \
    " extract(epoch FROM clock_timestamp() - r.stored_at),"                    \
    " extract(epoch FROM clock_timestamp()),"

/* Ids above maxseen (none is decided: no anti-join, which would read
 * report_triage from its start), then the gaps and triage_gaps, each an
 * index lookup. The branches are disjoint (the gaps lie in (W, maxseen],
 * triage_gaps at or below W); a repeated id is skipped all the same. */
static const char poll_reports_sql[] =
    "(SELECT " REPORT_COLUMNS " (SELECT max(id) FROM reports)"
    " FROM reports r WHERE r.id > $1 ORDER BY r.id LIMIT $3)"
    " UNION ALL"
    " (SELECT " REPORT_COLUMNS " NULL"
    " FROM reports r"
    " WHERE r.id = ANY($2::bigint[] || ARRAY(SELECT report_id"
    " FROM triage_gaps))"
    " AND NOT EXISTS (SELECT 1 FROM report_triage t"
    " WHERE t.report_id = r.id))"
    " ORDER BY 1 LIMIT $3";

static const char write_rt_sql[] =
    "INSERT INTO report_triage (report_id, cluster_report_id, accused_key,"
    " unit_id, category, queue, priority, copies, rules, cluster_size,"
    " accused_reports)"
    " SELECT id, cluster, akey, unit, category, queue, priority,"
    " copies::text[], rules::text[], csize, areports"
    " FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[],"
    " $5::text[], $6::text[], $7::triage_priority[], $8::text[], $9::text[],"
    " $10::int[], $11::int[])"
    " AS t(id, cluster, akey, unit, category, queue, priority, copies, rules,"
    " csize, areports)";

static const char write_cases_sql[] =
    "INSERT INTO cases (cluster_report_id, unit_id, queue, priority,"
    " category, accused_key, due_at)"
    " SELECT opener, unit, queue, priority, category, akey, to_timestamp(due)"
    " FROM unnest($1::bigint[], $2::text[], $3::text[],"
    " $4::triage_priority[], $5::text[], $6::text[], $7::float8[])"
    " AS t(opener, unit, queue, priority, category, akey, due)";

/* A LEFT JOIN: a report whose case is missing fails the batch (case_id is
 * NOT NULL) rather than being left out of every case. A case with a
 * real-name report is marked so (claims take it first within its
 * priority). */
static const char write_members_sql[] =
    "WITH m AS (INSERT INTO case_reports (case_id, report_id)"
    " SELECT c.id, t.report_id"
    " FROM unnest($1::bigint[], $2::bigint[]) AS t(opener, report_id)"
    " LEFT JOIN cases c ON c.cluster_report_id = t.opener"
    " RETURNING case_id, report_id)"
    " UPDATE cases c SET real_name = true FROM m JOIN reports r"
    " ON r.id = m.report_id WHERE c.id = m.case_id AND r.real_name"
    " AND NOT c.real_name";

static const char write_joins_sql[] =
    "UPDATE cases c SET report_count = c.report_count + t.n,"
    " priority = greatest(c.priority, t.p), due_at = least(c.due_at, t.due),"
    " updated_at = now()"
    " FROM (SELECT opener, count(*) AS n, max(p) AS p,"
    " to_timestamp(min(due)) AS due"
    " FROM unnest($1::bigint[], $2::triage_priority[], $3::float8[])"
    " AS u(opener, p, due) GROUP BY opener) t"
    " WHERE c.cluster_report_id = t.opener";

static const char write_copies_sql[] =
    "INSERT INTO case_copies (case_id, unit_id)"
    " SELECT DISTINCT c.id, t.unit"
    " FROM unnest($1::bigint[], $2::text[]) AS t(opener, unit)"
    " JOIN cases c ON c.cluster_report_id = t.opener"
    " ON CONFLICT DO NOTHING";

/* Gaps now decided, or final: their transactions ended before the horizon
 * and no report holds the id. */
static const char write_gaps_done_sql[] =
    "DELETE FROM triage_gaps g WHERE g.report_id = ANY($1::bigint[])"
    " OR (g.first_seen < to_timestamp($2)"
    " AND NOT EXISTS (SELECT 1 FROM reports x WHERE x.id = g.report_id))";

static const char write_gaps_new_sql[] =
    "INSERT INTO triage_gaps (report_id, first_seen)"
    " SELECT id, to_timestamp(t0)"
    " FROM unnest($1::bigint[], $2::float8[]) AS t(id, t0)"
    " ON CONFLICT DO NOTHING";

static const char write_state_sql[] =
    "UPDATE triage_state SET watermark = $1, generation = generation + 1,"
    " batch = $2, updated_at = now()"
    " RETURNING generation, (SELECT count(*) FROM triage_gaps)";

enum {
    W_BEGIN,
    W_RT,
    W_CASES,
    W_MEMBERS,
    W_JOINS,
    W_COPIES,
    W_GAPS_DONE,
    W_GAPS_NEW,
    W_STATE,
    W_COMMIT,
    W_COUNT
};

/* Sends the batch's transaction. DB_OK once COMMIT is confirmed. */
static int write_batch(struct triage_run *r, int64_t new_watermark,
                       double horizon, PGresult **res)
{
    struct buf *p = r->p;
    char w[32], h[40];
    snprintf(w, sizeof(w), "%lld", (long long)new_watermark);
    snprintf(h, sizeof(h), "%.6f", horizon);
    const char *rt[11], *cases[7], *members[2], *joins[3], *copies[2];
    for (int i = 0; i < 11; i++)
        rt[i] = pgarray_end(&p[P_RT_ID + i]);
    const char *gaps_done[2] = {rt[0], h};
    const char *gaps_new[2] = {pgarray_end(&p[P_G_ID]),
                               pgarray_end(&p[P_G_T0])};
    const char *state[2] = {w, r->pending.batch};
    for (int i = 0; i < 7; i++)
        cases[i] = pgarray_end(&p[P_C_OPENER + i]);
    members[0] = pgarray_end(&p[P_CR_OPENER]);
    members[1] = pgarray_end(&p[P_CR_REPORT]);
    for (int i = 0; i < 3; i++)
        joins[i] = pgarray_end(&p[P_J_OPENER + i]);
    copies[0] = pgarray_end(&p[P_CC_OPENER]);
    copies[1] = pgarray_end(&p[P_CC_UNIT]);
    const struct pgsync_stmt s[W_COUNT] = {
        [W_BEGIN] = {"BEGIN", 0, NULL},
        [W_RT] = {write_rt_sql, 11, rt},
        [W_CASES] = {write_cases_sql, 7, cases},
        [W_MEMBERS] = {write_members_sql, 2, members},
        [W_JOINS] = {write_joins_sql, 3, joins},
        [W_COPIES] = {write_copies_sql, 2, copies},
        [W_GAPS_DONE] = {write_gaps_done_sql, 2, gaps_done},
        [W_GAPS_NEW] = {write_gaps_new_sql, 2, gaps_new},
        [W_STATE] = {write_state_sql, 2, state},
        [W_COMMIT] = {"COMMIT", 0, NULL},
    };
    int rc = run(r, "write", s, W_COUNT, res);
    if (rc != DB_OK)
        return rc;
    if (strcmp(PQcmdStatus(res[W_COMMIT]), "COMMIT") != 0 ||
        PQntuples(res[W_STATE]) != 1) {
        log_error("triage_sql_error", "step=write message=\"no commit\"");
        return DB_ERROR;
    }
    return DB_OK;
}

/* Remembers a batch whose COMMIT is unanswered. */
static void set_pending(struct triage_run *r, const struct item *items,
                        size_t n, int64_t new_watermark, size_t opened)
{
    struct pending *p = &r->pending;
    free(p->ids);
    p->set = true;
    p->generation = r->generation + 1;
    snprintf(p->batch, sizeof(p->batch), "%s/%lld", r->node,
             (long long)p->generation);
    p->watermark = new_watermark;
    p->ids = xcalloc(n + 1, sizeof(*p->ids));
    for (size_t i = 0; i < n; i++)
        p->ids[i] = items[i].id;
    p->count = n;
    p->opened = opened;
}

/*
 * One poll and, if it found reports or can move the watermark, one batch.
 * Returns the reports triaged (>= 0), or DB_LOST / DB_ERROR.
 */
static int poll_once(struct triage_run *r)
{
    uint64_t limit = r->c->triage_batch_max;
    char maxseen[32], lim[32];
    snprintf(maxseen, sizeof(maxseen), "%lld", (long long)r->ids.maxseen);
    snprintf(lim, sizeof(lim), "%llu", (unsigned long long)limit);
    reset_params(r);
    struct buf *gaps = &r->p[P_TMP];
    size_t open = 0;
    int64_t last_gap = r->ids.watermark;
    for (int64_t id = r->ids.watermark + 1;
         id <= r->ids.maxseen && open < MAX_OPEN_GAPS; id++) {
        if (!triage_ids_done(&r->ids, id)) {
            pgarray_i64(gaps, id);
            open++;
            last_gap = id;
        }
    }
    const char *params[3] = {maxseen, pgarray_end(gaps), lim};
    const struct pgsync_stmt s[2] = {{poll_horizon_sql, 0, NULL},
                                     {poll_reports_sql, 3, params}};
    PGresult *res[2];
    uint64_t poll_start = util_now_ms();
    int rc = run(r, "poll", s, 2, res);
    if (rc != DB_OK) {
        pgsync_clear(res, 2);
        return rc;
    }
    double now_db = pgsync_f64(res[0], 0, 0),
           horizon = pgsync_f64(res[0], 0, 1);
    PGresult *rows = res[1];
    size_t nrows = (size_t)PQntuples(rows);
    int64_t last = nrows > 0 ? pgsync_i64(rows, (int)nrows - 1, 0) : 0;
    /* The highest id this read answers for: ids past a full batch, or past
     * the gaps sent when there were too many, were not looked at. */
    int64_t known_upto = nrows < limit ? INT64_MAX : last;
    if (open == MAX_OPEN_GAPS && last_gap < known_upto)
        known_upto = last_gap;

    /* Gauges: what waits now, and for how long. */
    double oldest = 0;
    int64_t top = 0;
    for (size_t i = 0; i < nrows; i++) {
        double age = pgsync_f64(rows, (int)i, 9);
        if (age > oldest)
            oldest = age;
        int64_t max_id = pgsync_i64(rows, (int)i, 11);
        if (max_id > top)
            top = max_id;
    }
    int64_t waiting = (int64_t)nrows;
    if (nrows == limit && top > last)
        waiting += top - last; /* counting ids never stored: an estimate */
    atomic_store_explicit(&r->m->waiting, waiting, memory_order_relaxed);
    atomic_store_explicit(&r->m->lag_ms, (uint64_t)(oldest * 1000),
                          memory_order_relaxed);

    uint64_t start = util_now_ms();
    struct item *items = xcalloc(nrows + 1, sizeof(*items));
    size_t n = 0;
    for (size_t i = 0; i < nrows; i++) {
        int64_t id = pgsync_i64(rows, (int)i, 0);
        if (n > 0 && items[n - 1].id == id)
            continue;
        items[n].id = id;
        fill_report(rows, (int)i, 0, &items[n].report);
        items[n].received = pgsync_f64(rows, (int)i, 8);
        n++;
    }
    if (n > 0) {
        /* Ids above maxseen not read were missed now. */
        triage_ids_seen(&r->ids, items[n - 1].id,
                        pgsync_f64(rows, (int)nrows - 1, 10));
    }
    /* Learn the batch's names first, as the offline mode learns its input
     * (a free-text report reads a name a structured one gives). */
    for (size_t i = 0; i < n; i++)
        triage_learn(r->t, &items[i].report);
    for (size_t i = 0; i < n; i++) {
        triage_decide(r->t, &items[i].report, &items[i].d);
        items[i].decided = true;
    }
    uint64_t decided_ms = util_now_ms();

    size_t timed_out = 0, opened = 0;
    rc = n > 0 ? assign_cases(r, items, n) : DB_OK;
    int64_t new_w = r->ids.watermark;
    if (rc == DB_OK) {
        reset_params(r);
        for (size_t i = 0; i < n; i++)
            items[i].due = due_at(r, items[i].received, items[i].d.priority);
        build_write(r, items, n);
        for (size_t i = 0; i < n; i++)
            opened += items[i].opens;
        int64_t *ids = xcalloc(n + 1, sizeof(*ids));
        for (size_t i = 0; i < n; i++)
            ids[i] = items[i].id;
        r->timed_out = 0;
        new_w = triage_ids_next(&r->ids, ids, n, known_upto, horizon, now_db,
                                (double)r->c->triage_gap_timeout_ms / 1000.0,
                                gap_timed_out, r);
        timed_out = r->timed_out;
        free(ids);
    }
    /* Gaps left in triage_gaps are looked at again once a second. */
    bool prune = r->gaps_table > 0 && util_now_ms() - r->prune_ms >= 1000;
    PGresult *wres[W_COUNT] = {0};
    if (rc == DB_OK && (n > 0 || new_w != r->ids.watermark || prune)) {
        set_pending(r, items, n, new_w, opened);
        rc = write_batch(r, new_w, horizon, wres);
        r->prune_ms = util_now_ms();
        if (rc == DB_OK) {
            for (size_t i = 0; i < n; i++)
                triage_ids_set_done(&r->ids, items[i].id);
            triage_ids_advance(&r->ids, new_w);
            r->generation = pgsync_i64(wres[W_STATE], 0, 0);
            r->gaps_table = pgsync_i64(wres[W_STATE], 0, 1);
            free(r->pending.ids);
            memset(&r->pending, 0, sizeof(r->pending));
            count(&r->m->decisions, n);
            count(&r->m->cases_opened, opened);
            count(&r->m->gaps_timed_out, timed_out);
            count(&r->m->batches, 1);
            count(&r->m->batch_us, (util_now_ms() - start) * 1000);
            if (timed_out > 0)
                log_warn("triage_gaps_timed_out",
                         "ids=%zu watermark=%lld reason=\"a transaction "
                         "older than triage_gap_timeout_ms is still open; "
                         "the ids are rechecked on every poll\"",
                         timed_out, (long long)new_w);
            log_debug("triage_batch",
                      "reports=%zu cases_opened=%zu poll_ms=%llu "
                      "decide_ms=%llu write_ms=%llu",
                      n, opened, (unsigned long long)(start - poll_start),
                      (unsigned long long)(decided_ms - start),
                      (unsigned long long)(util_now_ms() - decided_ms));
        }
    }
    pgsync_clear(wres, W_COUNT);
    if (rc == DB_ERROR) {
        /* Nothing committed, but the memory has decided the batch. */
        count(&r->m->failures, 1);
        forget_memory(r);
    } else if (rc == DB_LOST && n > 0 && !r->pending.set) {
        forget_memory(r); /* lost before the write: decided, not sent */
    }
    for (size_t i = 0; i < n; i++)
        if (items[i].decided)
            triage_decision_cleanup(&items[i].d);
    free(items);
    pgsync_clear(res, 2);
    return rc == DB_OK ? (int)nrows : rc;
}

/* --- the thread
 * --------------------------------------------------------------- */

static void run_cleanup(struct triage_run *r)
{
    pgsync_close(&r->db, "stopped");
    forget_memory(r);
    rules_free(r->rules);
    norm_free(r->norm);
    triage_ids_cleanup(&r->ids);
    for (int i = 0; i < P_COUNT; i++)
        buf_cleanup(&r->p[i]);
    atomic_store_explicit(&r->m->active, 0, memory_order_relaxed);
}

/* Waits for the next attempt after a failure, doubling up to
 * db_reconnect_max_ms. */
static void back_off(struct triage_run *r)
{
    if (pgsync_stopping(&r->db))
        return;
    set_state(r, TRIAGE_WORKER_BACKOFF);
    pgsync_nap(&r->db, r->backoff_ms);
    r->backoff_ms *= 2;
    if (r->backoff_ms > r->c->db_reconnect_max_ms)
        r->backoff_ms = r->c->db_reconnect_max_ms;
}

/* Open and overdue cases for /metrics, at most every CASES_COUNT_MS (a
 * count over the partial index of open cases). A failure leaves the last
 * figures. */
#define CASES_COUNT_MS 5000

static void count_cases(struct triage_run *r)
{
    uint64_t now = util_now_ms();
    if (now - r->cases_counted_ms < CASES_COUNT_MS)
        return;
    r->cases_counted_ms = now;
    int rc;
    PGresult *res = run1(r, "count_cases",
                         "SELECT count(*), count(*) FILTER (WHERE due_at < "
                         "now()) FROM cases WHERE closed_at IS NULL",
                         0, NULL, &rc);
    if (res == NULL)
        return;
    atomic_store_explicit(&r->m->cases_open, pgsync_i64(res, 0, 0),
                          memory_order_relaxed);
    atomic_store_explicit(&r->m->cases_overdue, pgsync_i64(res, 0, 1),
                          memory_order_relaxed);
    PQclear(res);
}

static void step(struct triage_run *r)
{
    if (atomic_exchange(&r->w->reload, false)) {
        log_info("triage_reload", "signal=SIGHUP");
        load_files(r, true);
    }
    if (r->rules == NULL) {
        set_state(r, TRIAGE_WORKER_NO_RULES);
        pgsync_nap(&r->db, PGSYNC_FOREVER);
        return;
    }
    if (r->db.pg == NULL && connect_db(r) != DB_OK) {
        count(&r->m->failures, 1);
        back_off(r);
        return;
    }
    int rc;
    if (!r->locked) {
        set_state(r, TRIAGE_WORKER_LOCKING);
        PGresult *res = run1(r, "lock",
                             "SELECT pg_try_advisory_lock(" LOCK_KEY "),"
                             " set_config('application_name',"
                             " 'tipd triage', false)",
                             0, NULL, &rc);
        if (res == NULL) {
            back_off(r);
            return;
        }
        r->locked = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        PQclear(res);
        if (!r->locked) {
            /* Another node triages: try again later, ready to take over. */
            pgsync_nap(&r->db, r->c->db_reconnect_max_ms);
            return;
        }
        log_info("triage_lock_taken", "key=%s", LOCK_KEY);
    }
    if (!r->state_known) {
        rc = check_state(r);
        if (rc != DB_OK) {
            if (rc == DB_ERROR)
                count(&r->m->failures, 1);
            back_off(r);
            return;
        }
    }
    if (r->sync_units && sync_units(r) != DB_OK) {
        back_off(r);
        return;
    }
    set_state(r, TRIAGE_WORKER_TRIAGING);
    rc = poll_once(r);
    if (rc < 0) {
        back_off(r);
        return;
    }
    r->backoff_ms = 50;
    count_cases(r);
    if (r->t != NULL &&
        triage_remembered(r->t) > r->c->triage_memory_reports / 2 * 3) {
        log_info("triage_memory_compact", "remembered=%zu keep=%llu",
                 triage_remembered(r->t),
                 (unsigned long long)r->c->triage_memory_reports);
        r->state_known = false;
        forget_memory(r);
        return;
    }
    if ((uint64_t)rc < r->c->triage_batch_max)
        pgsync_nap(&r->db, r->c->triage_poll_interval_ms);
}

/* A name for this worker's batches: its process and 48 random bits. */
static void name_node(struct triage_run *r)
{
    unsigned char rnd[6] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t got = read(fd, rnd, sizeof(rnd));
        (void)got; /* zeros still name the process by its pid */
        close(fd);
    }
    snprintf(r->node, sizeof(r->node), "%ld-%02x%02x%02x%02x%02x%02x",
             (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
}

static void *thread_main(void *arg)
{
    struct triage_worker *w = arg;
    struct triage_run *r = w->run;
    char err[1024];
    r->backoff_ms = 50;
    name_node(r);
    /* Linux's niceness is per thread: this lowers triage's alone. */
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (r->c->triage_nice > 0 &&
        setpriority(PRIO_PROCESS, (id_t)tid, (int)r->c->triage_nice) != 0)
        log_warn("triage_nice_failed", "error=\"%s\"", strerror(errno));
    workdays_init(&r->cal);
    triage_ids_init(&r->ids);
    pgsync_init(&r->db, w->wake[0], &w->stopping, &w->reload);
    for (int i = 0; i < P_COUNT; i++)
        buf_init(&r->p[i], (size_t)1 << 30);
    r->norm = norm_new(err, sizeof(err));
    if (r->norm == NULL) {
        log_error("triage_unavailable", "reason=\"%s\"", err);
    } else {
        load_files(r, false);
        while (!pgsync_stopping(&r->db))
            step(r);
    }
    run_cleanup(r);
    set_state(r, TRIAGE_WORKER_STOPPED);
    return NULL;
}

int triage_worker_start(struct triage_worker *w, const struct config *config,
                        struct triage_metrics *metrics)
{
    memset(w, 0, sizeof(*w));
    w->config = config;
    w->metrics = metrics;
    atomic_init(&w->stopping, false);
    atomic_init(&w->reload, false);
    if (pipe(w->wake) != 0)
        return -errno;
    for (int i = 0; i < 2; i++) {
        fcntl(w->wake[i], F_SETFL, fcntl(w->wake[i], F_GETFL) | O_NONBLOCK);
        fcntl(w->wake[i], F_SETFD, FD_CLOEXEC);
    }
    w->run = xcalloc(1, sizeof(*w->run));
    w->run->w = w;
    w->run->c = config;
    w->run->m = metrics;
    w->run->state = TRIAGE_WORKER_LOADING;
    int rc = pthread_create(&w->thread, NULL, thread_main, w);
    if (rc != 0) {
        close(w->wake[0]);
        close(w->wake[1]);
        free(w->run);
        w->run = NULL;
        return -rc;
    }
    w->started = true;
    log_info("triage_started", "rules_file=%s poll_ms=%llu batch_max=%llu",
             config->rules_file,
             (unsigned long long)config->triage_poll_interval_ms,
             (unsigned long long)config->triage_batch_max);
    return 0;
}

static void wake(struct triage_worker *w)
{
    ssize_t n = write(w->wake[1], "x", 1);
    (void)n; /* a full pipe already wakes the thread */
}

void triage_worker_reload(struct triage_worker *w)
{
    if (!w->started)
        return;
    atomic_store(&w->reload, true);
    wake(w);
}

void triage_worker_stop(struct triage_worker *w)
{
    if (!w->started)
        return;
    atomic_store(&w->stopping, true);
    wake(w);
}

void triage_worker_join(struct triage_worker *w)
{
    if (!w->started)
        return;
    pthread_join(w->thread, NULL);
    close(w->wake[0]);
    close(w->wake[1]);
    free(w->run);
    w->run = NULL;
    w->started = false;
}
