/*
 * Unit tests of the small pure modules: buf, arena, config, router and the
 * embedded migrations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <libpq-fe.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "db.h"
#include "config.h"
#include "http.h"
#include "migrate.h"
#include "router.h"
#include "test.h"

void test_buf_bounded(void)
{
    struct buf b;
    buf_init(&b, 8);
    CHECK_INT(buf_append(&b, "abcd", 4), 0);
    CHECK_INT(buf_append(&b, "efgh", 4), 0);
    CHECK_INT(b.len, 8);
    CHECK_INT(buf_append(&b, "i", 1), -1); /* at the maximum: refused */
    CHECK_INT(b.len, 8);
    CHECK_INT(buf_printf(&b, "%d", 1), -1);
    buf_consume(&b, 3);
    CHECK_STR(b.data, "defgh");
    CHECK_INT(buf_printf(&b, "%s", "xyz"), 0);
    CHECK_STR(b.data, "defghxyz");
    buf_cleanup(&b);
}

void test_arena_reset_reuses(void)
{
    struct arena a;
    arena_init(&a, 64);
    char *p = arena_strndup(&a, "hello", 5);
    CHECK_STR(p, "hello");
    void *big = arena_alloc(&a, 1000); /* larger than a chunk */
    memset(big, 1, 1000);
    for (int i = 0; i < 100; i++)
        arena_alloc(&a, 16);
    arena_reset(&a);
    char *q = arena_strndup(&a, "again", 5);
    CHECK_STR(q, "again");
    arena_cleanup(&a);
}

void test_config_layers_and_errors(void)
{
    struct config c;
    char err[512];
    config_init(&c);
    CHECK_INT(c.listen_port, 8080);

    char path[] = "/tmp/tipd-test-config-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# comment\n\nlisten_port = 9000\nworkers=3\n", f);
    fclose(f);
    CHECK_INT(config_load_file(&c, path, err, sizeof(err)), 0);
    CHECK_INT(c.listen_port, 9000);
    CHECK_INT(c.workers, 3);

    setenv("TIPD_LISTEN_PORT", "9001", 1);
    CHECK_INT(config_load_env(&c, err, sizeof(err)), 0);
    unsetenv("TIPD_LISTEN_PORT");
    CHECK_INT(c.listen_port, 9001);

    CHECK_INT(config_set(&c, "listen_port", "0", "--set", err, sizeof(err)),
              -1);
    CHECK(strstr(err, "--set: listen_port: must be between 1 and 65535") !=
          NULL);
    CHECK_INT(config_set(&c, "no_such_key", "1", "--set", err, sizeof(err)),
              -1);
    CHECK(strstr(err, "unknown key 'no_such_key'") != NULL);
    CHECK_INT(config_set(&c, "header_timeout_ms", "10s", "x", err, sizeof(err)),
              -1);
    CHECK(strstr(err, "header_timeout_ms: must be a whole number") != NULL);
    CHECK_INT(config_set(&c, "log_level", "loud", "x", err, sizeof(err)), -1);

    f = fopen(path, "w");
    fputs("listen_port = 9000\nbogus line\n", f);
    fclose(f);
    CHECK_INT(config_load_file(&c, path, err, sizeof(err)), -1);
    char where[128];
    snprintf(where, sizeof(where), "%s:2: expected 'key = value'", path);
    CHECK_STR(err, where);
    unlink(path);

    CHECK_INT(config_set(&c, "max_request_line_bytes", "100000", "x", err,
                         sizeof(err)),
              0);
    CHECK_INT(config_validate(&c, err, sizeof(err)), -1);
    CHECK(strstr(err, "max_request_line_bytes") != NULL);

    /* The receipt key: 64 hex digits from the environment or a file. */
    unsigned char key[32];
    setenv("TIPD_RECEIPT_KEY", "00112233", 1);
    CHECK_INT(config_receipt_key(&c, key, err, sizeof(err)), -1);
    setenv("TIPD_RECEIPT_KEY",
           "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
           1);
    CHECK_INT(config_receipt_key(&c, key, err, sizeof(err)), 0);
    CHECK_INT(key[31], 0x1f);
    unsetenv("TIPD_RECEIPT_KEY");
    config_cleanup(&c);
}

void test_config_example_names_every_key(void)
{
    /* deploy/tipd.conf.example documents every key: keep it so. */
    FILE *f = fopen(TIPD_SOURCE_DIR "/deploy/tipd.conf.example", "r");
    CHECK(f != NULL);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    for (size_t i = 0; i < config_key_count(); i++) {
        char needle[128];
        snprintf(needle, sizeof(needle), "\n%s =", config_key_name(i));
        char commented[128];
        snprintf(commented, sizeof(commented), "\n# %s =", config_key_name(i));
        if (strstr(text, needle) == NULL && strstr(text, commented) == NULL)
            test_failf(__FILE__, __LINE__,
                       "deploy/tipd.conf.example does not mention %s",
                       config_key_name(i));
    }

    /* And the example itself loads cleanly. */
    struct config c;
    char err[512];
    config_init(&c);
    int rc = config_load_file(&c, TIPD_SOURCE_DIR "/deploy/tipd.conf.example",
                              err, sizeof(err));
    if (rc != 0)
        test_failf(__FILE__, __LINE__, "%s", err);
    config_cleanup(&c);
}

static int handler(void *app, struct http_conn *conn, struct http_request *req,
                   struct http_response *res)
{
    return 200;
}

void test_router_matches_params(void)
{
    static const struct route table[] = {
        {HTTP_METHOD_GET, "/healthz", handler, 0, "healthz", NULL},
        {HTTP_METHOD_GET, "/api/v1/staff/cases/{id}", handler, 0, "case", NULL},
        {HTTP_METHOD_POST, "/api/v1/staff/cases/{id}/disposition", handler,
         4096, "disposition", NULL},
    };
    const struct router r = {table, 3};
    struct arena a;
    arena_init(&a, 1024);
    struct http_request req = {.arena = &a, .method = HTTP_METHOD_GET};
    const struct route *out = NULL;

    req.path = "/api/v1/staff/cases/42";
    CHECK_INT(router_match(&r, &req, &out), ROUTER_FOUND);
    CHECK_STR(out->name, "case");
    CHECK_INT(req.param_count, 1);
    CHECK_STR(req.params[0], "42");

    req.path = "/api/v1/staff/cases/42/disposition";
    CHECK_INT(router_match(&r, &req, &out), ROUTER_METHOD_NOT_ALLOWED);
    req.method = HTTP_METHOD_POST;
    CHECK_INT(router_match(&r, &req, &out), ROUTER_FOUND);
    CHECK_STR(out->name, "disposition");

    req.method = HTTP_METHOD_HEAD; /* HEAD is GET without the body */
    req.path = "/healthz";
    CHECK_INT(router_match(&r, &req, &out), ROUTER_FOUND);

    req.method = HTTP_METHOD_GET;
    req.path = "/api/v1/staff/cases/";
    CHECK_INT(router_match(&r, &req, &out), ROUTER_NOT_FOUND);
    req.path = "/api/v1/staff/cases/1/2";
    CHECK_INT(router_match(&r, &req, &out), ROUTER_NOT_FOUND);
    req.path = "/healthz/";
    CHECK_INT(router_match(&r, &req, &out), ROUTER_NOT_FOUND);
    arena_cleanup(&a);
}

void test_migrations_embedded_in_order(void)
{
    CHECK(migrations_count >= 1);
    CHECK_INT(migrations[0].version, 1);
    CHECK_STR(migrations[0].name, "init");
    CHECK(strstr(migrations[0].sql, "CREATE TABLE reports") != NULL);
    CHECK_INT(strlen(migrations[0].sql), migrations[0].len);
    for (int i = 1; i < migrations_count; i++)
        CHECK(migrations[i].version > migrations[i - 1].version);
}

/* The staff sessions' connection string: the database's with its user
 * replaced, every value quoted as libpq reads it back. */
void test_db_conninfo_with_user(void)
{
    char err[256];
    char *c = db_conninfo_with_user(
        "host=/run/postgresql port=5433 dbname='ti pd' user=tipd "
        "password='a\\'b'",
        "tipd_staff", err, sizeof(err));
    CHECK(c != NULL);
    if (c == NULL)
        return;
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(c, &perr);
    CHECK(opts != NULL);
    int seen = 0;
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "user") == 0) {
            CHECK_STR(o->val, "tipd_staff");
            seen++;
        } else if (strcmp(o->keyword, "dbname") == 0) {
            CHECK_STR(o->val, "ti pd");
            seen++;
        } else if (strcmp(o->keyword, "password") == 0) {
            CHECK_STR(o->val, "a'b");
            seen++;
        } else if (strcmp(o->keyword, "port") == 0) {
            CHECK_STR(o->val, "5433");
            seen++;
        }
    }
    CHECK_INT(seen, 4);
    PQconninfoFree(opts);
    PQfreemem(perr);
    free(c);
    /* A string libpq cannot read is refused, saying so. */
    CHECK(db_conninfo_with_user("host='unterminated", "tipd_staff", err,
                                sizeof(err)) == NULL);
    CHECK(strncmp(err, "database: ", 10) == 0);
}
