/*
 * e2e triage: committed reports through a real tipd's triage worker into
 * cases in a real PostgreSQL: routing to the unit with authority, deadlines
 * in working days, duplicates joining their case (traditional script
 * included) while look-alikes about another person open their own, copies
 * to the parent unit, the memory rebuilt after a restart, rules reloaded on
 * SIGHUP (a broken file refused, a good one taking effect), reports that
 * commit late, and the triage session killed again and again without a
 * report lost or decided twice.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test.h"

#define RULES TIPD_SOURCE_DIR "/deploy/rules.json"
#define HOLIDAYS TIPD_SOURCE_DIR "/deploy/holidays.txt"

/* POSTs body to path with extra header lines (may be ""); returns the
 * status (0 if none). The reply is freed. */
static int post(const struct e2e *e, const char *path, const char *headers,
                const char *body)
{
    size_t n = strlen(body);
    size_t cap = n + 1024;
    char *req = malloc(cap);
    int len = snprintf(req, cap,
                       "POST %s HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n"
                       "Content-Type: application/json\r\n"
                       "Content-Length: %zu\r\n%s\r\n%s",
                       path, n, headers, body);
    struct e2e_reply r;
    e2e_reply_init(&r);
    int rc = e2e_exchange(e, req, (size_t)len, 1, 10000, &r);
    free(req);
    int status = rc == 0 && r.count >= 1 ? r.r[0].status : 0;
    e2e_reply_free(&r);
    return status;
}

static int report(const struct e2e *e, const char *body)
{
    return post(e, "/api/v1/reports", "", body);
}

static void text(const struct e2e *e, const char *sql, char *out, size_t cap)
{
    if (e2e_sql(e, false, sql, out, cap) != 0)
        snprintf(out, cap, "(error)");
}

/* Waits until every committed report has a decision. */
static bool all_triaged(const struct e2e *e, int ms)
{
    return e2e_wait_number(
               e,
               "SELECT count(*) FROM reports r WHERE NOT EXISTS "
               "(SELECT 1 FROM report_triage t WHERE t.report_id = r.id)",
               0, ms) == 0;
}

/* The whole current log of tipd, NUL-terminated, cut to cap. */
static void read_log(const struct e2e *e, char *out, size_t cap)
{
    FILE *f = fopen(e->log, "rb");
    size_t n = 0;
    if (f != NULL) {
        n = fread(out, 1, cap - 1, f);
        fclose(f);
    }
    out[n] = '\0';
}

static const char *const triage_sets[] = {
    "rules_file=" RULES, "holidays_file=" HOLIDAYS, "rate_limit_per_minute=0",
    "triage_poll_interval_ms=20", NULL};

/* The first report: a phone call on Friday 2026-02-13, before the Spring
 * Festival (days off 15-23 February, Saturday 14 and 28 worked). */
#define CALL                                                                                    \
    "{\"channel\":\"phone\",\"external_id\":\"call-1\","                                        \
    "\"received_at\":\"2026-02-13T09:30:00+08:00\",\"region\":\"410105\","                      \
    "\"accused\":{\"name\":\"张三\",\"rank\":\"正科级\","                                  \
    "\"position\":\"局长\"},"                                                                 \
    "\"content\":\"金水区水利局局长张三在河道治理工程招标中违规干预，" \
    "收受承包商贿赂5万元，并安排亲属承揽工程。\"}"

/* The same report retyped in traditional script. */
#define CALL_TRADITIONAL                                                                        \
    "{\"channel\":\"web\",\"region\":\"410105\","                                               \
    "\"accused\":{\"name\":\"張三\",\"rank\":\"正科級\"},"                                 \
    "\"content\":\"金水區水利局局長張三在河道治理工程招標中違規干預，" \
    "收受承包商賄賂5萬元，並安排親屬承攬工程。\"}"

/* The same sentence about another person: another incident. */
#define LOOKALIKE                                                                               \
    "{\"channel\":\"web\",\"region\":\"410105\","                                               \
    "\"accused\":{\"name\":\"李四\",\"rank\":\"正科级\"},"                                 \
    "\"content\":\"金水区水利局局长李四在河道治理工程招标中违规干预，" \
    "收受承包商贿赂5万元，并安排亲属承揽工程。\"}"

/* The head of a bureau: rule 一把手问题 (high priority, copy to parent). */
#define TOP_OFFICIAL                                                                                  \
    "{\"channel\":\"web\",\"region\":\"410105\","                                                     \
    "\"accused\":{\"name\":\"王五\",\"rank\":\"正科级\"},"                                       \
    "\"content\":\"金水区教育局一把手王五长期公款吃喝，逢年过节收受礼金，" \
    "群众反映强烈。\"}"

static void cases(struct e2e *e)
{
    char token[128], auth[200], v[256];
    CHECK_INT(e2e_migrate(e), 0);
    static const char *const import[] = {"units", "import", RULES, NULL};
    char out[2048];
    CHECK_INT(e2e_run(e, import, 30000, out, sizeof(out)), 0);
    CHECK_INT(
        e2e_token(e, "410105", "operator", "热线员", token, sizeof(token)), 0);
    CHECK_INT(e2e_start(e, triage_sets), 0);
    CHECK_INT(e2e_wait_metric(e, "tipd_triage_active", 1, 20000), 1);

    /* Region 410105, rank 正科级: unit 410105's default queue, due at the
     * end of the fifth working day (Friday 27 February, Beijing time). */
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    CHECK_INT(post(e, "/api/v1/staff/intake", auth, CALL), 201);
    CHECK(all_triaged(e, 20000));
    CHECK_INT(e2e_number(
                  e, "SELECT count(*) FROM cases c JOIN case_reports cr ON "
                     "cr.case_id = c.id JOIN reports r ON r.id = cr.report_id "
                     "WHERE r.external_id = 'call-1' AND c.unit_id = '410105' "
                     "AND c.queue = 'default' AND c.priority = 'normal' AND "
                     "c.status = 'new' AND c.closed_at IS NULL AND "
                     "c.report_count = 1 AND c.accused_key = '410105/张三' AND "
                     "c.due_at = '2026-02-27T16:00:00Z'"),
              1);
    text(e,
         "SELECT unit_id || ' ' || category || ' ' || queue || ' ' || "
         "priority FROM report_triage",
         v, sizeof(v));
    CHECK_STR(v, "410105 gongzuo default normal");

    /* A traditional-script retyping joins the same case. */
    CHECK_INT(report(e, CALL_TRADITIONAL), 201);
    CHECK(all_triaged(e, 20000));
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM cases"), 1);
    CHECK_INT(e2e_number(e, "SELECT report_count FROM cases"), 2);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM case_reports"), 2);
    CHECK_INT(e2e_number(e, "SELECT count(DISTINCT cluster_report_id) FROM "
                            "report_triage"),
              1);
    CHECK_INT(e2e_number(e, "SELECT cluster_size FROM report_triage ORDER BY "
                            "report_id DESC LIMIT 1"),
              2);

    /* The same wording about another person opens a case of its own; the
     * cases of one person are found by accused_key. */
    CHECK_INT(report(e, LOOKALIKE), 201);
    CHECK(all_triaged(e, 20000));
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM cases"), 2);
    CHECK_INT(e2e_number(e,
                         "SELECT report_count FROM cases WHERE accused_key = "
                         "'410105/李四'"),
              1);
    CHECK_INT(e2e_number(e,
                         "SELECT report_count FROM cases WHERE accused_key = "
                         "'410105/张三'"),
              2);

    /* 一把手: high priority, and a copy at the city (410100). */
    CHECK_INT(report(e, TOP_OFFICIAL), 201);
    CHECK(all_triaged(e, 20000));
    CHECK_INT(
        e2e_number(e, "SELECT count(*) FROM cases c JOIN case_copies cc ON "
                      "cc.case_id = c.id WHERE c.accused_key = '410105/王五' "
                      "AND c.unit_id = '410105' AND cc.unit_id = '410100' AND "
                      "c.priority = 'high' AND c.category = 'lianjie'"),
        1);
    text(e,
         "SELECT array_to_string(rules, ',') || ' ' || "
         "array_to_string(copies, ',') FROM report_triage "
         "WHERE accused_key = '410105/王五'",
         v, sizeof(v));
    CHECK_STR(v, "一把手问题 410100");
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM case_copies"), 1);

    CHECK_INT(e2e_metric(e, "tipd_triage_decisions_total"), 4);
    CHECK_INT(e2e_metric(e, "tipd_triage_cases_opened_total"), 3);
    CHECK_INT(e2e_metric(e, "tipd_triage_waiting"), 0);
    CHECK_INT(e2e_metric(e, "tipd_triage_calendar_fallbacks_total"), 0);
    CHECK(e2e_metric(e, "tipd_triage_batch_seconds_count") >= 4);
    CHECK_INT(e2e_number(e, "SELECT watermark FROM triage_state"),
              e2e_number(e, "SELECT max(id) FROM reports"));
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);

    /* After a restart the memory is rebuilt from the stored decisions: one
     * more retyping still joins the first case. */
    CHECK_INT(e2e_start(e, triage_sets), 0);
    CHECK_INT(e2e_wait_metric(e, "tipd_triage_rebuilds_total", 1, 20000), 1);
    CHECK_INT(report(e, CALL_TRADITIONAL), 201);
    CHECK(all_triaged(e, 20000));
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM cases"), 3);
    CHECK_INT(e2e_number(e,
                         "SELECT report_count FROM cases WHERE accused_key = "
                         "'410105/张三'"),
              3);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM report_triage"), 5);
    CHECK_INT(e2e_metric(e, "tipd_triage_cases_opened_total"), 0);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_triage_routes_reports_to_cases(void)
{
    struct e2e e;
    if (e2e_init(&e, "triage_routes_reports_to_cases") == 0)
        cases(&e);
    e2e_cleanup(&e);
}

/* Writes text to path; 0 or -1. */
static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

/* The shipped rules with text inserted after the first occurrence of
 * anchor (owned; NULL if anchor is missing). */
static char *rules_with(const char *anchor, const char *insert)
{
    FILE *f = fopen(RULES, "rb");
    if (f == NULL)
        return NULL;
    static char base[1 << 20];
    size_t n = fread(base, 1, sizeof(base) - 1, f);
    fclose(f);
    base[n] = '\0';
    const char *at = strstr(base, anchor);
    if (at == NULL)
        return NULL;
    size_t head = (size_t)(at - base) + strlen(anchor);
    size_t cap = n + strlen(insert) + 1;
    char *out = malloc(cap);
    memcpy(out, base, head);
    memcpy(out + head, insert, strlen(insert));
    memcpy(out + head + strlen(insert), base + head, n - head + 1);
    return out;
}

#define SPECIAL                                                                \
    "{\"channel\":\"web\",\"region\":\"410105\","                              \
    "\"content\":\"反映金水区某单位有特别线索需要核查，涉及虚报冒领。\"}"

static void reload(struct e2e *e)
{
    char path[400], sets_rules[420], v[256];
    static char log[1 << 20];
    snprintf(path, sizeof(path), "%s/rules.json", e->dir);
    char *good = rules_with(
        "\"rules\": [", "{\"name\": \"特别线索\", \"if\": {\"any_keyword\": "
                        "[\"特别线索\"]}, \"then\": {\"queue\": "
                        "\"special\", \"priority\": \"urgent\"}},");
    char *bad = rules_with("\"version\": 1", ", \"bogus\": true");
    CHECK(good != NULL && bad != NULL);
    char *shipped = rules_with("", "");
    int rc = write_file(path, shipped, strlen(shipped));
    free(shipped);
    if (rc != 0) {
        free(good);
        free(bad);
        CHECK(rc == 0);
    }
    snprintf(sets_rules, sizeof(sets_rules), "rules_file=%s", path);
    const char *const sets[] = {sets_rules, "holidays_file=" HOLIDAYS,
                                "triage_poll_interval_ms=20", NULL};
    rc = e2e_migrate(e) == 0 && e2e_start(e, sets) == 0 ? 0 : -1;

    /* Under the shipped rules the report goes to the default queue. */
    if (rc == 0 && report(e, SPECIAL) == 201 && all_triaged(e, 20000)) {
        text(e, "SELECT queue || ' ' || priority FROM cases", v, sizeof(v));
        if (strcmp(v, "default normal") != 0)
            rc = -1;
    } else {
        rc = -1;
    }
    /* A broken file is refused, named with its line and key; the rules in
     * force stay and triage goes on. */
    if (rc == 0 && write_file(path, bad, strlen(bad)) == 0) {
        kill(e->pid, SIGHUP);
        if (e2e_wait_metric(
                e, "tipd_triage_rules_reloads_total{result=\"failed\"}", 1,
                10000) != 1)
            rc = -1;
    } else {
        rc = -1;
    }
    free(bad);
    if (rc != 0) {
        free(good);
        CHECK(rc == 0);
    }
    read_log(e, log, sizeof(log));
    CHECK(strstr(log, "event=triage_rules_refused") != NULL);
    CHECK(strstr(log, "rules.json:") != NULL);
    CHECK(strstr(log, "bogus") != NULL);
    CHECK_INT(e2e_metric(e, "tipd_triage_rules_reloads_total{result=\"ok\"}"),
              0);
    CHECK_INT(report(e, SPECIAL), 201);
    CHECK(all_triaged(e, 20000));
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM report_triage WHERE queue = "
                            "'default'"),
              2);
    CHECK(e2e_alive(e));

    /* A good file takes effect: the new rule's queue (added to every unit)
     * and priority. */
    rc = write_file(path, good, strlen(good));
    free(good);
    CHECK_INT(rc, 0);
    kill(e->pid, SIGHUP);
    CHECK_INT(e2e_wait_metric(e,
                              "tipd_triage_rules_reloads_total{result=\"ok\"}",
                              1, 10000),
              1);
    CHECK_INT(report(e, SPECIAL), 201);
    CHECK(all_triaged(e, 20000));
    text(e,
         "SELECT queue || ' ' || priority || ' ' || array_to_string(rules, "
         "',') FROM report_triage ORDER BY report_id DESC LIMIT 1",
         v, sizeof(v));
    CHECK_STR(v, "special urgent 特别线索");
    /* The third report duplicates the first two: it joins their case and
     * raises it to urgent; its queue stays the one it was opened in. */
    CHECK_INT(e2e_number(e,
                         "SELECT count(*) FROM queues WHERE unit_id = '410105' "
                         "AND name = 'special'"),
              1);
    CHECK_INT(e2e_number(e, "SELECT sum(report_count) FROM cases"), 3);
    text(e,
         "SELECT c.queue || ' ' || c.priority || ' ' || c.report_count FROM "
         "cases c JOIN case_reports cr ON cr.case_id = c.id WHERE "
         "cr.report_id = (SELECT max(id) FROM reports)",
         v, sizeof(v));
    CHECK_STR(v, "default urgent 3");
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_triage_rules_reload_on_sighup(void)
{
    struct e2e e;
    if (e2e_init(&e, "triage_rules_reload_on_sighup") == 0)
        reload(&e);
    e2e_cleanup(&e);
}

/*
 * A report whose transaction commits after later ones: the worker waits for
 * it while its transaction is open, passes it after triage_gap_timeout_ms
 * (into triage_gaps), and triages it once it commits. An id rolled back is
 * passed as soon as its transaction ends.
 */
static void late(struct e2e *e)
{
    static const char *const sets[] = {
        "rules_file=" RULES, "holidays_file=" HOLIDAYS,
        "triage_poll_interval_ms=20", "triage_gap_timeout_ms=2000", NULL};
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);
    CHECK_INT(e2e_wait_metric(e, "tipd_triage_active", 1, 20000), 1);

    /* An intake-like transaction draws an id and holds it: as tipd_app,
     * intake's role, whose sessions the worker can see the state of. */
    PGconn *held = PQconnectdb(e->app_conninfo);
    CHECK(PQstatus(held) == CONNECTION_OK);
    PGresult *res = PQexec(
        held, "BEGIN; INSERT INTO reports (channel, received_at, "
              "receipt_hash, content, region) VALUES ('web', now(), "
              "decode(repeat('ab', 32), 'hex'), '迟到的举报：金水区某局长"
              "收受贿赂', '410105')");
    bool began = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!began) {
        PQfinish(held);
        CHECK(began);
    }
    /* Later reports commit first and are triaged at once. */
    bool ok =
        report(e, LOOKALIKE) == 201 && report(e, TOP_OFFICIAL) == 201 &&
        e2e_wait_number(e, "SELECT count(*) FROM report_triage", 2, 20000) == 2;
    /* The open transaction holds the watermark below its id... */
    ok = ok && e2e_number(e, "SELECT watermark FROM triage_state") == 0;
    /* ...until the gap timeout passes it into triage_gaps. */
    ok = ok &&
         e2e_wait_metric(e, "tipd_triage_gaps_timed_out_total", 1, 10000) == 1;
    ok = ok &&
         e2e_wait_number(e, "SELECT count(*) FROM triage_gaps", 1, 5000) == 1;
    ok = ok && e2e_wait_number(
                   e,
                   "SELECT (watermark = (SELECT max(id) FROM reports))::int "
                   "FROM triage_state",
                   1, 5000) == 1;
    res = PQexec(held, "COMMIT");
    ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    PQfinish(held);
    CHECK(ok);
    /* Committed late, triaged all the same; the gap is forgotten. */
    CHECK(all_triaged(e, 20000));
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM report_triage"), 3);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM case_reports"), 3);
    CHECK_INT(e2e_wait_number(e, "SELECT count(*) FROM triage_gaps", 0, 10000),
              0);

    /* A rolled-back id is passed without waiting for the timeout: once its
     * transaction has ended, the gap is final. */
    held = PQconnectdb(e->app_conninfo);
    CHECK(PQstatus(held) == CONNECTION_OK);
    res = PQexec(held, "BEGIN; SELECT nextval('reports_id_seq')");
    PQclear(res);
    CHECK_INT(report(e, LOOKALIKE), 201);
    res = PQexec(held, "ROLLBACK");
    PQclear(res);
    PQfinish(held);
    CHECK(all_triaged(e, 20000));
    CHECK_INT(e2e_wait_number(
                  e,
                  "SELECT (watermark = (SELECT max(id) FROM reports))::int "
                  "FROM triage_state",
                  1, 5000),
              1);
    CHECK_INT(e2e_metric(e, "tipd_triage_gaps_timed_out_total"), 1);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_triage_late_commit_is_triaged(void)
{
    struct e2e e;
    if (e2e_init(&e, "triage_late_commit_is_triaged") == 0)
        late(&e);
    e2e_cleanup(&e);
}

struct killer {
    const struct e2e *e;
    char sql[256];
    atomic_bool stop;
    int kills; /* terminations that found the triage session */
};

/* Terminates the triage session every 30 ms until told to stop and at
 * least KILLS terminations have found it (20 s at most). */
#define KILLS 10
static void *killer_main(void *arg)
{
    struct killer *k = arg;
    uint64_t end = e2e_now_ms() + 20000;
    while (!(atomic_load(&k->stop) && k->kills >= KILLS) &&
           e2e_now_ms() < end) {
        char v[32];
        if (e2e_sql(k->e, true, k->sql, v, sizeof(v)) == 0 &&
            strtol(v, NULL, 10) > 0)
            k->kills++;
        e2e_sleep_ms(30);
    }
    return NULL;
}

/*
 * The triage session terminated again and again while reports arrive:
 * every report ends with exactly one decision and exactly one case
 * membership, and every case counts its reports.
 */
static void terminations(struct e2e *e)
{
    static const char *const sets[] = {"rules_file=" RULES,
                                       "holidays_file=" HOLIDAYS,
                                       "rate_limit_per_minute=0",
                                       "triage_poll_interval_ms=10",
                                       "triage_batch_max=16",
                                       "db_reconnect_max_ms=100",
                                       NULL};
    static const char *const names[] = {"张三", "李四", "王五", "赵六", "孙七"};
    static const char *const deeds[] = {
        "在河道治理工程招标中违规干预，收受承包商贿赂5万元",
        "长期公款吃喝，逢年过节收受礼金", "侵占扶贫资金，优亲厚友"};
    char body[1024];
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);
    CHECK_INT(e2e_wait_metric(e, "tipd_triage_active", 1, 20000), 1);
    static struct killer k;
    memset(&k, 0, sizeof(k));
    k.e = e;
    atomic_init(&k.stop, false);
    snprintf(k.sql, sizeof(k.sql),
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE datname = '%s' AND application_name = 'tipd triage'",
             e->db);
    pthread_t killer;
    CHECK_INT(pthread_create(&killer, NULL, killer_main, &k), 0);
    int sent = 0;
    for (int i = 0; i < 300; i++) {
        /* Fifteen incidents, each reported several times. */
        int c = (i * 7) % 15;
        snprintf(body, sizeof(body),
                 "{\"channel\":\"web\",\"region\":\"410105\","
                 "\"accused\":{\"name\":\"%s\",\"rank\":\"正科级\"},"
                 "\"content\":\"金水区某局局长%s%s。\"}",
                 names[c % 5], names[c % 5], deeds[c / 5]);
        if (report(e, body) == 201)
            sent++;
    }
    atomic_store(&k.stop, true);
    pthread_join(killer, NULL);
    CHECK_INT(sent, 300);
    CHECK(k.kills >= KILLS);
    CHECK(all_triaged(e, 60000));
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 300);
    /* Exactly once: one decision and one case per report. */
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM report_triage"), 300);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM case_reports"), 300);
    CHECK_INT(
        e2e_number(e, "SELECT count(*) FROM reports r WHERE (SELECT count(*) "
                      "FROM case_reports cr WHERE cr.report_id = r.id) <> 1"),
        0);
    CHECK_INT(e2e_number(e, "SELECT sum(report_count) FROM cases"), 300);
    CHECK_INT(
        e2e_number(e, "SELECT count(*) FROM cases c WHERE report_count <> "
                      "(SELECT count(*) FROM case_reports cr WHERE cr.case_id "
                      "= c.id)"),
        0);
    /* Each case opened by the first report of its cluster; fifteen
     * incidents, so fifteen cases. */
    CHECK_INT(e2e_number(e,
                         "SELECT count(*) FROM cases c JOIN case_reports cr ON "
                         "cr.case_id = c.id AND cr.report_id = "
                         "c.cluster_report_id"),
              e2e_number(e, "SELECT count(*) FROM cases"));
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM cases"), 15);
    CHECK(e2e_metric(e, "tipd_triage_failures_total") >= 1);
    CHECK(e2e_metric(e, "tipd_triage_rebuilds_total") >= 1);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_triage_exactly_once_under_terminations(void)
{
    struct e2e e;
    if (e2e_init(&e, "triage_exactly_once_under_terminations") == 0)
        terminations(&e);
    e2e_cleanup(&e);
}

/*
 * Two tipd nodes on one database: one triage worker holds the lock, the
 * other waits; when the first node stops, the second takes over and
 * triages what arrives, joining the cases the first opened.
 */
static void nodes(struct e2e *e, struct e2e *b)
{
    static const char *const sets[] = {
        "rules_file=" RULES,       "holidays_file=" HOLIDAYS,
        "rate_limit_per_minute=0", "triage_poll_interval_ms=20",
        "db_reconnect_max_ms=200", NULL};
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);
    CHECK_INT(e2e_wait_metric(e, "tipd_triage_active", 1, 20000), 1);
    /* The second node: the same database, its own port and logs. */
    memcpy(b, e, sizeof(*b));
    b->pid = 0;
    b->db_created = false;
    b->runs = 50;
    CHECK_INT(e2e_start(b, sets), 0);
    CHECK_INT(report(e, CALL_TRADITIONAL), 201);
    CHECK_INT(report(b, LOOKALIKE), 201);
    CHECK(all_triaged(e, 20000));
    e2e_sleep_ms(500);
    CHECK_INT(e2e_metric(e, "tipd_triage_active"), 1);
    CHECK_INT(e2e_metric(b, "tipd_triage_active"), 0);
    CHECK_INT(e2e_metric(b, "tipd_triage_decisions_total"), 0);

    /* The first node stops: the second takes over. */
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
    CHECK_INT(e2e_wait_metric(b, "tipd_triage_active", 1, 20000), 1);
    CHECK_INT(report(b, CALL_TRADITIONAL), 201);
    CHECK(all_triaged(b, 20000));
    CHECK_INT(e2e_metric(b, "tipd_triage_decisions_total"), 1);
    CHECK_INT(e2e_number(b, "SELECT count(*) FROM report_triage"), 3);
    CHECK_INT(e2e_number(b, "SELECT count(*) FROM cases"), 2);
    CHECK_INT(e2e_number(b, "SELECT max(report_count) FROM cases"), 2);
    CHECK_INT(e2e_stop(b, 10000, NULL), 0);
}

void test_triage_one_worker_among_nodes(void)
{
    struct e2e e, b;
    memset(&b, 0, sizeof(b));
    if (e2e_init(&e, "triage_one_worker_among_nodes") == 0)
        nodes(&e, &b);
    if (b.pid > 0) {
        b.db_created = false;
        b.dir[0] = '\0'; /* shared with e: e2e_cleanup(&e) removes it */
        e2e_cleanup(&b);
    }
    e2e_cleanup(&e);
}

/* triage_memory_reports bounds the memory: past 1.5 times it the worker
 * rebuilds from the newest, every report still gets one decision, and a
 * duplicate of a remembered report still joins its case. */
static void memory_bound(struct e2e *e)
{
    char token[128], auth[200];
    static const char *const sets[] = {"rules_file=" RULES,
                                       "holidays_file=" HOLIDAYS,
                                       "rate_limit_per_minute=0",
                                       "triage_poll_interval_ms=20",
                                       "triage_memory_reports=1000",
                                       "triage_batch_max=200",
                                       NULL};
    CHECK_INT(e2e_migrate(e), 0);
    static const char *const import[] = {"units", "import", RULES, NULL};
    char out[2048];
    CHECK_INT(e2e_run(e, import, 30000, out, sizeof(out)), 0);
    CHECK_INT(
        e2e_token(e, "410105", "operator", "热线员", token, sizeof(token)), 0);
    CHECK_INT(e2e_start(e, sets), 0);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);

    /* 2 x 800 letters, each about another person (distinct clusters). */
    size_t cap = 800 * 256;
    char *body = malloc(cap);
    CHECK(body != NULL);
    for (int b = 0; b < 2; b++) {
        size_t n = 0;
        for (int i = 0; i < 800; i++)
            n += (size_t)snprintf(
                body + n, cap - n,
                "{\"channel\":\"letter\",\"content\":\"来信反映：编号%d的"
                "干部收受礼金%d元\",\"external_id\":\"L-%d-%d\","
                "\"received_at\":\"2026-11-20T09:30:00+08:00\"}\n",
                b * 800 + i, 100000 + b * 800 + i, b, i);
        int status = post(e, "/api/v1/staff/intake/batch", auth, body);
        if (status != 200) {
            free(body);
            test_failf(__FILE__, __LINE__, "batch %d: status %d", b, status);
            return;
        }
    }
    free(body);
    CHECK(all_triaged(e, 60000));
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM report_triage"), 1600);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM case_reports"), 1600);
    char log[65536];
    read_log(e, log, sizeof(log));
    CHECK(strstr(log, "event=triage_memory_compact") != NULL);
    CHECK(e2e_wait_metric(e, "tipd_triage_rebuilds_total", 2, 5000) >= 2);

    /* The newest letter again: remembered, so it joins that case. */
    CHECK_INT(post(e, "/api/v1/staff/intake", auth,
                   "{\"channel\":\"letter\",\"content\":\"来信反映：编号1599"
                   "的干部收受礼金101599元\",\"external_id\":\"L-again\","
                   "\"received_at\":\"2026-11-21T09:30:00+08:00\"}"),
              201);
    CHECK(all_triaged(e, 20000));
    CHECK_INT(
        e2e_number(e, "SELECT report_count FROM cases c JOIN case_reports cr "
                      "ON cr.case_id = c.id JOIN reports r ON r.id = "
                      "cr.report_id WHERE r.external_id = 'L-again'"),
        2);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_triage_memory_is_bounded(void)
{
    struct e2e e;
    if (e2e_init(&e, "triage_memory_is_bounded") == 0)
        memory_bound(&e);
    e2e_cleanup(&e);
}
