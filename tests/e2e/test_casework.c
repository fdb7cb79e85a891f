/*
 * End-to-end tests of staff case work against a real tipd and PostgreSQL:
 * the unit wall and roles, claims with leases (spec/reliability.md G1-G4),
 * dispositions, transfers, messages, and the audit chain (F4) checked by
 * `tipd audit verify`. Cases are written by SQL (triage is off: no
 * rules_file), so each test knows exactly what is queued.
 */
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "router.h"
#include "test.h"

/* A request with a bearer token; returns the status (0: no answer). */
static int call(const struct e2e *e, const char *method, const char *path,
                const char *token, const char *body, struct e2e_reply *r)
{
    char req[16384];
    char auth[160] = "";
    if (token != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    int n =
        snprintf(req, sizeof(req),
                 "%s %s HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n%s"
                 "Content-Type: application/json\r\nContent-Length: %zu"
                 "\r\n\r\n%s",
                 method, path, auth, body ? strlen(body) : 0, body ? body : "");
    e2e_reply_init(r);
    int rc = e2e_exchange(e, req, (size_t)n, 1, 10000, r);
    return rc == 0 && r->count >= 1 ? r->r[0].status : 0;
}

/* n cases in unit's default queue, each with one report. */
static int make_cases(struct e2e *e, const char *unit, int n)
{
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "WITH r AS (INSERT INTO reports (channel, received_at,"
             " receipt_hash, content) SELECT 'web', now(),"
             " sha256(convert_to('%s' || g || random(), 'UTF8')),"
             " '某局长收受礼金' || g FROM generate_series(1, %d) g"
             " RETURNING id), c AS (INSERT INTO cases (cluster_report_id,"
             " unit_id, queue, priority, category, accused_key, due_at)"
             " SELECT id, '%s', 'default', 'normal', 'lianjie',"
             " '%s/某局长', now() + interval '5 days' FROM r RETURNING id,"
             " cluster_report_id) INSERT INTO case_reports (case_id,"
             " report_id) SELECT id, cluster_report_id FROM c",
             unit, n, unit, unit);
    char err[256];
    if (e2e_sql(e, false, sql, err, sizeof(err)) != 0) {
        fprintf(stderr, "make_cases: %s\n", err);
        return -1;
    }
    return 0;
}

/* The claimed cases of a claim answer: ids and tokens. */
static int claimed(const struct e2e_reply *r, long long *ids,
                   char (*tokens)[40], int cap)
{
    cJSON *root = cJSON_ParseWithLength(r->r[0].body, r->r[0].body_len);
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(root, "cases");
    int n = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        if (n == cap)
            break;
        ids[n] =
            (long long)cJSON_GetObjectItemCaseSensitive(c, "id")->valuedouble;
        snprintf(
            tokens[n], 40, "%s",
            cJSON_GetObjectItemCaseSensitive(c, "lease_token")->valuestring);
        n++;
    }
    cJSON_Delete(root);
    return n;
}

struct people {
    char a[128], a2[128], b[128], admin[128], op[128];
};

static int setup_with(struct e2e *e, struct people *p, const char *const *sets);

static int setup(struct e2e *e, struct people *p)
{
    static const char *const sets[] = {"rate_limit_per_minute=0", NULL};
    return setup_with(e, p, sets);
}

/* The migrated database, the units, the people's tokens, and tipd started
 * with sets. */
static int setup_with(struct e2e *e, struct people *p, const char *const *sets)
{
    if (e2e_migrate(e) != 0)
        return -1;
    static const char *const import[] = {
        "units", "import", TIPD_SOURCE_DIR "/deploy/rules.json", NULL};
    char out[2048];
    if (e2e_run(e, import, 30000, out, sizeof(out)) != 0 ||
        e2e_token(e, "410105", "staff", "承办人甲", p->a, sizeof(p->a)) ||
        e2e_token(e, "410105", "supervisor", "科长乙", p->a2, sizeof(p->a2)) ||
        e2e_token(e, "410100", "staff", "市纪委丙", p->b, sizeof(p->b)) ||
        e2e_token(e, "410105", "admin", "管理员", p->admin, sizeof(p->admin)) ||
        e2e_token(e, "410105", "operator", "热线员", p->op, sizeof(p->op)))
        return -1;
    return e2e_start(e, sets);
}

/* One worker: requests sent at once meet on one staff session. */
static const char *const one_worker[] = {"rate_limit_per_minute=0", "workers=1",
                                         NULL};

/* A POST with token and a JSON body on a new connection, not waited for:
 * the fd to read the answer from, or -1. */
static int send_post(const struct e2e *e, const char *path, const char *token,
                     const char *body)
{
    char req[2048];
    snprintf(req, sizeof(req),
             "POST %s HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n"
             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             path, token, strlen(body), body);
    int fd = e2e_connect(e);
    if (fd >= 0 && e2e_sends(fd, req) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void walls_and_actions(struct e2e *e)
{
    struct people p;
    struct e2e_reply r;
    char path[128], body[512];
    long long ids[8];
    char tokens[8][40];
    CHECK_INT(setup(e, &p), 0);
    CHECK_INT(make_cases(e, "410105", 3), 0);
    /* The newest has a real-name report: first within its priority. */
    CHECK_INT(e2e_sql(e, false,
                      "UPDATE cases SET real_name = true WHERE id = "
                      "(SELECT max(id) FROM cases)",
                      NULL, 0),
              0);

    /* Claim two: leased to the caller with tokens; the listing counts. */
    CHECK_INT(call(e, "POST", "/api/v1/staff/queues/default/claim", p.a,
                   "{\"max\":2,\"lease_seconds\":60}", &r),
              200);
    CHECK_INT(claimed(&r, ids, tokens, 8), 2);
    e2e_reply_free(&r);
    CHECK_INT(ids[0], e2e_number(e, "SELECT max(id) FROM cases"));
    CHECK_INT(call(e, "GET", "/api/v1/staff/queues", p.a, NULL, &r), 200);
    CHECK(strstr(r.r[0].body, "\"queue\" : \"default\", \"depth\" : 1, "
                              "\"leased\" : 2") != NULL);
    e2e_reply_free(&r);

    /* The case view: its report, the other cases on the same accused. */
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%lld", ids[0]);
    CHECK_INT(call(e, "GET", path, p.a, NULL, &r), 200);
    CHECK(strstr(r.r[0].body, "某局长收受礼金") != NULL);
    CHECK(strstr(r.r[0].body, "\"same_accused\" : [{\"case_id\"") != NULL);
    e2e_reply_free(&r);

    /* Walls: another unit's staff, the admin and an operator see nothing;
     * no token is 401; another unit's case and a missing one are the same
     * 404. */
    CHECK_INT(call(e, "GET", path, p.b, NULL, &r), 404);
    char other[4096];
    snprintf(other, sizeof(other), "%s", r.r[0].body);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "GET", "/api/v1/staff/cases/999999", p.b, NULL, &r), 404);
    CHECK_STR(r.r[0].body, other);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "GET", path, p.admin, NULL, &r), 403);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "GET", path, p.op, NULL, &r), 403);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "GET", path, NULL, NULL, &r), 401);
    e2e_reply_free(&r);
    /* A token tipd could not have made (bytes that are not UTF-8, which
     * the database would refuse to hash: 500) is refused before it. */
    CHECK_INT(call(e, "GET", path, "tipd_\xff\xfe", NULL, &r), 401);
    e2e_reply_free(&r);
    /* F3: the stored hash of a token, dumped from the database, is no
     * token ("tipd_" + its hex, or the hex alone). */
    char dumped[128], forged[160];
    CHECK_INT(e2e_sql(e, false,
                      "SELECT encode(sha256, 'hex') FROM tokens ORDER BY id"
                      " LIMIT 1",
                      dumped, sizeof(dumped)),
              0);
    snprintf(forged, sizeof(forged), "tipd_%s", dumped);
    CHECK_INT(call(e, "GET", path, forged, NULL, &r), 401);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "GET", path, dumped, NULL, &r), 401);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "POST", "/api/v1/staff/queues/default/claim", p.b,
                   "{\"max\":5}", &r),
              200);
    CHECK(strstr(r.r[0].body, "\"cases\" : []") != NULL);
    e2e_reply_free(&r);

    /* A disposition needs the live lease: a wrong token is 409. */
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%lld/disposition",
             ids[0]);
    snprintf(body, sizeof(body),
             "{\"lease_token\":\"%s\",\"disposition\":\"close\","
             "\"note\":\"查无实据，予以了结\"}",
             tokens[1]);
    CHECK_INT(call(e, "POST", path, p.a, body, &r), 409);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "POST", path, p.b, body, &r), 404);
    e2e_reply_free(&r);
    snprintf(body, sizeof(body),
             "{\"lease_token\":\"%s\",\"disposition\":\"talk_inquiry\","
             "\"note\":\"约谈当事人\"}",
             tokens[0]);
    CHECK_INT(call(e, "POST", path, p.a, body, &r), 200);
    CHECK(strstr(r.r[0].body, "\"status\" : \"working\"") != NULL);
    e2e_reply_free(&r);
    /* The owner goes on without a lease; then closes it. */
    CHECK_INT(call(e, "POST", path, p.a,
                   "{\"disposition\":\"close\",\"note\":\"予以了结\"}", &r),
              200);
    CHECK(strstr(r.r[0].body, "\"status\" : \"closed\"") != NULL);
    e2e_reply_free(&r);
    snprintf(body, sizeof(body),
             "SELECT count(*) FROM cases WHERE id = %lld"
             " AND closed_at IS NOT NULL AND disposition = 'close'"
             " AND owner_staff_id IS NOT NULL",
             ids[0]);
    CHECK_INT(e2e_number(e, body), 1);

    /* A message to the reporter, seen with the receipt's report. */
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%lld/messages", ids[1]);
    CHECK_INT(call(e, "POST", path, p.a, "{\"body\":\"请补充时间地点\"}", &r),
              200);
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM report_messages"
                            " WHERE author = 'staff'"),
              1);
    /* A report_id that is no id is refused, never taken as "every
     * report". */
    CHECK_INT(
        call(e, "POST", path, p.a, "{\"body\":\"x\",\"report_id\":{}}", &r),
        422);
    CHECK(strstr(r.r[0].body, "report_id") != NULL);
    e2e_reply_free(&r);

    /* A transfer: the case leaves the sender's view for the other unit. */
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%lld/transfer", ids[1]);
    snprintf(body, sizeof(body),
             "{\"lease_token\":\"%s\",\"unit\":\"410100\","
             "\"reason\":\"被反映人为市管干部\"}",
             tokens[1]);
    CHECK_INT(call(e, "POST", path, p.a, body, &r), 200);
    e2e_reply_free(&r);
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%lld", ids[1]);
    CHECK_INT(call(e, "GET", path, p.a, NULL, &r), 404);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "GET", path, p.b, NULL, &r), 200);
    CHECK(strstr(r.r[0].body, "\"action\" : \"transfer\"") != NULL);
    e2e_reply_free(&r);

    /* Malformed requests and requests past a limit: clear 4xx naming the
     * field, nothing changed (no audit row, no case touched). */
    long long audit_rows = e2e_number(e, "SELECT count(*) FROM audit_log");
    static const char *const bad_claims[][2] = {
        {"{\"max\":0}", "max"},
        {"{\"max\":101}", "max"},
        {"{\"max\":1.5}", "max"},
        {"{\"lease_seconds\":9}", "lease_seconds"},
        {"{\"lease_seconds\":3601}", "lease_seconds"},
    };
    for (size_t i = 0; i < sizeof(bad_claims) / sizeof(bad_claims[0]); i++) {
        CHECK_INT(call(e, "POST", "/api/v1/staff/queues/default/claim", p.a,
                       bad_claims[i][0], &r),
                  422);
        CHECK(strstr(r.r[0].body, bad_claims[i][1]) != NULL);
        e2e_reply_free(&r);
    }
    /* A note of 5,001 characters: one over the limit. */
    static char long_note[5200];
    memset(long_note, 0, sizeof(long_note));
    int at = snprintf(long_note, sizeof(long_note),
                      "{\"disposition\":\"hold\",\"note\":\"");
    memset(long_note + at, 'x', 5001);
    memcpy(long_note + at + 5001, "\"}", 2);
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%lld/disposition",
             ids[1]);
    CHECK_INT(call(e, "POST", path, p.b, long_note, &r), 422);
    CHECK(strstr(r.r[0].body, "note") != NULL);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "POST", path, p.a,
                   "{\"disposition\":\"maybe\","
                   "\"note\":\"x\"}",
                   &r),
              422);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "POST", path, p.a, "not json", &r), 400);
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM audit_log"), audit_rows);
    CHECK_INT(call(e, "POST", "/api/v1/staff/queues/nope/claim", p.a, "{}", &r),
              404);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "GET", "/api/v1/staff/cases/abc", p.a, NULL, &r), 404);
    e2e_reply_free(&r);

    /* `tipd staff add`: the member exists once, with one role. */
    static const char *const add[] = {"staff",  "add",      "--unit",
                                      "410105", "--role",   "staff",
                                      "--name", "承办人甲", NULL};
    static const char *const clash[] = {"staff",  "add",      "--unit",
                                        "410105", "--role",   "supervisor",
                                        "--name", "承办人甲", NULL};
    char added[512];
    int port = e->port; /* e2e_run picks a port of its own */
    CHECK_INT(e2e_run(e, add, 30000, added, sizeof(added)), 0);
    CHECK(strstr(added, "承办人甲 (staff, unit 410105)") != NULL);
    CHECK_INT(e2e_run(e, clash, 30000, added, sizeof(added)), 1);
    CHECK(strstr(added, "a person has one role") != NULL);
    e->port = port;
    CHECK_INT(
        e2e_number(e, "SELECT count(*) FROM staff WHERE name = '承办人甲'"), 1);

    /* The supervisor reads the unit's trail; a member of staff may not. */
    CHECK_INT(call(e, "GET", "/api/v1/staff/audit", p.a2, NULL, &r), 200);
    CHECK(strstr(r.r[0].body, "\"action\" : \"disposition\"") != NULL);
    CHECK(strstr(r.r[0].body, "\"action\" : \"transfer\"") != NULL);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "GET", "/api/v1/staff/audit?before=2", p.a2, NULL, &r),
              200);
    CHECK(strstr(r.r[0].body, "\"id\" : 1,") != NULL);
    CHECK(strstr(r.r[0].body, "\"id\" : 2,") == NULL);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "GET", "/api/v1/staff/audit?x=1", p.a2, NULL, &r), 422);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "GET", "/api/v1/staff/audit", p.a, NULL, &r), 403);
    e2e_reply_free(&r);

    /* A statement that fails in the database is tipd's fault: 500, and
     * nothing half-done; a database that is gone is temporary: 503. */
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%lld", ids[1]);
    CHECK_INT(e2e_sql(e, false, "ALTER TABLE audit_log RENAME TO audit_away",
                      NULL, 0),
              0);
    CHECK_INT(call(e, "GET", path, p.b, NULL, &r), 500);
    e2e_reply_free(&r);
    CHECK_INT(e2e_sql(e, false, "ALTER TABLE audit_away RENAME TO audit_log",
                      NULL, 0),
              0);
    CHECK_INT(e2e_db_block(e), 0);
    CHECK_INT(call(e, "POST", "/api/v1/staff/queues/default/claim", p.a,
                   "{\"max\":1}", &r),
              503);
    e2e_reply_free(&r);
    CHECK_INT(e2e_db_unblock(e), 0);
    bool back = false;
    for (int i = 0; i < 100 && !back; i++) {
        back = call(e, "GET", path, p.b, NULL, &r) == 200;
        e2e_reply_free(&r);
        if (!back)
            e2e_sleep_ms(100);
    }
    CHECK(back);

    /* The audit chain holds every read and action, and verifies. */
    CHECK(e2e_number(
              e, "SELECT count(*) FROM audit_log WHERE action = 'read'") >= 2);
    static const char *const verify[] = {"audit", "verify", NULL};
    char out[2048];
    CHECK_INT(e2e_run(e, verify, 30000, out, sizeof(out)), 0);
    CHECK(strstr(out, "entries verified") != NULL);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_casework_walls_and_actions(void)
{
    struct e2e e;
    if (e2e_init(&e, "casework_walls_and_actions") == 0)
        walls_and_actions(&e);
    e2e_cleanup(&e);
}

/* G1-G4: dead clients' cases come back, stale tokens are refused, failing
 * cases are parked, concurrent claimers never share a case. */
static void leases(struct e2e *e)
{
    struct people p;
    struct e2e_reply r;
    char path[128], body[512], sql[512];
    long long ids[8];
    char tokens[8][40], fresh[8][40];
    CHECK_INT(setup(e, &p), 0);
    CHECK_INT(make_cases(e, "410105", 40), 0);

    /* G1 and G2: A claims and "dies"; its lease runs out (moved into the
     * past here rather than waited for); A2 gets the case with a new
     * token, and A's late completion is refused. */
    CHECK_INT(call(e, "POST", "/api/v1/staff/queues/default/claim", p.a,
                   "{\"max\":1,\"lease_seconds\":10}", &r),
              200);
    CHECK_INT(claimed(&r, ids, tokens, 8), 1);
    e2e_reply_free(&r);
    snprintf(sql, sizeof(sql),
             "UPDATE cases SET lease_expires_at = now() - interval '1 second'"
             " WHERE id = %lld",
             ids[0]);
    CHECK_INT(e2e_sql(e, false, sql, NULL, 0), 0);
    long long again[8];
    CHECK_INT(call(e, "POST", "/api/v1/staff/queues/default/claim", p.a2,
                   "{\"max\":1}", &r),
              200);
    CHECK_INT(claimed(&r, again, fresh, 8), 1);
    e2e_reply_free(&r);
    CHECK_INT(again[0], ids[0]);
    CHECK(strcmp(fresh[0], tokens[0]) != 0);
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%lld/disposition",
             ids[0]);
    snprintf(body, sizeof(body),
             "{\"lease_token\":\"%s\",\"disposition\":\"hold\","
             "\"note\":\"迟到的处置\"}",
             tokens[0]);
    CHECK_INT(call(e, "POST", path, p.a, body, &r), 409);
    e2e_reply_free(&r);
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%lld/release", ids[0]);
    snprintf(body, sizeof(body), "{\"lease_token\":\"%s\"}", fresh[0]);
    CHECK_INT(call(e, "POST", path, p.a2, body, &r), 200);
    e2e_reply_free(&r);

    /* G3: a case whose lease ran out at its fifth attempt is parked, and
     * the queue goes on past it. */
    snprintf(sql, sizeof(sql),
             "UPDATE cases SET status = 'leased', attempts = 5,"
             " lease_token = gen_random_uuid(), lease_staff_id = 1,"
             " lease_expires_at = now() - interval '1 second' WHERE id = %lld",
             ids[0]);
    CHECK_INT(e2e_sql(e, false, sql, NULL, 0), 0);
    CHECK_INT(call(e, "POST", "/api/v1/staff/queues/default/claim", p.a,
                   "{\"max\":1}", &r),
              200);
    CHECK_INT(claimed(&r, again, fresh, 8), 1);
    CHECK(again[0] != ids[0]);
    e2e_reply_free(&r);
    snprintf(sql, sizeof(sql), "SELECT status FROM cases WHERE id = %lld",
             ids[0]);
    char status[32];
    CHECK_INT(e2e_sql(e, false, sql, status, sizeof(status)), 0);
    CHECK_STR(status, "parked");

    /* G4: 16 claimers at once, rounds until the queue is empty: every case
     * leased exactly once. */
    long long seen[64];
    int seen_count = 0;
    for (int round = 0; round < 10; round++) {
        int fds[16];
        static const char claim[] =
            "POST /api/v1/staff/queues/default/claim HTTP/1.1\r\nHost: e2e\r\n"
            "Connection: close\r\nContent-Type: application/json\r\n"
            "Content-Length: 9\r\nAuthorization: Bearer %s\r\n\r\n"
            "{\"max\":1}";
        char req[512];
        int n = snprintf(req, sizeof(req), claim, round % 2 ? p.a : p.a2);
        for (int i = 0; i < 16; i++) {
            fds[i] = e2e_connect(e);
            CHECK(fds[i] >= 0);
            e2e_send(fds[i], req, (size_t)n);
        }
        int got_any = 0;
        for (int i = 0; i < 16; i++) {
            e2e_reply_init(&r);
            e2e_read(fds[i], &r, 1, 10000);
            close(fds[i]);
            CHECK(r.count == 1 && r.r[0].status == 200);
            long long one[2];
            char tok[2][40];
            int k = claimed(&r, one, tok, 2);
            e2e_reply_free(&r);
            for (int j = 0; j < k; j++) {
                for (int s = 0; s < seen_count; s++)
                    CHECK(seen[s] != one[j]);
                CHECK(seen_count < 64);
                seen[seen_count++] = one[j];
                got_any = 1;
            }
        }
        if (!got_any)
            break;
    }
    /* 40 cases: one parked, one leased by A above, 38 for the claimers. */
    CHECK_INT(seen_count, 38);
    CHECK_INT(
        e2e_number(e, "SELECT count(*) FROM cases WHERE status = 'leased'"),
        39);

    /* F4: the chain verifies; an edited row and a cut tail are caught. */
    static const char *const head[] = {"audit", "head", NULL};
    char out[2048], exported[128];
    CHECK_INT(e2e_run(e, head, 30000, out, sizeof(out)), 0);
    snprintf(exported, sizeof(exported), "%.*s", (int)strcspn(out, "\n"), out);
    static const char *const verify[] = {"audit", "verify", NULL};
    CHECK_INT(e2e_run(e, verify, 30000, out, sizeof(out)), 0);
    CHECK_INT(e2e_sql(e, false,
                      "UPDATE audit_log SET detail = '{}' WHERE id = 2", out,
                      sizeof(out)),
              -1); /* append-only: the trigger refuses */
    CHECK_INT(e2e_sql(e, false,
                      "ALTER TABLE audit_log DISABLE TRIGGER "
                      "audit_log_append_only",
                      NULL, 0),
              0);
    /* A cut tail leaves an intact prefix: only the exported head shows
     * that entries are gone. */
    CHECK_INT(e2e_sql(e, false,
                      "DELETE FROM audit_log WHERE id > (SELECT max(id) - 3"
                      " FROM audit_log)",
                      NULL, 0),
              0);
    CHECK_INT(e2e_run(e, verify, 30000, out, sizeof(out)), 0);
    const char *const verify_head[] = {"audit", "verify", "--head", exported,
                                       NULL};
    CHECK_INT(e2e_run(e, verify_head, 30000, out, sizeof(out)), 1);
    CHECK(strstr(out, "is gone") != NULL);
    static const char *const bad_head[] = {"audit", "verify", "--head",
                                           "12:nothex", NULL};
    CHECK_INT(e2e_run(e, bad_head, 30000, out, sizeof(out)), 2);
    CHECK(strstr(out, "--head takes ID:HASH") != NULL);
    /* An edited row breaks its own hash. */
    CHECK_INT(e2e_sql(e, false,
                      "UPDATE audit_log SET detail = '{\"x\": 1}' WHERE id = 2",
                      NULL, 0),
              0);
    CHECK_INT(e2e_run(e, verify, 30000, out, sizeof(out)), 1);
    CHECK(strstr(out, "entry 2 was changed") != NULL);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_casework_leases(void)
{
    struct e2e e;
    if (e2e_init(&e, "casework_leases") == 0)
        leases(&e);
    e2e_cleanup(&e);
}

/*
 * F1: every route of the router table x {anonymous, staff of unit A, its
 * supervisor, staff of unit B, admin, operator} x {unit A's case, unit B's
 * case, a missing id}: a 2xx answer is allowed only where the role and the
 * unit allow it. A route the matrix does not know fails the test, so a new
 * route cannot escape it.
 */
struct identity {
    const char *label;
    const char *token; /* NULL: anonymous */
    const char *unit;
    const char *role;
};

/* Routes anyone may call (the public, gateways, operations). */
static const char *const public_routes[] = {
    "/", "/report", "/status", "/healthz", "/readyz", "/metrics",
    "/api/v1/reports", "/sms/kannel", "/sms/twilio", "/sms/generic",
    "/sms/aliyun", "/api/v1/status", "/api/v1/status/messages",
    /* Static files: the console's page and scripts hold no data. */
    "/form.js", "/staff", "/staff/", "/staff/console.js", NULL};

/* A plausible body for each staff route, by its metric name. */
static const struct {
    const char *name;
    const char *body;
    const char *const *roles; /* who may get a 2xx */
    bool per_case;            /* {id}: only within the caller's unit */
} staff_routes[] = {
    {"staff_intake",
     "{\"channel\":\"phone\",\"content\":\"来电\",\"external_id\":\"m-{n}\","
     "\"received_at\":\"2026-11-20T09:30:00+08:00\"}",
     (const char *const[]){"operator", "staff", "supervisor", NULL}, false},
    {"staff_intake_batch",
     "{\"channel\":\"letter\",\"content\":\"来信\",\"external_id\":\"b-{n}\","
     "\"received_at\":\"2026-11-20T09:30:00+08:00\"}\n",
     (const char *const[]){"operator", "staff", "supervisor", NULL}, false},
    {"staff_queues", NULL, (const char *const[]){"staff", "supervisor", NULL},
     false},
    {"staff_claim", "{\"max\":1}",
     (const char *const[]){"staff", "supervisor", NULL}, false},
    {"staff_case", NULL, (const char *const[]){"staff", "supervisor", NULL},
     true},
    {"staff_disposition", "{\"disposition\":\"hold\",\"note\":\"矩阵\"}",
     (const char *const[]){"staff", "supervisor", NULL}, true},
    {"staff_transfer", "{\"unit\":\"410000\",\"reason\":\"矩阵\"}",
     (const char *const[]){"staff", "supervisor", NULL}, true},
    {"staff_message", "{\"body\":\"矩阵\"}",
     (const char *const[]){"staff", "supervisor", NULL}, true},
    {"staff_release",
     "{\"lease_token\":\"00000000-0000-0000-0000-000000000000\"}",
     (const char *const[]){"staff", "supervisor", NULL}, true},
    /* Staff member 1 is unit A's 承办人甲 (setup makes them first). */
    {"staff_assign", "{\"staff_id\":1}",
     (const char *const[]){"supervisor", NULL}, true},
    {"staff_assigned", NULL, (const char *const[]){"staff", "supervisor", NULL},
     false},
    {"staff_audit", NULL, (const char *const[]){"supervisor", NULL}, false},
};

static bool role_in(const char *role, const char *const *roles)
{
    for (int i = 0; role != NULL && roles[i] != NULL; i++)
        if (strcmp(role, roles[i]) == 0)
            return true;
    return false;
}

/* The path of pattern with {id} and {queue} filled in. */
static void fill_path(const char *pattern, const char *id, char *out,
                      size_t cap)
{
    size_t o = 0;
    for (const char *p = pattern; *p != '\0' && o + 1 < cap;) {
        if (*p == '{') {
            const char *end = strchr(p, '}');
            const char *v = strncmp(p, "{id}", 4) == 0 ? id : "default";
            o += (size_t)snprintf(out + o, cap - o, "%s", v);
            p = end != NULL ? end + 1 : p + strlen(p);
        } else {
            out[o++] = *p++;
        }
    }
    out[o < cap ? o : cap - 1] = '\0';
}

/* tmpl with "{n}" replaced by n (tmpl may be NULL: an empty body). */
static void fill_body(const char *tmpl, const char *n, char *out, size_t cap)
{
    const char *at = tmpl != NULL ? strstr(tmpl, "{n}") : NULL;
    if (tmpl == NULL)
        snprintf(out, cap, "%s", "");
    else if (at == NULL)
        snprintf(out, cap, "%s", tmpl);
    else
        snprintf(out, cap, "%.*s%s%s", (int)(at - tmpl), tmpl, n, at + 3);
}

static void route_matrix(struct e2e *e)
{
    struct people p;
    struct e2e_reply r;
    CHECK_INT(setup(e, &p), 0);
    CHECK_INT(make_cases(e, "410105", 1), 0);
    CHECK_INT(make_cases(e, "410100", 1), 0);
    char case_a[32], case_b[32];
    CHECK_INT(e2e_sql(e, false, "SELECT id FROM cases WHERE unit_id = '410105'",
                      case_a, sizeof(case_a)),
              0);
    CHECK_INT(e2e_sql(e, false, "SELECT id FROM cases WHERE unit_id = '410100'",
                      case_b, sizeof(case_b)),
              0);
    const struct identity who[] = {
        {"anonymous", NULL, NULL, NULL},
        {"staff of A", p.a, "410105", "staff"},
        {"supervisor of A", p.a2, "410105", "supervisor"},
        {"staff of B", p.b, "410100", "staff"},
        {"admin", p.admin, "410105", "admin"},
        {"operator", p.op, "410105", "operator"},
    };
    const struct {
        const char *id;
        const char *unit; /* NULL: missing */
    } targets[] = {{case_a, "410105"}, {case_b, "410100"}, {"999999", NULL}};
    int requests = 0, unauthorised = 0, n = 0;
    for (size_t i = 0; i < router_main.count; i++) {
        const struct route *rt = &router_main.routes[i];
        bool public_route = false;
        for (int k = 0; public_routes[k] != NULL; k++)
            public_route =
                public_route || strcmp(rt->pattern, public_routes[k]) == 0;
        if (public_route)
            continue;
        int s = -1;
        for (size_t k = 0; k < sizeof(staff_routes) / sizeof(*staff_routes);
             k++)
            if (strcmp(staff_routes[k].name, rt->name) == 0)
                s = (int)k;
        if (s < 0) {
            test_failf(__FILE__, __LINE__,
                       "route %s %s is in no row of the access matrix",
                       rt->method == HTTP_METHOD_GET ? "GET" : "POST",
                       rt->pattern);
            return;
        }
        for (size_t w = 0; w < sizeof(who) / sizeof(*who); w++) {
            for (size_t t = 0; t < 3; t++) {
                char path[256], body[512];
                fill_path(rt->pattern, targets[t].id, path, sizeof(path));
                /* Unique external ids: each intake request is new. */
                char uniq[32];
                snprintf(uniq, sizeof(uniq), "%d", n++);
                fill_body(staff_routes[s].body, uniq, body, sizeof(body));
                int status = call(
                    e, rt->method == HTTP_METHOD_GET ? "GET" : "POST", path,
                    who[w].token, staff_routes[s].body ? body : NULL, &r);
                e2e_reply_free(&r);
                requests++;
                bool allowed = who[w].token != NULL &&
                               role_in(who[w].role, staff_routes[s].roles) &&
                               (!staff_routes[s].per_case ||
                                (targets[t].unit != NULL &&
                                 strcmp(targets[t].unit, who[w].unit) == 0));
                if (status == 0) {
                    test_failf(__FILE__, __LINE__, "%s %s as %s: no answer",
                               rt->name, path, who[w].label);
                    return;
                }
                if (status >= 200 && status < 300 && !allowed) {
                    unauthorised++;
                    fprintf(stderr, "UNAUTHORISED %d: %s %s as %s\n", status,
                            rt->name, path, who[w].label);
                }
                if (who[w].token == NULL && status != 401)
                    test_failf(__FILE__, __LINE__,
                               "%s %s anonymous: %d, want 401", rt->name, path,
                               status);
            }
        }
    }
    fprintf(stderr, "access matrix: %d requests, %d unauthorised 2xx\n",
            requests, unauthorised);
    CHECK(requests >= 12 * 6 * 3);
    CHECK_INT(unauthorised, 0);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_casework_route_role_matrix(void)
{
    struct e2e e;
    if (e2e_init(&e, "casework_route_role_matrix") == 0)
        route_matrix(&e);
    e2e_cleanup(&e);
}

/* The whole way: a web report, triaged into a case, claimed, answered and
 * closed by staff; the reporter, with the receipt code alone, sees the state
 * move and reads the answer. */
static void reporter_progress(struct e2e *e)
{
    struct people p;
    struct e2e_reply r;
    char receipt[64], body[512], path[128];
    static const char *const sets[] = {
        "rate_limit_per_minute=0",
        "rules_file=" TIPD_SOURCE_DIR "/deploy/rules.json",
        "holidays_file=" TIPD_SOURCE_DIR "/deploy/holidays.txt", NULL};
    CHECK_INT(e2e_migrate(e), 0);
    static const char *const import[] = {
        "units", "import", TIPD_SOURCE_DIR "/deploy/rules.json", NULL};
    char out[2048];
    CHECK_INT(e2e_run(e, import, 30000, out, sizeof(out)), 0);
    CHECK_INT(e2e_token(e, "410105", "staff", "承办人甲", p.a, sizeof(p.a)), 0);
    CHECK_INT(e2e_start(e, sets), 0);

    CHECK_INT(call(e, "POST", "/api/v1/reports", NULL,
                   "{\"content\":\"金水区教育局局长王建国收受礼金5万元\","
                   "\"region\":\"410105\",\"accused\":{\"name\":\"王建国\","
                   "\"rank\":\"正科级\"}}",
                   &r),
              201);
    cJSON *doc = cJSON_ParseWithLength(r.r[0].body, r.r[0].body_len);
    snprintf(receipt, sizeof(receipt), "%s",
             cJSON_GetObjectItemCaseSensitive(doc, "receipt")->valuestring);
    cJSON_Delete(doc);
    e2e_reply_free(&r);
    snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", receipt);

    /* Triaged into 410105's queue: accepted. */
    bool accepted = false;
    for (int i = 0; i < 100 && !accepted; i++) {
        CHECK_INT(call(e, "POST", "/api/v1/status", NULL, body, &r), 200);
        accepted = strstr(r.r[0].body, "\"state\" : \"accepted\"") != NULL;
        e2e_reply_free(&r);
        if (!accepted)
            e2e_sleep_ms(100);
    }
    CHECK(accepted);
    /* /metrics counts open and overdue cases (every 5 s). */
    long long open = -1;
    for (int i = 0; i < 80 && open != 1; i++) {
        open = e2e_metric(e, "tipd_cases_open");
        if (open != 1)
            e2e_sleep_ms(100);
    }
    CHECK_INT(open, 1);
    CHECK_INT(e2e_metric(e, "tipd_cases_overdue"), 0);

    long long ids[2];
    char tokens[2][40];
    CHECK_INT(call(e, "POST", "/api/v1/staff/queues/default/claim", p.a,
                   "{\"max\":1}", &r),
              200);
    CHECK_INT(claimed(&r, ids, tokens, 2), 1);
    e2e_reply_free(&r);
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%lld/messages", ids[0]);
    CHECK_INT(call(e, "POST", path, p.a, "{\"body\":\"已受理，正在核实\"}", &r),
              200);
    e2e_reply_free(&r);
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%lld/disposition",
             ids[0]);
    char disp[256];
    snprintf(disp, sizeof(disp),
             "{\"lease_token\":\"%s\",\"disposition\":\"close\","
             "\"note\":\"予以了结\"}",
             tokens[0]);
    CHECK_INT(call(e, "POST", path, p.a, disp, &r), 200);
    e2e_reply_free(&r);

    CHECK_INT(call(e, "POST", "/api/v1/status", NULL, body, &r), 200);
    CHECK(strstr(r.r[0].body, "\"state\" : \"closed\"") != NULL);
    CHECK(strstr(r.r[0].body, "已受理，正在核实") != NULL);
    /* Inside stays inside: no unit, staff or disposition. */
    CHECK(strstr(r.r[0].body, "410105") == NULL);
    CHECK(strstr(r.r[0].body, "予以了结") == NULL);
    e2e_reply_free(&r);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_casework_reporter_sees_progress(void)
{
    struct e2e e;
    if (e2e_init(&e, "casework_reporter_sees_progress") == 0)
        reporter_progress(&e);
    e2e_cleanup(&e);
}

/* A supervisor names who works a case: it waits in that member's own queue
 * ("mine"), out of everyone else's claims, and the member owns it. */
static void assignment(struct e2e *e)
{
    struct people p;
    struct e2e_reply r;
    char path[128];
    long long ids[4];
    char tokens[4][40];
    CHECK_INT(setup(e, &p), 0);
    CHECK_INT(make_cases(e, "410105", 2), 0);
    char first[32];
    CHECK_INT(
        e2e_sql(e, false, "SELECT min(id) FROM cases", first, sizeof(first)),
        0);
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%s/assign", first);

    /* Only a supervisor assigns, only to a member of the unit. */
    CHECK_INT(call(e, "POST", path, p.a, "{\"staff_id\":1}", &r), 403);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "POST", path, p.a2, "{\"staff_id\":3}", &r), 422);
    CHECK(strstr(r.r[0].body, "staff_id") != NULL);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "POST", path, p.a2, "{\"staff_id\":1}", &r), 200);
    e2e_reply_free(&r);
    /* Nor does the unit's queue count it. */
    CHECK_INT(call(e, "GET", "/api/v1/staff/queues", p.a2, NULL, &r), 200);
    CHECK(strstr(r.r[0].body, "\"queue\" : \"default\", \"depth\" : 1,") !=
          NULL);
    e2e_reply_free(&r);

    /* The unit's queue no longer offers it; its assignee's own queue does. */
    CHECK_INT(call(e, "POST", "/api/v1/staff/queues/default/claim", p.a2,
                   "{\"max\":5}", &r),
              200);
    CHECK_INT(claimed(&r, ids, tokens, 4), 1);
    CHECK(ids[0] != strtoll(first, NULL, 10));
    e2e_reply_free(&r);
    CHECK_INT(call(e, "GET", "/api/v1/staff/assigned", p.a, NULL, &r), 200);
    CHECK(strstr(r.r[0].body, "\"status\" : \"new\"") != NULL);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "POST", "/api/v1/staff/queues/mine/claim", p.a2,
                   "{\"max\":5}", &r),
              200);
    CHECK_INT(claimed(&r, ids, tokens, 4), 0);
    e2e_reply_free(&r);
    CHECK_INT(call(e, "POST", "/api/v1/staff/queues/mine/claim", p.a,
                   "{\"max\":5}", &r),
              200);
    CHECK_INT(claimed(&r, ids, tokens, 4), 1);
    CHECK_INT(ids[0], strtoll(first, NULL, 10));
    e2e_reply_free(&r);

    /* Its owner is the assignee; another case owned by the supervisor
     * cannot be taken from them by an assignment. */
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT owner_staff_id FROM cases WHERE id = %s",
             first);
    CHECK_INT(e2e_number(e, sql), 1);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM audit_log WHERE action = "
                            "'assign' AND (detail->>'staff_id')::int = 1"),
              1);
    char second[32];
    CHECK_INT(
        e2e_sql(e, false, "SELECT max(id) FROM cases", second, sizeof(second)),
        0);
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%s/assign", second);
    CHECK_INT(call(e, "POST", path, p.a2, "{\"staff_id\":1}", &r), 409);
    e2e_reply_free(&r);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_casework_assignment(void)
{
    struct e2e e;
    if (e2e_init(&e, "casework_assignment") == 0)
        assignment(&e);
    e2e_cleanup(&e);
}

/* --- F2: the wall in PostgreSQL ---------------------------------------------
 */

/* The first column of sql's first row as a number; -1 on any error. */
static long long pg_number(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    long long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
        !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(pg));
    PQclear(r);
    return v;
}

/* Whether sql fails with sqlstate (its transaction, if any, rolled back to
 * before it by a savepoint). */
static bool pg_refused(PGconn *pg, const char *sql, const char *sqlstate)
{
    bool in_tx = PQtransactionStatus(pg) == PQTRANS_INTRANS;
    if (in_tx)
        PQclear(PQexec(pg, "SAVEPOINT probe"));
    PGresult *r = PQexec(pg, sql);
    const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    bool refused = PQresultStatus(r) == PGRES_FATAL_ERROR && code != NULL &&
                   strcmp(code, sqlstate) == 0;
    if (!refused)
        fprintf(stderr, "%s: expected SQLSTATE %s, got %s (%s)\n", sql,
                sqlstate, code ? code : "none", PQerrorMessage(pg));
    PQclear(r);
    if (in_tx)
        PQclear(PQexec(pg, "ROLLBACK TO SAVEPOINT probe"));
    return refused;
}

/* Binds the open transaction to token, as tipd's staff session does. */
static void pg_bind(PGconn *pg, const char *token)
{
    const char *params[1] = {token};
    PQclear(PQexecParams(pg, "SELECT set_config('tipd.token', $1, true)", 1,
                         NULL, params, NULL, NULL, 0));
}

/* Cases a transaction bound to token sees: all, and of unit 410100. */
static void seen_as(PGconn *pg, const char *token, long long *all,
                    long long *other)
{
    PQclear(PQexec(pg, "BEGIN"));
    pg_bind(pg, token);
    *all = pg_number(pg, "SELECT count(*) FROM cases");
    *other = pg_number(pg, "SELECT count(*) FROM cases"
                           " WHERE unit_id = '410100'");
    PQclear(PQexec(pg, "COMMIT"));
}

static void database_wall(struct e2e *e)
{
    struct people p;
    if (setup(e, &p) != 0 || make_cases(e, "410105", 3) != 0 ||
        make_cases(e, "410100", 2) != 0) {
        CHECK(!"setup");
        return;
    }
    /* Audit rows and reporter messages of both units, through tipd. */
    struct e2e_reply r;
    long long ids[4];
    char tokens[4][40];
    CHECK_INT(call(e, "POST", "/api/v1/staff/queues/default/claim", p.a,
                   "{\"max\":3}", &r),
              200);
    CHECK_INT(claimed(&r, ids, tokens, 4), 3);
    e2e_reply_free(&r);
    CHECK_INT(
        call(e, "POST", "/api/v1/staff/queues/default/claim", p.b, NULL, &r),
        200);
    long long b_ids[1];
    char b_tokens[1][40];
    CHECK_INT(claimed(&r, b_ids, b_tokens, 1), 1);
    e2e_reply_free(&r);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/staff/cases/%lld/messages", b_ids[0]);
    CHECK_INT(call(e, "POST", path, p.b, "{\"body\":\"请补充材料\"}", &r), 200);
    e2e_reply_free(&r);

    const char *keys[] = {"dbname", "user", NULL};
    const char *values[] = {e->conninfo, "tipd_staff", NULL};
    PGconn *pg = PQconnectdbParams(keys, values, 1);
    CHECK_INT(PQstatus(pg), CONNECTION_OK);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "as tipd_staff: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return;
    }
    PQclear(PQexec(pg, "SET client_min_messages = warning"));

    /* The role: no superuser, no bypass, owns nothing, cannot become the
     * owner or switch the wall off. */
    CHECK_INT(pg_number(pg, "SELECT count(*) FROM pg_roles WHERE rolname ="
                            " current_user AND NOT rolsuper AND NOT"
                            " rolbypassrls"),
              1);
    CHECK_INT(pg_number(pg, "SELECT count(*) FROM pg_class WHERE relowner ="
                            " (SELECT oid FROM pg_roles WHERE rolname ="
                            " current_user)"),
              0);
    CHECK(pg_refused(pg, "SET ROLE tipd", "42501"));
    CHECK(pg_refused(pg, "ALTER TABLE cases NO FORCE ROW LEVEL SECURITY",
                     "42501"));
    CHECK(pg_refused(pg, "ALTER TABLE reports DISABLE ROW LEVEL SECURITY",
                     "42501"));
    CHECK(pg_refused(pg, "DROP POLICY unit_read ON cases", "42501"));
    PQclear(PQexec(pg, "SET row_security = off"));
    CHECK(pg_refused(pg, "SELECT count(*) FROM cases", "42501"));
    PQclear(PQexec(pg, "RESET row_security"));
    /* What case work does not need it cannot read at all. */
    CHECK(pg_refused(pg, "SELECT count(*) FROM tokens", "42501"));
    CHECK(pg_refused(pg, "SELECT count(*) FROM idempotency_keys", "42501"));
    CHECK(pg_refused(pg, "SELECT count(*) FROM report_triage", "42501"));
    CHECK(pg_refused(pg, "DELETE FROM audit_log", "42501"));
    /* Nor append entries in another unit's name, bound or not. */
    CHECK(pg_refused(pg,
                     "SELECT audit_append(1, '410100', 'staff', 'read',"
                     " NULL, '{}')",
                     "42501"));

    /* Unbound, the session sees nothing of any unit. */
    static const char *const tables[] = {
        "cases",           "reports",   "case_reports", "case_copies",
        "report_messages", "audit_log", "queues",       "staff"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
        CHECK_INT(pg_number(pg, sql), 0);
    }

    /* Bound to a staff member of 410105: that unit's rows only, even when
     * asked for the other unit's by name. */
    long long all = -1, other = -1;
    seen_as(pg, p.a, &all, &other);
    CHECK_INT(all, 3);
    CHECK_INT(other, 0);
    PQclear(PQexec(pg, "BEGIN"));
    pg_bind(pg, p.a);
    CHECK_INT(pg_number(pg, "SELECT count(*) FROM reports"), 3);
    CHECK_INT(pg_number(pg, "SELECT count(*) FROM report_messages"), 0);
    CHECK_INT(pg_number(pg, "SELECT count(*) FROM audit_log WHERE unit_id <>"
                            " '410105'"),
              0);
    CHECK_INT(pg_number(pg, "SELECT count(*) FROM audit_log"), 3);
    CHECK_INT(pg_number(pg, "SELECT count(*) FROM staff WHERE unit_id <>"
                            " '410105'"),
              0);
    CHECK_INT(pg_number(pg, "WITH u AS (UPDATE cases SET priority = 'urgent'"
                            " WHERE unit_id = '410100' RETURNING 1)"
                            " SELECT count(*) FROM u"),
              0);
    /* Its own case cannot be written into another unit by hand, and the
     * transfer function moves only the bound unit's cases. */
    CHECK(pg_refused(pg, "UPDATE cases SET unit_id = '410100'", "42501"));
    CHECK(pg_refused(pg,
                     "SELECT audit_append(1, '410100', 'staff', 'read',"
                     " NULL, '{}')",
                     "42501"));
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT tipd_transfer_case(%lld, '410105')",
             b_ids[0]);
    CHECK_INT(pg_number(pg, sql), -1); /* NULL: nothing moved */
    snprintf(sql, sizeof(sql),
             "INSERT INTO report_messages (report_id, author, body) SELECT"
             " report_id, 'staff', 'x' FROM case_reports WHERE case_id = %lld",
             b_ids[0]);
    PQclear(PQexec(pg, sql)); /* the case is invisible: inserts nothing */
    PQclear(PQexec(pg, "COMMIT"));
    /* The binding ended with the transaction. */
    CHECK_INT(pg_number(pg, "SELECT count(*) FROM cases"), 0);

    /* Bound to the other unit: its rows, and its message. */
    seen_as(pg, p.b, &all, &other);
    CHECK_INT(all, 2);
    CHECK_INT(other, 2);
    PQclear(PQexec(pg, "BEGIN"));
    pg_bind(pg, p.b);
    CHECK_INT(pg_number(pg, "SELECT count(*) FROM report_messages"), 1);
    PQclear(PQexec(pg, "COMMIT"));

    /* A binding cannot be forged: the stored hash of a token, an unknown
     * token, and the tokens of an operator and an administrator of the
     * unit (who read no case content) all see nothing. */
    char hash[80];
    CHECK_INT(e2e_sql(e, false,
                      "SELECT encode(t.sha256, 'hex') FROM tokens t JOIN"
                      " staff s ON s.id = t.staff_id WHERE s.name = '承办人甲'",
                      hash, sizeof(hash)),
              0);
    const char *forged[] = {hash, "tipd_0000", p.op, p.admin};
    for (int i = 0; i < 4; i++) {
        seen_as(pg, forged[i], &all, &other);
        CHECK_INT(all, 0);
    }
    PQfinish(pg);

    /* Nothing of that reached the chain's integrity. */
    static const char *const verify[] = {"audit", "verify", NULL};
    char out[2048];
    CHECK_INT(e2e_run(e, verify, 30000, out, sizeof(out)), 0);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_casework_database_wall(void)
{
    struct e2e e;
    if (e2e_init(&e, "casework_database_wall") == 0)
        database_wall(&e);
    e2e_cleanup(&e);
}

/* --- group commit ------------------------------------------------------------
 */

/* Actions that arrive together share a transaction; one that fails takes
 * nobody down with it: its group is run again one action at a time, and
 * only it fails (500), with nothing of it written. */
static void failed_group_splits(struct e2e *e)
{
    enum { N = 12 };
    struct people p;
    struct e2e_reply r;
    if (setup_with(e, &p, one_worker) != 0) {
        CHECK(!"setup");
        return;
    }
    CHECK_INT(make_cases(e, "410105", N), 0);
    long long ids[N];
    char tokens[N][40];
    CHECK_INT(call(e, "POST", "/api/v1/staff/queues/default/claim", p.a,
                   "{\"max\":12}", &r),
              200);
    CHECK_INT(claimed(&r, ids, tokens, N), N);
    e2e_reply_free(&r);
    /* The last case cannot be changed: its statement fails. */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "CREATE FUNCTION e2e_refuse() RETURNS trigger LANGUAGE plpgsql"
             " AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;"
             " CREATE TRIGGER e2e_refuse BEFORE UPDATE ON cases FOR EACH ROW"
             " WHEN (OLD.id = %lld) EXECUTE FUNCTION e2e_refuse()",
             ids[N - 1]);
    CHECK_INT(e2e_sql(e, false, sql, NULL, 0), 0);
    long long split_before = e2e_metric(e, "tipd_staff_groups_split_total");

    /* All N dispositions at once, the failing one last. */
    int fds[N];
    for (int i = 0; i < N; i++) {
        char path[128], json[256];
        snprintf(path, sizeof(path), "/api/v1/staff/cases/%lld/disposition",
                 ids[i]);
        snprintf(json, sizeof(json),
                 "{\"lease_token\":\"%s\",\"disposition\":\"hold\","
                 "\"note\":\"暂存\"}",
                 tokens[i]);
        fds[i] = send_post(e, path, p.a, json);
        CHECK(fds[i] >= 0);
    }
    for (int i = 0; i < N; i++) {
        if (fds[i] < 0)
            continue;
        e2e_reply_init(&r);
        e2e_read(fds[i], &r, 1, 10000);
        CHECK_INT(r.count, 1);
        if (r.count == 1)
            CHECK_INT(r.r[0].status, i == N - 1 ? 500 : 200);
        e2e_reply_free(&r);
        close(fds[i]);
    }
    CHECK(e2e_metric(e, "tipd_staff_groups_split_total") > split_before);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FILTER (WHERE status = 'held') || ',' ||"
             " count(*) FILTER (WHERE status = 'leased' AND id = %lld)"
             " FROM cases",
             ids[N - 1]);
    char v[64];
    CHECK_INT(e2e_sql(e, false, sql, v, sizeof(v)), 0);
    CHECK_STR(v, "11,1");
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM audit_log WHERE action ="
                            " 'disposition'"),
              N - 1);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_casework_failed_group_splits(void)
{
    struct e2e e;
    if (e2e_init(&e, "casework_failed_group_splits") == 0)
        failed_group_splits(&e);
    e2e_cleanup(&e);
}

/* Claims on one queue that arrive together run as one statement (fewer
 * statements than claims), and still deal each claimer exactly what it
 * asked for, with no case leased twice. */
static void claims_merge(struct e2e *e)
{
    enum { N = 12 };
    struct people p;
    struct e2e_reply r;
    char out[2048];
    if (setup_with(e, &p, one_worker) != 0) {
        CHECK(!"setup");
        return;
    }
    CHECK_INT(make_cases(e, "410105", 100), 0);
    long long actions0 = e2e_metric(e, "tipd_staff_actions_total");
    long long statements0 = e2e_metric(e, "tipd_staff_statements_total");

    /* Claimer i asks for i + 1 cases: 78 in all; two staff members. */
    int fds[N];
    for (int i = 0; i < N; i++) {
        char json[64];
        snprintf(json, sizeof(json), "{\"max\":%d}", i + 1);
        fds[i] = send_post(e, "/api/v1/staff/queues/default/claim",
                           i % 2 ? p.a2 : p.a, json);
        CHECK(fds[i] >= 0);
    }
    int total = 0;
    for (int i = 0; i < N; i++) {
        if (fds[i] < 0)
            continue;
        e2e_reply_init(&r);
        e2e_read(fds[i], &r, 1, 10000);
        CHECK_INT(r.count, 1);
        if (r.count == 1 && r.r[0].status == 200) {
            long long ids[N + 1];
            char tokens[N + 1][40];
            int got = claimed(&r, ids, tokens, N + 1);
            CHECK_INT(got, i + 1);
            total += got;
        } else {
            CHECK(!"claim answered 200");
        }
        e2e_reply_free(&r);
        close(fds[i]);
    }
    CHECK_INT(total, 78);
    CHECK_INT(
        e2e_number(e, "SELECT count(*) FROM cases WHERE status = 'leased'"),
        78);
    CHECK_INT(e2e_number(e, "SELECT count(*) - count(DISTINCT case_id) FROM"
                            " audit_log WHERE action = 'claim'"),
              0);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM audit_log a JOIN cases c ON"
                            " c.id = a.case_id WHERE a.action = 'claim' AND"
                            " a.staff_id = c.lease_staff_id"),
              78);
    long long actions = e2e_metric(e, "tipd_staff_actions_total") - actions0;
    long long statements =
        e2e_metric(e, "tipd_staff_statements_total") - statements0;
    CHECK_INT(actions, N);
    CHECK(statements < actions);
    static const char *const verify[] = {"audit", "verify", NULL};
    CHECK_INT(e2e_run(e, verify, 30000, out, sizeof(out)), 0);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_casework_claims_merge(void)
{
    struct e2e e;
    if (e2e_init(&e, "casework_claims_merge") == 0)
        claims_merge(&e);
    e2e_cleanup(&e);
}
