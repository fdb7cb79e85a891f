/*
 * e2e lifecycle: migrating, starting, readiness against a database that
 * comes and goes, and stopping under load, each against a real tipd and a
 * real PostgreSQL.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"

/* Migrations shipped in the source tree: migrations/NNNN_name.sql. */
static int count_migration_files(void)
{
    DIR *d = opendir(TIPD_SOURCE_DIR "/migrations");
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > 9 && de->d_name[4] == '_' &&
            strcmp(de->d_name + len - 4, ".sql") == 0 &&
            strspn(de->d_name, "0123456789") == 4)
            n++;
    }
    closedir(d);
    return n;
}

/*
 * Checks that each "CREATE TABLE name" of the migration files exists in the
 * test database (unless a migration drops it); counts them in *n.
 * 0, or -1 after failing the test.
 */
static int check_tables(const struct e2e *e, int *n)
{
    DIR *d = opendir(TIPD_SOURCE_DIR "/migrations");
    if (d == NULL)
        return -1;
    static char sql[1 << 16];
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".sql") != 0)
            continue;
        char path[600];
        snprintf(path, sizeof(path), TIPD_SOURCE_DIR "/migrations/%s",
                 de->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        size_t got = fread(sql, 1, sizeof(sql) - 1, f);
        fclose(f);
        sql[got] = '\0';
        for (const char *p = strstr(sql, "CREATE TABLE "); p != NULL;
             p = strstr(p + 1, "CREATE TABLE ")) {
            const char *name = p + strlen("CREATE TABLE ");
            if (strncmp(name, "IF NOT EXISTS ", 14) == 0)
                name += 14;
            size_t nl = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_");
            char table[64], drop[96], query[160], v[16];
            snprintf(table, sizeof(table), "%.*s", (int)nl, name);
            snprintf(drop, sizeof(drop), "DROP TABLE %s", table);
            if (nl == 0 || strstr(sql, drop) != NULL)
                continue;
            snprintf(query, sizeof(query),
                     "SELECT to_regclass('public.%s') IS NOT NULL", table);
            if (e2e_sql(e, false, query, v, sizeof(v)) != 0 ||
                strcmp(v, "t") != 0) {
                test_failf(__FILE__, __LINE__,
                           "table %s (created in %s) missing after migrate",
                           table, de->d_name);
                rc = -1;
                break;
            }
            (*n)++;
        }
    }
    closedir(d);
    return rc;
}

static void migrate_is_idempotent(struct e2e *e)
{
    static const char *const args[] = {"migrate", NULL};
    char out[4096], v[256];
    int files = count_migration_files();
    CHECK(files >= 1);

    CHECK_INT(e2e_run(e, args, 30000, out, sizeof(out)), 0);
    char want[64];
    snprintf(want, sizeof(want), "applied=%d ", files);
    if (strstr(out, want) == NULL) {
        test_failf(__FILE__, __LINE__, "first run should say %s:\n%s", want,
                   out);
        return;
    }
    CHECK_INT(e2e_sql(e, false,
                      "SELECT string_agg(applied_at::text, ',' ORDER BY "
                      "version) FROM schema_migrations",
                      v, sizeof(v)),
              0);
    char first_applied[256];
    snprintf(first_applied, sizeof(first_applied), "%s", v);

    /* Running it again changes nothing and says so. */
    CHECK_INT(e2e_run(e, args, 30000, out, sizeof(out)), 0);
    if (strstr(out, "applied=0 ") == NULL) {
        test_failf(__FILE__, __LINE__, "second run should say applied=0:\n%s",
                   out);
        return;
    }

    /* One row per migration, none applied twice. */
    CHECK_INT(e2e_sql(e, false, "SELECT count(*) FROM schema_migrations", v,
                      sizeof(v)),
              0);
    CHECK_INT(strtol(v, NULL, 10), files);
    CHECK_INT(e2e_sql(e, false,
                      "SELECT count(DISTINCT version) FROM schema_migrations",
                      v, sizeof(v)),
              0);
    CHECK_INT(strtol(v, NULL, 10), files);
    CHECK_INT(e2e_sql(e, false,
                      "SELECT string_agg(applied_at::text, ',' ORDER BY "
                      "version) FROM schema_migrations",
                      v, sizeof(v)),
              0);
    CHECK_STR(v, first_applied);
    CHECK_INT(e2e_sql(e, false,
                      "SELECT count(*) FROM schema_migrations WHERE "
                      "length(sha256) = 64 AND name <> ''",
                      v, sizeof(v)),
              0);
    CHECK_INT(strtol(v, NULL, 10), files);

    /* Every table the migration files create exists. */
    int tables = 0;
    CHECK(check_tables(e, &tables) == 0);
    CHECK(tables >= 1);
}

void test_migrate_is_idempotent(void)
{
    struct e2e e;
    if (e2e_init(&e, "migrate_is_idempotent") == 0)
        migrate_is_idempotent(&e);
    e2e_cleanup(&e);
}

static void serve_refuses_unmigrated_database(struct e2e *e)
{
    static const char *const serve[] = {"serve", NULL};
    char out[4096];

    /* An empty database: exit 1, naming the fix, before listening. */
    int rc = e2e_run(e, serve, 15000, out, sizeof(out));
    if (rc != 1 || strstr(out, "tipd migrate") == NULL) {
        test_failf(__FILE__, __LINE__,
                   "unmigrated: want exit 1 and a message naming `tipd "
                   "migrate`; got exit %d:\n%s",
                   rc, out);
        return;
    }
    CHECK(strstr(out, "listening") == NULL);

    /* Migrated but without a receipt key: refused too, naming the key. */
    CHECK_INT(e2e_migrate(e), 0);
    e->receipt_key = NULL;
    rc = e2e_run(e, serve, 15000, out, sizeof(out));
    e->receipt_key = E2E_RECEIPT_KEY;
    if (rc != 1 || strstr(out, "TIPD_RECEIPT_KEY") == NULL) {
        test_failf(__FILE__, __LINE__,
                   "no receipt key: want exit 1 and a message naming "
                   "TIPD_RECEIPT_KEY; got exit %d:\n%s",
                   rc, out);
        return;
    }

    /* The control: with both, it serves. */
    CHECK_INT(e2e_start(e, NULL), 0);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_serve_refuses_unmigrated_database(void)
{
    struct e2e e;
    if (e2e_init(&e, "serve_refuses_unmigrated_database") == 0)
        serve_refuses_unmigrated_database(&e);
    e2e_cleanup(&e);
}

/* --- readiness follows the database ---------------------------------------
 */

/*
 * Polls fresh connections until `in_a_row` consecutive /readyz answers
 * have status want, checking /healthz stays 200 meanwhile. Returns the
 * milliseconds it took, or -1 (test failed) after timeout_ms.
 */
static long wait_readyz(struct e2e *e, int want, int in_a_row, int timeout_ms)
{
    uint64_t start = e2e_now_ms();
    int streak = 0, last = 0;
    char why[128];
    while (e2e_now_ms() - start < (uint64_t)timeout_ms) {
        struct e2e_reply r;
        e2e_reply_init(&r);
        int health = e2e_get(e, "/healthz", &r);
        e2e_reply_free(&r);
        if (health != 200) {
            test_failf(__FILE__, __LINE__,
                       "/healthz answered %d while waiting for /readyz %d",
                       health, want);
            return -1;
        }
        e2e_reply_init(&r);
        last = e2e_get(e, "/readyz", &r);
        if (last == 503) {
            bool ok = e2e_json_error(&r.r[0], why, sizeof(why));
            bool retry =
                http_client_header(&r.r[0], "Retry-After", why, sizeof(why));
            if (!ok || !retry) {
                char body[256];
                e2e_escape(r.data, r.len, body, sizeof(body));
                test_failf(__FILE__, __LINE__,
                           "/readyz 503 is not a JSON error with "
                           "Retry-After: %s",
                           body);
                e2e_reply_free(&r);
                return -1;
            }
        }
        e2e_reply_free(&r);
        streak = last == want ? streak + 1 : 0;
        if (streak >= in_a_row)
            return (long)(e2e_now_ms() - start);
        e2e_sleep_ms(50);
    }
    test_failf(__FILE__, __LINE__,
               "/readyz did not answer %d %d times in a row within %d ms "
               "(last %d)",
               want, in_a_row, timeout_ms, last);
    return -1;
}

static void readyz_follows_database(struct e2e *e)
{
    static const char *const sets[] = {"workers=2", NULL};
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);
    CHECK(wait_readyz(e, 200, 4, 5000) >= 0);

    /* The database refuses tipd: every worker must notice. Fresh
     * connections land on either worker, so 8 answers in a row. */
    CHECK_INT(e2e_db_block(e), 0);
    long down = wait_readyz(e, 503, 8, 5000);
    CHECK(down >= 0);
    CHECK_INT(e2e_metric(e, "tipd_db_sessions_ready"), 0);

    /* Meanwhile a report is refused before its body is sent: 503 with
     * Retry-After, on either worker, and nothing is stored. */
    static const char report_head[] = "POST /api/v1/reports HTTP/1.1\r\n"
                                      "Host: x\r\n"
                                      "Content-Type: application/json\r\n"
                                      "Content-Length: 23\r\n\r\n";
    static const int c503[] = {503, 0};
    for (int i = 0; i < 4; i++) {
        struct e2e_reply r;
        char why[300];
        e2e_reply_init(&r);
        CHECK_INT(
            e2e_exchange(e, report_head, sizeof(report_head) - 1, 0, 5000, &r),
            0);
        bool ok = e2e_one_error(&r, c503, why, sizeof(why));
        if (ok &&
            !http_client_header(&r.r[0], "Retry-After", why, sizeof(why))) {
            snprintf(why, sizeof(why), "503 without Retry-After");
            ok = false;
        }
        e2e_reply_free(&r);
        if (!ok) {
            test_failf(__FILE__, __LINE__,
                       "report while the database refuses: %s", why);
            return;
        }
    }

    /* Let it back in: ready again within 10 s. */
    CHECK_INT(e2e_db_unblock(e), 0);
    long up = wait_readyz(e, 200, 8, 10000);
    CHECK(up >= 0);
    CHECK_INT(e2e_metric(e, "tipd_db_sessions_ready"), 2);
    char v[32];
    CHECK_INT(e2e_sql(e, false, "SELECT count(*) FROM reports", v, sizeof(v)),
              0);
    CHECK_STR(v, "0");
    printf("readyz: 503 after %ld ms, 200 again after %ld ms\n", down, up);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_readyz_follows_database(void)
{
    struct e2e e;
    if (e2e_init(&e, "readyz_follows_database") == 0)
        readyz_follows_database(&e);
    e2e_cleanup(&e);
}

/* --- SIGTERM under load -----------------------------------------------------
 */

/* Half the loaders ask /healthz (answered at once), half post reports
 * (answered after the group commit: truly in flight for milliseconds). */
#define LOAD_THREADS 6

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One client: keep-alive requests, one at a time, until closed. */
struct loader {
    struct e2e *e;
    pthread_t thread;
    int index;
    bool reports;        /* POST /api/v1/reports, else GET /healthz */
    int sent;            /* requests fully sent */
    atomic_int answered; /* complete responses */
    atomic_int acked;    /* reports answered 201 */
    int refused;         /* reports answered 503 with Retry-After */
    int bad;             /* any other unexpected answer */
    int bad_status;      /* the first such status */
    long long *ids;      /* report_id of every 201; owned */
    int ids_len, ids_cap;
    uint64_t last_sent_ns; /* when the last request was fully sent */
    size_t partial;        /* bytes of an incomplete response at the end */
    bool ended_eof, ended_reset, timed_out, connect_failed;
    char detail[200];
};

static const char load_get[] = "GET /healthz HTTP/1.1\r\nHost: e2e\r\n\r\n";

/* Builds the loader's next request into buf; returns its length. */
static size_t load_request(struct loader *l, char *buf, size_t cap)
{
    if (!l->reports) {
        memcpy(buf, load_get, sizeof(load_get) - 1);
        return sizeof(load_get) - 1;
    }
    char body[96];
    int n = snprintf(body, sizeof(body), "{\"content\":\"load %d-%d\"}",
                     l->index, l->sent);
    return (size_t)snprintf(buf, cap,
                            "POST /api/v1/reports HTTP/1.1\r\nHost: e2e\r\n"
                            "Content-Type: application/json\r\n"
                            "Content-Length: %d\r\n\r\n%s",
                            n, body);
}

/* Judges one answer: 200 for /healthz; 201 with a report_id (kept) or 503
 * with Retry-After for a report. */
static void load_judge(struct loader *l, const struct http_client_response *r)
{
    int s = r->status;
    char v[32];
    if (!l->reports ? s == 200 : s == 201) {
        if (!l->reports)
            return;
        cJSON *root = cJSON_ParseWithLength(r->body, r->body_len);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "report_id");
        if (cJSON_IsString(id)) {
            if (l->ids_len == l->ids_cap) {
                l->ids_cap = l->ids_cap ? 2 * l->ids_cap : 256;
                l->ids = realloc(l->ids, (size_t)l->ids_cap * sizeof(*l->ids));
                if (l->ids == NULL)
                    abort();
            }
            l->ids[l->ids_len++] = strtoll(id->valuestring, NULL, 10);
            l->acked++;
        } else if (l->bad++ == 0) {
            l->bad_status = s;
        }
        cJSON_Delete(root);
        return;
    }
    if (l->reports && s == 503 &&
        http_client_header(r, "Retry-After", v, sizeof(v))) {
        l->refused++;
        return;
    }
    if (l->bad++ == 0)
        l->bad_status = s;
}

static void *load_run(void *arg)
{
    struct loader *l = arg;
    char req[512];
    int fd = e2e_connect(l->e);
    if (fd < 0) {
        l->connect_failed = true;
        return NULL;
    }
    struct e2e_reply r;
    e2e_reply_init(&r);
    for (;;) {
        size_t n = load_request(l, req, sizeof(req));
        if (e2e_send(fd, req, n) != 0)
            break;
        l->last_sent_ns = now_ns();
        l->sent++;
        /* Exactly one answer is due; keep only the bytes after it. */
        r.len = 0;
        r.eof = r.reset = false;
        e2e_read(fd, &r, 1, 10000);
        if (r.count < 1) {
            l->partial = r.len;
            l->ended_eof = r.eof;
            l->ended_reset = r.reset;
            l->timed_out = r.timed_out;
            if (r.len > 0)
                e2e_escape(r.data, r.len, l->detail, sizeof(l->detail));
            break;
        }
        l->answered++;
        load_judge(l, &r.r[0]);
        if (r.rest != 0 || r.count != 1) {
            l->partial = r.len;
            e2e_escape(r.data, r.len, l->detail, sizeof(l->detail));
            break;
        }
        if (e2e_header_is(&r.r[0], "Connection", "close")) {
            r.len = 0;
            e2e_read(fd, &r, 0, 5000);
            l->ended_eof = r.eof;
            l->ended_reset = r.reset;
            l->timed_out = r.timed_out;
            l->partial = r.len;
            break;
        }
    }
    e2e_reply_free(&r);
    close(fd);
    return NULL;
}

/* Judges one loader after the stop; false (test failed) on a broken rule. */
static bool load_check(const struct loader *l, uint64_t kill_ns)
{
    int i = l->index;
    bool last_before = l->last_sent_ns != 0 && l->last_sent_ns < kill_ns;
    if (l->connect_failed)
        test_failf(__FILE__, __LINE__, "loader %d could not connect", i);
    else if (l->bad)
        test_failf(__FILE__, __LINE__,
                   "loader %d (%s): %d unexpected answers, the first %d", i,
                   l->reports ? "reports" : "healthz", l->bad, l->bad_status);
    else if (l->partial)
        test_failf(__FILE__, __LINE__,
                   "loader %d: %zu bytes of a partial answer: %s", i,
                   l->partial, l->detail);
    else if (l->timed_out)
        test_failf(__FILE__, __LINE__,
                   "loader %d: no answer or close in time (sent %d, "
                   "answered %d)",
                   i, l->sent, (int)l->answered);
    else if (l->answered < l->sent - 1)
        test_failf(__FILE__, __LINE__, "loader %d: sent %d, answered %d", i,
                   l->sent, (int)l->answered);
    else if (l->answered < l->sent && last_before)
        test_failf(__FILE__, __LINE__,
                   "loader %d (%s): a request fully sent %.3f ms before "
                   "SIGTERM got no answer (sent %d, answered %d, then %s)",
                   i, l->reports ? "reports" : "healthz",
                   (double)(kill_ns - l->last_sent_ns) / 1e6, l->sent,
                   (int)l->answered, l->ended_reset ? "reset" : "EOF");
    else
        return true;
    return false;
}

/* Every report answered 201 is in the database, and at most not_acked
 * others (the requests answered otherwise or not at all). Returns the
 * reports stored, or -1 (test failed). */
static long check_stored(const struct e2e *e, struct loader *loaders, int acked,
                         int not_acked)
{
    static char sql[16384];
    char v[32];
    long found = 0;
    for (int i = 0; i < LOAD_THREADS; i++) {
        for (int k = 0; k < loaders[i].ids_len;) {
            size_t n = (size_t)snprintf(
                sql, sizeof(sql), "SELECT count(*) FROM reports WHERE id IN (");
            int chunk = 0;
            for (; k < loaders[i].ids_len && chunk < 500; k++, chunk++)
                n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s%lld",
                                      chunk ? "," : "", loaders[i].ids[k]);
            snprintf(sql + n, sizeof(sql) - n, ")");
            if (e2e_sql(e, false, sql, v, sizeof(v)) != 0)
                return -1;
            found += strtol(v, NULL, 10);
        }
    }
    if (found != acked) {
        test_failf(__FILE__, __LINE__,
                   "%d reports answered 201, %ld of them in the database",
                   acked, found);
        return -1;
    }
    if (e2e_sql(e, false, "SELECT count(*) FROM reports", v, sizeof(v)) != 0)
        return -1;
    /* A report answered 503 (or not at all) may still have committed: an
     * unknown outcome, which the client resolves by retrying with its
     * Idempotency-Key (spec/reliability.md A5). More than that is not. */
    long all = strtol(v, NULL, 10);
    if (all < acked || all > acked + not_acked) {
        test_failf(__FILE__, __LINE__,
                   "%ld reports stored; %d answered 201 and %d were not", all,
                   acked, not_acked);
        return -1;
    }
    return all;
}

static void sigterm_under_load_answers_in_flight(struct e2e *e)
{
    /* One client address posts many reports: no rate limit here. */
    static const char *const sets[] = {"workers=2", "rate_limit_per_minute=0",
                                       NULL};
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);

    struct loader loaders[LOAD_THREADS];
    memset(loaders, 0, sizeof(loaders));
    for (int i = 0; i < LOAD_THREADS; i++) {
        loaders[i].e = e;
        loaders[i].index = i;
        loaders[i].reports = i % 2 == 1;
        CHECK_INT(
            pthread_create(&loaders[i].thread, NULL, load_run, &loaders[i]), 0);
    }

    /* At least 1.5 s of load, and until reports have been acknowledged
     * (group commit is slow beside /healthz's flood on 2 cores). */
    uint64_t load_start = e2e_now_ms();
    int before = 0, acked_before = 0;
    do {
        e2e_sleep_ms(100);
        before = acked_before = 0;
        for (int i = 0; i < LOAD_THREADS; i++) {
            before += loaders[i].answered;
            acked_before += loaders[i].acked;
        }
    } while (e2e_now_ms() - load_start < 1500 ||
             (acked_before < 20 && e2e_now_ms() - load_start < 10000));

    /* A client in the middle of a request when the signal comes: half
     * its head before, the rest after. */
    static const char half1[] = "GET /healthz HTTP/1.1\r\nHo";
    static const char half2[] = "st: e2e\r\n\r\n";
    int slow = e2e_connect(e);
    int half_sent = slow >= 0 ? e2e_send(slow, half1, sizeof(half1) - 1) : -1;

    e2e_sleep_ms(300);

    uint64_t kill_ns = now_ns();
    uint64_t took = 0;
    e2e_terminate(e);
    e2e_sleep_ms(100);
    /* (No early return while the loaders run: they use this frame.) */
    int slow_send = -1;
    struct e2e_reply sr;
    e2e_reply_init(&sr);
    if (half_sent == 0) {
        slow_send = e2e_send(slow, half2, sizeof(half2) - 1);
        e2e_read(slow, &sr, 0, 4000);
    }
    if (slow >= 0)
        close(slow);
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_join(loaders[i].thread, NULL);
    int rc = e2e_wait(e, 5000, &took);

    int sent = 0, answered = 0, acked = 0, refused = 0, report_sent = 0;
    bool ok = true;
    for (int i = 0; i < LOAD_THREADS; i++) {
        sent += loaders[i].sent;
        answered += loaders[i].answered;
        acked += loaders[i].ids_len;
        refused += loaders[i].refused;
        if (loaders[i].reports)
            report_sent += loaders[i].sent;
        ok = load_check(&loaders[i], kill_ns) && ok;
    }

    /* The half-sent request was in flight (its first bytes had arrived):
     * tipd answers it once the rest comes, then closes (http_conn_drain:
     * "close if idle, else close after this answer"). */
    char why[300];
    e2e_escape(sr.data, sr.len, why, sizeof(why));
    bool slow_ok = sr.count == 1 && sr.rest == 0 && sr.r[0].status == 200 &&
                   e2e_header_is(&sr.r[0], "Connection", "close") && sr.eof;
    if (half_sent != 0)
        test_failf(__FILE__, __LINE__,
                   "could not connect and send half a request");
    else if (!slow_ok)
        test_failf(__FILE__, __LINE__,
                   "half-sent request (rest sent %s): want a full 200 with "
                   "Connection: close, then EOF; got eof=%d reset=%d '%s'",
                   slow_send == 0 ? "ok" : "failed", sr.eof, sr.reset, why);
    bool slow_answered = sr.count == 1;
    e2e_reply_free(&sr);

    long stored =
        rc == 0 ? check_stored(e, loaders, acked, report_sent - acked) : -1;
    for (int i = 0; i < LOAD_THREADS; i++)
        free(loaders[i].ids);
    printf("sigterm: %d answered (%d reports) before the signal; %d sent, "
           "%d answered "
           "in all (%d reports acknowledged, %ld stored, %d refused 503); "
           "half-sent request %s; tipd exited %d after %llu ms\n",
           before, acked_before, sent, answered, acked, stored, refused,
           slow_answered ? "answered" : "closed", rc, (unsigned long long)took);
    CHECK(ok);
    CHECK(before >= 50); /* the load really ran */
    if (acked_before == 0)
        test_failf(__FILE__, __LINE__,
                   "no report was answered 201 in 10 s of load: the load "
                   "never had reports in flight (see db_lost in the log)");
    CHECK_INT(rc, 0);
    CHECK(took <= 5000);
}

void test_sigterm_under_load_answers_in_flight(void)
{
    struct e2e e;
    if (e2e_init(&e, "sigterm_under_load_answers_in_flight") == 0)
        sigterm_under_load_answers_in_flight(&e);
    e2e_cleanup(&e);
}
