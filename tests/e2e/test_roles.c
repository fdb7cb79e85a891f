/*
 * e2e roles: the least-privilege split of migrations/0008_app_role.sql and
 * deploy/roles.sql. The harness serves every e2e test as tipd_app (the
 * owner only migrates and administers), so the whole e2e suite shows that
 * the app role can do its work; this test shows what it cannot do, that a
 * report still goes from intake through triage to a staff member's claim
 * and the reporter's follow-up, and what `tipd serve` says about the role
 * it connects as.
 */
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"

#define RULES TIPD_SOURCE_DIR "/deploy/rules.json"
#define HOLIDAYS TIPD_SOURCE_DIR "/deploy/holidays.txt"

/* POSTs body to path with extra header lines (may be ""); the status (0
 * if none), and the first response's body into out (cap bytes). */
static int post(const struct e2e *e, const char *path, const char *headers,
                const char *body, char *out, size_t cap)
{
    char req[4096];
    int len = snprintf(req, sizeof(req),
                       "POST %s HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n"
                       "Content-Type: application/json\r\n"
                       "Content-Length: %zu\r\n%s\r\n%s",
                       path, strlen(body), headers, body);
    struct e2e_reply r;
    e2e_reply_init(&r);
    int rc = e2e_exchange(e, req, (size_t)len, 1, 10000, &r);
    int status = rc == 0 && r.count >= 1 ? r.r[0].status : 0;
    if (out != NULL) {
        size_t n = 0;
        if (status != 0 && r.r[0].body_len < cap)
            n = r.r[0].body_len;
        if (n > 0)
            memcpy(out, r.r[0].body, n);
        out[n] = '\0';
    }
    e2e_reply_free(&r);
    return status;
}

/* Whether sql fails with sqlstate. */
static bool refused(PGconn *pg, const char *sql, const char *sqlstate)
{
    PGresult *r = PQexec(pg, sql);
    const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    bool ok = PQresultStatus(r) == PGRES_FATAL_ERROR && code != NULL &&
              strcmp(code, sqlstate) == 0;
    if (!ok)
        fprintf(stderr, "as tipd_app, %s: expected SQLSTATE %s, got %s (%s)\n",
                sql, sqlstate, code ? code : "none", PQerrorMessage(pg));
    PQclear(r);
    return ok;
}

static bool allowed(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK ||
              PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "as tipd_app, %s: %s", sql, PQerrorMessage(pg));
    PQclear(r);
    return ok;
}

/* The log of the current run into out (cap bytes, NUL-terminated). */
static void read_log(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

/*
 * `tipd serve --set database=CONNINFO` on a free port, run until it exits
 * or for ms. The harness puts its own database after a command's
 * arguments, so this spawns tipd itself. Exit code, or -1 if it was still
 * running (then stopped); its log into log_path.
 */
static int serve_as(struct e2e *e, const char *conninfo, int ms,
                    const char *log_path)
{
    char db[1100], port[32];
    snprintf(db, sizeof(db), "database=%s", conninfo);
    snprintf(port, sizeof(port), "listen_port=%d", e2e_free_port());
    char *const argv[] = {
        TIPD_BIN, "serve", "--set",     db,      "--set",
        port,     "--set", "workers=1", "--set", "triage_enabled=0",
        NULL};
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -2;
    setenv("TIPD_RECEIPT_KEY", E2E_RECEIPT_KEY, 1);
    pid_t pid = e2e_spawn_logged(TIPD_BIN, argv, NULL, fd);
    close(fd);
    if (pid < 0)
        return -2;
    uint64_t end = e2e_now_ms() + (uint64_t)ms;
    int status = 0;
    while (e2e_now_ms() < end) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        e2e_sleep_ms(50);
    }
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
    return -1;
}

static void app_role(struct e2e *e)
{
    static const char *const sets[] = {"rules_file=" RULES,
                                       "holidays_file=" HOLIDAYS, NULL};
    CHECK_INT(e2e_migrate(e), 0);
    static const char *const import[] = {"units", "import", RULES, NULL};
    CHECK_INT(e2e_run(e, import, 20000, NULL, 0), 0);
    char staff[128];
    CHECK_INT(e2e_token(e, "410105", "staff", "承办人甲", staff, sizeof(staff)),
              0);
    CHECK_INT(e2e_start(e, sets), 0);

    /* Served as tipd_app: no warning about the owner in the log. */
    char log[65536];
    read_log(e->log, log, sizeof(log));
    CHECK(strstr(log, "database_role") == NULL);

    /* A report through intake, triage into 410105's queue, a staff claim
     * (as tipd_staff), a reply, and the reporter's follow-up. */
    char body[4096];
    CHECK_INT(post(e, "/api/v1/reports", "Idempotency-Key: roles-1\r\n",
                   "{\"content\":\"某县水利局局长张三收受贿赂5万元\","
                   "\"region\":\"410105\",\"accused\":{\"name\":\"张三\","
                   "\"rank\":\"正科级\"}}",
                   body, sizeof(body)),
              201);
    char receipt[64] = "";
    const char *p = strstr(body, "\"receipt\":\"");
    CHECK(p != NULL);
    if (p == NULL)
        return;
    snprintf(receipt, sizeof(receipt), "%.23s", p + 11);
    CHECK_INT(e2e_wait_number(e, "SELECT count(*) FROM case_reports", 1, 20000),
              1);
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", staff);
    CHECK_INT(post(e, "/api/v1/staff/queues/default/claim", auth, "{\"max\":1}",
                   body, sizeof(body)),
              200);
    CHECK(strstr(body, "\"lease_token\"") != NULL);
    char status_body[128];
    snprintf(status_body, sizeof(status_body),
             "{\"receipt\":\"%s\",\"message\":\"补充：时间是去年三月\"}",
             receipt);
    CHECK_INT(
        post(e, "/api/v1/status/messages", "", status_body, body, sizeof(body)),
        201);
    snprintf(status_body, sizeof(status_body), "{\"receipt\":\"%s\"}", receipt);
    CHECK_INT(post(e, "/api/v1/status", "", status_body, body, sizeof(body)),
              200);
    CHECK(strstr(body, "补充：时间是去年三月") != NULL);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);

    /* What tipd_app cannot do, on its own connection. */
    PGconn *pg = PQconnectdb(e->app_conninfo);
    CHECK_INT(PQstatus(pg), CONNECTION_OK);
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "as tipd_app: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return;
    }
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    /* DDL, and the row-level security walls. */
    CHECK(refused(pg, "DROP TABLE reports", "42501"));
    CHECK(refused(pg, "ALTER TABLE reports ADD COLUMN x int", "42501"));
    CHECK(
        refused(pg, "ALTER TABLE cases NO FORCE ROW LEVEL SECURITY", "42501"));
    CHECK(refused(pg, "DROP POLICY app_all ON cases", "42501"));
    CHECK(refused(pg, "CREATE TABLE mine (x int)", "42501"));
    CHECK(refused(pg, "TRUNCATE reports", "42501"));
    CHECK(refused(pg, "SET ROLE tipd", "42501"));
    /* Reports, their keys and files stay append-only. */
    CHECK(refused(pg, "UPDATE reports SET content = 'x'", "42501"));
    CHECK(refused(pg, "DELETE FROM reports", "42501"));
    CHECK(refused(pg, "DELETE FROM idempotency_keys", "42501"));
    CHECK(refused(pg, "SELECT count(*) FROM attachments", "42501"));
    CHECK(refused(pg, "DELETE FROM report_triage", "42501"));
    /* The audit log and the staff's credentials are not its business. */
    CHECK(refused(pg, "SELECT count(*) FROM audit_log", "42501"));
    CHECK(refused(pg,
                  "SELECT audit_append(NULL, '410105', NULL, 'x', NULL, "
                  "'{}')",
                  "42501"));
    CHECK(refused(pg, "SELECT id FROM tokens", "42501"));
    CHECK(refused(pg, "UPDATE tokens SET revoked_at = NULL", "42501"));
    CHECK(refused(pg,
                  "INSERT INTO staff (unit_id, name, role) VALUES "
                  "('410105', 'x', 'admin')",
                  "42501"));
    CHECK(refused(pg, "SELECT * FROM tipd_whoami('x')", "42501"));
    /* What it does need, it has: every row of the walled tables. */
    CHECK(allowed(pg, "SELECT sha256 FROM tokens WHERE revoked_at IS NULL"));
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM cases"), 1);
    PGresult *r = PQexec(pg, "SELECT count(*) FROM cases");
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK &&
          strcmp(PQgetvalue(r, 0, 0), "1") == 0);
    PQclear(r);
    PQfinish(pg);

    /* tipd serve as a role that is neither: refused, naming tipd_app. */
    char path[400];
    snprintf(path, sizeof(path), "%s/serve-as-staff.log", e->dir);
    char staff_conninfo[1100];
    snprintf(staff_conninfo, sizeof(staff_conninfo), "%s user=tipd_staff",
             e->conninfo);
    int rc = serve_as(e, staff_conninfo, 15000, path);
    read_log(path, log, sizeof(log));
    if (rc != 1 || strstr(log, "tipd_app") == NULL)
        test_failf(__FILE__, __LINE__,
                   "serving as tipd_staff: want exit 1 naming tipd_app, got "
                   "%d:\n%s",
                   rc, log);
    CHECK(strstr(log, "listening") == NULL);

    /* As the owner: it serves, with a warning that says what to change. */
    snprintf(path, sizeof(path), "%s/serve-as-owner.log", e->dir);
    rc = serve_as(e, e->conninfo, 3000, path);
    read_log(path, log, sizeof(log));
    if (rc != -1 || strstr(log, "database_role") == NULL ||
        strstr(log, "owner_database") == NULL ||
        strstr(log, "listening") == NULL)
        test_failf(__FILE__, __LINE__,
                   "serving as the owner: want it running with a "
                   "database_role warning naming owner_database, got %d:\n%s",
                   rc, log);
}

void test_app_role_least_privilege(void)
{
    struct e2e e;
    if (e2e_init(&e, "app_role_least_privilege") == 0)
        app_role(&e);
    e2e_cleanup(&e);
}
