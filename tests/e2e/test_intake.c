/*
 * e2e intake: reports through a real tipd into a real PostgreSQL: the JSON
 * API, receipts, idempotency, validation that leaves nothing behind, status
 * and reporter messages, staff intake with tokens, rate limits and the
 * database going away.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"

#define REPORT                                                                             \
    "{\"channel\":\"web\",\"content\":\"金水区某局局长张三收受贿赂5万元\"," \
    "\"region\":\"410105\",\"accused\":{\"name\":\"张三\",\"rank\":"                     \
    "\"正科级\"}}"

/* POSTs body to path with extra header lines (may be ""), on its own
 * connection; returns the status (0 if none) and keeps the reply. */
static int post(const struct e2e *e, const char *path, const char *type,
                const char *headers, const char *body, struct e2e_reply *r)
{
    size_t n = strlen(body);
    size_t cap = n + 1024;
    char *req = malloc(cap);
    int len = snprintf(req, cap,
                       "POST %s HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n"
                       "Content-Type: %s\r\nContent-Length: %zu\r\n%s\r\n%s",
                       path, type, n, headers, body);
    e2e_reply_init(r);
    int rc = e2e_exchange(e, req, (size_t)len, 1, 10000, r);
    free(req);
    return rc == 0 && r->count >= 1 ? r->r[0].status : 0;
}

/* Copies the string member name of a JSON body into out. */
static int json_member(const struct http_client_response *r, const char *name,
                       char *out, size_t cap)
{
    cJSON *root = cJSON_ParseWithLength(r->body, r->body_len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    int ok = cJSON_IsString(v);
    if (ok)
        snprintf(out, cap, "%s", v->valuestring);
    cJSON_Delete(root);
    return ok;
}

static void web_json(struct e2e *e)
{
    static const char *const sets[] = {"rate_limit_per_minute=0", NULL};
    struct e2e_reply r;
    char receipt[64], again[64], id[32], why[256], sql[256];
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);

    /* A report: 201 with a receipt, and its row. */
    CHECK_INT(post(e, "/api/v1/reports", "application/json", "", REPORT, &r),
              201);
    CHECK(json_member(&r.r[0], "receipt", receipt, sizeof(receipt)));
    CHECK(json_member(&r.r[0], "report_id", id, sizeof(id)));
    CHECK_INT(strlen(receipt), 23);
    e2e_reply_free(&r);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM reports WHERE id = %s AND region = "
             "'410105' AND accused_name = '张三' AND channel = 'web'",
             id);
    CHECK_INT(e2e_number(e, sql), 1);
    /* The code itself is nowhere in the database. */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM reports r WHERE r::text LIKE '%%%s%%'",
             receipt);
    CHECK_INT(e2e_number(e, sql), 0);

    /* Idempotency: a retry gets the first answer; another body, 409. */
    const char *key = "Idempotency-Key: e2e-key-1\r\n";
    CHECK_INT(post(e, "/api/v1/reports", "application/json", key, REPORT, &r),
              201);
    CHECK(json_member(&r.r[0], "receipt", receipt, sizeof(receipt)));
    e2e_reply_free(&r);
    CHECK_INT(post(e, "/api/v1/reports", "application/json", key, REPORT, &r),
              201);
    CHECK(json_member(&r.r[0], "receipt", again, sizeof(again)));
    CHECK(e2e_header_is(&r.r[0], "Idempotent-Replayed", "true"));
    CHECK_STR(receipt, again);
    e2e_reply_free(&r);
    CHECK_INT(post(e, "/api/v1/reports", "application/json", key,
                   "{\"content\":\"另一件事\"}", &r),
              409);
    CHECK(e2e_json_error(&r.r[0], why, sizeof(why)));
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 2);

    /* Bad reports: the status, the field named, and nothing stored. */
    static const struct {
        const char *type, *body;
        int status;
        const char *field;
    } bad[] = {
        {"text/plain", REPORT, 415, NULL},
        {"application/json", "{\"content\":", 400, NULL},
        {"application/json", "{}", 422, "content"},
        {"application/json", "{\"content\":\"x\",\"region\":\"41\"}", 422,
         "region"},
        {"application/json", "{\"content\":\"x\",\"accused\":5}", 422,
         "accused"},
        {"application/json", "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]", 400,
         NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int status =
            post(e, "/api/v1/reports", bad[i].type, "", bad[i].body, &r);
        char field[64] = "";
        if (bad[i].field != NULL)
            snprintf(field, sizeof(field), "\"field\":\"%s\"", bad[i].field);
        if (status != bad[i].status ||
            !e2e_json_error(&r.r[0], why, sizeof(why)) ||
            strstr(r.r[0].body, field) == NULL)
            test_failf(__FILE__, __LINE__, "bad report %zu: %d %.*s", i, status,
                       (int)r.r[0].body_len, r.r[0].body);
        e2e_reply_free(&r);
    }
    /* Over the route's body cap: 413 before the body is read. */
    static char big[140000];
    memset(big, 'x', sizeof(big) - 1);
    CHECK_INT(post(e, "/api/v1/reports", "application/json", "", big, &r), 413);
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 2);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM idempotency_keys"), 1);
    CHECK(e2e_metric(e, "tipd_intake_reports_stored_total") >= 2);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_intake_web_json(void)
{
    struct e2e e;
    if (e2e_init(&e, "intake_web_json") == 0)
        web_json(&e);
    e2e_cleanup(&e);
}

static void status_messages(struct e2e *e)
{
    static const char *const sets[] = {"rate_limit_per_minute=0", NULL};
    struct e2e_reply r;
    char receipt[64], body[256];
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);
    CHECK_INT(post(e, "/api/v1/reports", "application/json", "", REPORT, &r),
              201);
    CHECK(json_member(&r.r[0], "receipt", receipt, sizeof(receipt)));
    e2e_reply_free(&r);

    snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", receipt);
    CHECK_INT(post(e, "/api/v1/status", "application/json", "", body, &r), 200);
    CHECK(strstr(r.r[0].body, "\"state\" : \"received\"") != NULL);
    CHECK(strstr(r.r[0].body, "\"messages\" : []") != NULL);
    e2e_reply_free(&r);

    /* Typed loosely (lower case, spaces for dashes): still the same code. */
    char loose[64];
    size_t n = 0;
    for (const char *p = receipt; *p; p++)
        loose[n++] = *p == '-' ? ' ' : (char)(*p | 0x20);
    loose[n] = '\0';
    snprintf(body, sizeof(body),
             "{\"receipt\":\"%s\",\"message\":\"补充：时间是三月\"}", loose);
    CHECK_INT(
        post(e, "/api/v1/status/messages", "application/json", "", body, &r),
        201);
    e2e_reply_free(&r);
    snprintf(body, sizeof(body), "{\"receipt\":\"%s\"}", receipt);
    CHECK_INT(post(e, "/api/v1/status", "application/json", "", body, &r), 200);
    CHECK(strstr(r.r[0].body, "补充：时间是三月") != NULL);
    CHECK(strstr(r.r[0].body, "\"from\" : \"reporter\"") != NULL);
    e2e_reply_free(&r);

    /* Unknown and malformed codes: the same 404. */
    static const char *const unknown[] = {
        "{\"receipt\":\"00000-00000-00000-00000\"}", "{\"receipt\":\"nope\"}"};
    for (int i = 0; i < 2; i++) {
        CHECK_INT(
            post(e, "/api/v1/status", "application/json", "", unknown[i], &r),
            404);
        e2e_reply_free(&r);
    }
    snprintf(body, sizeof(body),
             "{\"receipt\":\"00000-00000-00000-00000\",\"message\":\"x\"}");
    CHECK_INT(
        post(e, "/api/v1/status/messages", "application/json", "", body, &r),
        404);
    e2e_reply_free(&r);
    /* A message with \u0000 is refused (cJSON would cut it there), and
     * nothing is added. */
    snprintf(body, sizeof(body),
             "{\"receipt\":\"%s\",\"message\":\"前\\u0000后\"}", receipt);
    CHECK_INT(
        post(e, "/api/v1/status/messages", "application/json", "", body, &r),
        422);
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM report_messages"), 1);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_intake_status_and_messages(void)
{
    struct e2e e;
    if (e2e_init(&e, "intake_status_and_messages") == 0)
        status_messages(&e);
    e2e_cleanup(&e);
}

static void staff(struct e2e *e)
{
    struct e2e_reply r;
    char operator[128], admin[128], auth[200], receipt[64], again[64];
    CHECK_INT(e2e_migrate(e), 0);
    static const char *const import[] = {
        "units", "import", TIPD_SOURCE_DIR "/deploy/rules.json", NULL};
    char out[2048];
    CHECK_INT(e2e_run(e, import, 30000, out, sizeof(out)), 0);
    CHECK_INT(e2e_token(e, "410105", "operator", "热线员", operator,
                        sizeof(operator)),
              0);
    CHECK_INT(e2e_token(e, "410105", "admin", "管理员", admin, sizeof(admin)),
              0);
    CHECK_INT(e2e_start(e, NULL), 0);

    static const char call[] =
        "{\"channel\":\"phone\",\"content\":\"来电反映：某局长收受贿赂\","
        "\"external_id\":\"call-1\",\"received_at\":"
        "\"2026-11-20T09:30:00+08:00\"}";
    CHECK_INT(post(e, "/api/v1/staff/intake", "application/json", "", call, &r),
              401);
    e2e_reply_free(&r);
    CHECK_INT(post(e, "/api/v1/staff/intake", "application/json",
                   "Authorization: Bearer tipd_forged\r\n", call, &r),
              401);
    e2e_reply_free(&r);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", admin);
    CHECK_INT(
        post(e, "/api/v1/staff/intake", "application/json", auth, call, &r),
        403);
    e2e_reply_free(&r);

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", operator);
    CHECK_INT(
        post(e, "/api/v1/staff/intake", "application/json", auth, call, &r),
        201);
    CHECK(json_member(&r.r[0], "receipt", receipt, sizeof(receipt)));
    e2e_reply_free(&r);
    CHECK_INT(
        post(e, "/api/v1/staff/intake", "application/json", auth, call, &r),
        201);
    CHECK(json_member(&r.r[0], "receipt", again, sizeof(again)));
    CHECK_STR(receipt, again);
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e,
                         "SELECT count(*) FROM reports WHERE channel = 'phone' "
                         "AND external_id = 'call-1' AND received_at = "
                         "'2026-11-20T01:30:00Z'"),
              1);

    /* A batch of letters: good lines stored, bad ones named by line. */
    static const char lines[] =
        "{\"channel\":\"letter\",\"content\":\"来信一\",\"external_id\":"
        "\"L-1\"}\n"
        "\n"
        "{\"channel\":\"letter\",\"content\":\"\",\"external_id\":\"L-2\"}\n"
        "not json\n"
        "{\"channel\":\"visit\",\"content\":\"来访\",\"external_id\":\"V-1\"}"
        "\n";
    CHECK_INT(post(e, "/api/v1/staff/intake/batch", "application/x-ndjson",
                   auth, lines, &r),
              200);
    CHECK(strstr(r.r[0].body, "{\"line\":1,\"status\":201,") != NULL);
    CHECK(strstr(r.r[0].body, "{\"line\":3,\"status\":422,") != NULL);
    CHECK(strstr(r.r[0].body, "\"field\":\"content\"") != NULL);
    CHECK(strstr(r.r[0].body, "{\"line\":4,\"status\":400,") != NULL);
    CHECK(strstr(r.r[0].body, "{\"line\":5,\"status\":201,") != NULL);
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE external_id IN "
                            "('L-1', 'V-1')"),
              2);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE external_id = "
                            "'L-2'"),
              0);

    /* Tokens are stored hashed; a revoked token stops at once. */
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM tokens t, staff s WHERE "
                            "s.id = t.staff_id AND position(encode(t.sha256, "
                            "'hex') in s.name) = 0"),
              2);
    static const char *const revoke[] = {"token", "revoke", "1", NULL};
    int port = e->port; /* e2e_run picks a port of its own */
    CHECK_INT(e2e_run(e, revoke, 30000, out, sizeof(out)), 0);
    e->port = port;
    CHECK_INT(
        post(e, "/api/v1/staff/intake", "application/json", auth, call, &r),
        401);
    e2e_reply_free(&r);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_intake_staff_tokens(void)
{
    struct e2e e;
    if (e2e_init(&e, "intake_staff_tokens") == 0)
        staff(&e);
    e2e_cleanup(&e);
}

static void limits(struct e2e *e)
{
    static const char *const sets[] = {"rate_limit_per_minute=6",
                                       "rate_limit_burst=2", "workers=1", NULL};
    struct e2e_reply r;
    char v[32];
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);
    CHECK_INT(post(e, "/api/v1/reports", "application/json", "", REPORT, &r),
              201);
    e2e_reply_free(&r);
    CHECK_INT(post(e, "/api/v1/reports", "application/json", "", REPORT, &r),
              201);
    e2e_reply_free(&r);
    CHECK_INT(post(e, "/api/v1/reports", "application/json", "", REPORT, &r),
              429);
    CHECK(http_client_header(&r.r[0], "Retry-After", v, sizeof(v)));
    CHECK_STR(v, "10");
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 2);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_intake_rate_limit(void)
{
    struct e2e e;
    if (e2e_init(&e, "intake_rate_limit") == 0)
        limits(&e);
    e2e_cleanup(&e);
}

static void database_down(struct e2e *e)
{
    static const char *const sets[] = {"rate_limit_per_minute=0",
                                       "db_reconnect_max_ms=200", NULL};
    struct e2e_reply r;
    char v[32];
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);
    CHECK_INT(e2e_db_block(e), 0);
    /* Every answer while the database is away is 503 with Retry-After,
     * never a 201; once readiness notices, the body is not even read. */
    int seen503 = 0;
    uint64_t t0 = e2e_now_ms();
    while (seen503 < 3 && e2e_now_ms() - t0 < 10000) {
        int status =
            post(e, "/api/v1/reports", "application/json", "", REPORT, &r);
        CHECK(status == 503 || status == 0);
        if (status == 503) {
            CHECK(http_client_header(&r.r[0], "Retry-After", v, sizeof(v)));
            seen503++;
        }
        e2e_reply_free(&r);
    }
    CHECK_INT(seen503, 3);
    CHECK_INT(e2e_db_unblock(e), 0);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 0);
    /* Back: 201 again within 10 s, by itself. */
    t0 = e2e_now_ms();
    int status = 0;
    while (status != 201 && e2e_now_ms() - t0 < 10000) {
        status = post(e, "/api/v1/reports", "application/json", "", REPORT, &r);
        e2e_reply_free(&r);
    }
    CHECK_INT(status, 201);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 1);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_intake_database_down(void)
{
    struct e2e e;
    if (e2e_init(&e, "intake_database_down") == 0)
        database_down(&e);
    e2e_cleanup(&e);
}

/* Builds a multipart body with content and one file of n bytes. */
static size_t multipart(char *out, size_t cap, const char *content,
                        const unsigned char *file, size_t n)
{
    size_t len = (size_t)snprintf(
        out, cap,
        "--XyZ\r\nContent-Disposition: form-data; name=\"idempotency_key\""
        "\r\n\r\nform-1\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\n"
        "%s\r\n--XyZ\r\nContent-Disposition: form-data; name=\"region\""
        "\r\n\r\n410105\r\n--XyZ\r\nContent-Disposition: form-data; "
        "name=\"attachment\"; filename=\"证据.bin\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n",
        content);
    memcpy(out + len, file, n);
    len += n;
    len += (size_t)snprintf(out + len, cap - len, "\r\n--XyZ--\r\n");
    return len;
}

static void web_form(struct e2e *e)
{
    static const char *const sets[] = {"rate_limit_per_minute=0",
                                       "form_max_file_bytes=4096", NULL};
    struct e2e_reply r;
    char v[512];
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);

    /* The form page: its fields, and the headers of E4; no cookie. */
    e2e_reply_init(&r);
    CHECK_INT(e2e_get(e, "/", &r), 200);
    CHECK(strstr(r.r[0].body, "name=\"content\"") != NULL);
    CHECK(strstr(r.r[0].body, "name=\"accused_name\"") != NULL);
    CHECK(strstr(r.r[0].body, "enctype=\"multipart/form-data\"") != NULL);
    CHECK(e2e_header_is(&r.r[0], "Cache-Control", "no-store"));
    CHECK(e2e_header_is(&r.r[0], "Referrer-Policy", "no-referrer"));
    CHECK(e2e_header_is(&r.r[0], "X-Content-Type-Options", "nosniff"));
    CHECK(e2e_header_is(&r.r[0], "X-Frame-Options", "DENY"));
    CHECK(http_client_header(&r.r[0], "Content-Security-Policy", v, sizeof(v)));
    CHECK(strstr(v, "default-src 'none'") != NULL);
    CHECK(!http_client_header(&r.r[0], "Set-Cookie", v, sizeof(v)));
    CHECK(e2e_header_is(&r.r[0], "Server", "tipd"));
    e2e_reply_free(&r);

    /* Multipart with a binary file: the receipt page, and the file's exact
     * bytes stored with the report. */
    unsigned char file[600];
    for (size_t i = 0; i < sizeof(file); i++)
        file[i] = (unsigned char)(i * 7);
    static char body[8192];
    size_t n = multipart(body, sizeof(body), "网页表单举报 <b>粗体</b>", file,
                         sizeof(file));
    char req[9000];
    int len = snprintf(req, sizeof(req),
                       "POST /report HTTP/1.1\r\nHost: e2e\r\nConnection: "
                       "close\r\nContent-Type: multipart/form-data; "
                       "boundary=XyZ\r\nContent-Length: %zu\r\n\r\n",
                       n);
    memcpy(req + len, body, n);
    e2e_reply_init(&r);
    CHECK_INT(e2e_exchange(e, req, (size_t)len + n, 1, 10000, &r), 0);
    CHECK_INT(r.r[0].status, 201);
    CHECK(strstr(r.r[0].body, "class=\"code\"") != NULL);
    CHECK(strstr(r.r[0].body, "<b>") == NULL); /* content not echoed */
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e,
                         "SELECT count(*) FROM attachments a JOIN reports r ON "
                         "r.id = a.report_id WHERE a.filename = '证据.bin' AND "
                         "length(a.data) = 600 AND get_byte(a.data, 599) = "
                         "(599 * 7) % 256 AND r.content = '网页表单举报 "
                         "<b>粗体</b>'"),
              1);
    /* The same form sent again (another boundary): the same report. */
    CHECK_INT(e2e_exchange(e, req, (size_t)len + n, 1, 10000, &r), 0);
    CHECK_INT(r.r[0].status, 201);
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 1);

    /* Urlencoded, no file. */
    CHECK_INT(post(e, "/report", "application/x-www-form-urlencoded", "",
                   "content=%E4%B8%BE%E6%8A%A5&accused_name=%E7%8E%8B%E4%BA%94",
                   &r),
              201);
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE accused_name = "
                            "'王五'"),
              1);

    /* Refused forms: an HTML page naming the field; nothing stored. */
    CHECK_INT(post(e, "/report", "application/x-www-form-urlencoded", "",
                   "content=x&region=<script>", &r),
              422);
    CHECK(strstr(r.r[0].body, "region") != NULL);
    CHECK(strstr(r.r[0].body, "<script>") == NULL);
    e2e_reply_free(&r);
    unsigned char big[5000] = {0};
    n = multipart(body, sizeof(body), "x", big, sizeof(big));
    len = snprintf(req, sizeof(req),
                   "POST /report HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n"
                   "Content-Type: multipart/form-data; boundary=XyZ\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   n);
    memcpy(req + len, body, n);
    CHECK_INT(e2e_exchange(e, req, (size_t)len + n, 1, 10000, &r), 0);
    CHECK_INT(r.r[0].status, 413);
    e2e_reply_free(&r);

    /* An upload cut off midway: nothing of it is stored (E6). */
    int fd = e2e_connect(e);
    CHECK(fd >= 0);
    len = snprintf(req, sizeof(req),
                   "POST /report HTTP/1.1\r\nHost: e2e\r\nContent-Type: "
                   "multipart/form-data; boundary=XyZ\r\nContent-Length: "
                   "9999\r\n\r\n--XyZ\r\nContent-Disposition: form-data; "
                   "name=\"content\"\r\n\r\n中途断开的上传");
    CHECK_INT(e2e_send(fd, req, (size_t)len), 0);
    close(fd);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE content LIKE "
                            "'%中途断开%'"),
              0);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 2);
}

void test_intake_web_form(void)
{
    struct e2e e;
    if (e2e_init(&e, "intake_web_form") == 0)
        web_form(&e);
    e2e_cleanup(&e);
}

/* A batch whose transaction fails (here: a trigger refuses one report)
 * is answered 503 and leaves nothing; the session is clean at once for the
 * next batch, not only after a probe (the probe is held off for a minute
 * here): pipeline mode leaves a failed BEGIN ... COMMIT open and aborted,
 * and the session rolls it back. */
static void failed_batch(struct e2e *e)
{
    static const char *const sets[] = {
        "rate_limit_per_minute=0", "db_probe_interval_ms=60000",
        "db_probe_timeout_ms=30000", "workers=1", NULL};
    struct e2e_reply r;
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_sql(e, false,
                      "CREATE FUNCTION e2e_refuse() RETURNS trigger LANGUAGE"
                      " plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the"
                      " test'; END $$; CREATE TRIGGER e2e_refuse BEFORE INSERT"
                      " ON reports FOR EACH ROW WHEN (NEW.content LIKE"
                      " '%毒丸%') EXECUTE FUNCTION e2e_refuse()",
                      NULL, 0),
              0);
    CHECK_INT(e2e_start(e, sets), 0);
    CHECK_INT(post(e, "/api/v1/reports", "application/json", "",
                   "{\"channel\":\"web\",\"content\":\"毒丸：某局长收受礼金"
                   "二十万元\"}",
                   &r),
              503);
    e2e_reply_free(&r);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(
            post(e, "/api/v1/reports", "application/json", "", REPORT, &r),
            201);
        e2e_reply_free(&r);
    }
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 3);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_intake_failed_batch_leaves_session_clean(void)
{
    struct e2e e;
    if (e2e_init(&e, "intake_failed_batch_leaves_session_clean") == 0)
        failed_batch(&e);
    e2e_cleanup(&e);
}
