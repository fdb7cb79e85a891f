/*
 * migrate: blocking libpq, because it runs before serving (or as its own
 * command) where there is nothing else to do while waiting.
 */
#include "migrate.h"

#include "db.h"

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any constant: all tipd migrators take the same advisory lock. */
#define MIGRATE_LOCK_KEY 7483920151

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Runs sql; 0 if it succeeded, else -1 with the server's message. */
static int exec(PGconn *pg, const char *sql, const char *what, char *err,
                size_t errlen)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "%s: %s", what, PQerrorMessage(pg));
    PQclear(r);
    return ok ? 0 : -1;
}

static const char create_table[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " sha256 text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/* Applies migration m unless recorded; *did is set when it ran. */
static int apply_one(PGconn *pg, const struct migration *m, int *did, char *err,
                     size_t errlen)
{
    char what[160], sum[65], lock[96];
    snprintf(what, sizeof(what), "migration %04d_%s", m->version, m->name);
    sha256_hex(m->sql, m->len, sum);
    snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%lld)",
             (long long)MIGRATE_LOCK_KEY);
    *did = 0;
    if (exec(pg, "BEGIN", what, err, errlen) != 0 ||
        exec(pg, lock, what, err, errlen) != 0 ||
        exec(pg, create_table, what, err, errlen) != 0)
        goto fail;

    char version[16];
    snprintf(version, sizeof(version), "%d", m->version);
    const char *params[3] = {version, m->name, sum};
    PGresult *r = PQexecParams(
        pg, "SELECT sha256 FROM schema_migrations WHERE version = $1", 1, NULL,
        params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s: %s", what, PQerrorMessage(pg));
        PQclear(r);
        goto fail;
    }
    if (PQntuples(r) == 1) {
        int same = strcmp(PQgetvalue(r, 0, 0), sum) == 0;
        PQclear(r);
        if (!same) {
            snprintf(err, errlen,
                     "%s: already applied with different contents; a "
                     "migration must never change once released: add a new "
                     "file instead",
                     what);
            goto fail;
        }
        return exec(pg, "COMMIT", what, err, errlen);
    }
    PQclear(r);

    if (exec(pg, m->sql, what, err, errlen) != 0)
        goto fail;
    r = PQexecParams(pg,
                     "INSERT INTO schema_migrations (version, name, sha256) "
                     "VALUES ($1, $2, $3)",
                     3, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        snprintf(err, errlen, "%s: %s", what, PQerrorMessage(pg));
    PQclear(r);
    if (!ok)
        goto fail;
    /* COMMIT of a failed transaction answers ROLLBACK without an error:
     * check the command tag. */
    r = PQexec(pg, "COMMIT");
    ok = PQresultStatus(r) == PGRES_COMMAND_OK &&
         strcmp(PQcmdStatus(r), "COMMIT") == 0;
    PQclear(r);
    if (!ok) {
        snprintf(err, errlen, "%s: COMMIT did not commit", what);
        return -1;
    }
    *did = 1;
    return 0;

fail:
    PQclear(PQexec(pg, "ROLLBACK"));
    return -1;
}

int migrate_apply(const char *conninfo, int *applied, char *err, size_t errlen)
{
    *applied = 0;
    PGconn *pg = db_connect_blocking(conninfo, err, errlen);
    if (pg == NULL)
        return -1;
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    int rc = 0;
    for (int i = 0; i < migrations_count && rc == 0; i++) {
        int did = 0;
        rc = apply_one(pg, &migrations[i], &did, err, errlen);
        *applied += did;
    }
    PQfinish(pg);
    return rc;
}

int migrate_check(const char *conninfo, char *err, size_t errlen)
{
    PGconn *pg = db_connect_blocking(conninfo, err, errlen);
    if (pg == NULL)
        return -1;
    int rc = -1;
    PGresult *r = PQexec(pg, "SELECT version, sha256 FROM schema_migrations "
                             "ORDER BY version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen,
                 "database is not migrated (no schema_migrations table): "
                 "run `tipd migrate` first");
        goto done;
    }
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
        int version = (int)strtol(PQgetvalue(r, i, 0), NULL, 10);
        const struct migration *m = NULL;
        for (int j = 0; j < migrations_count; j++)
            if (migrations[j].version == version)
                m = &migrations[j];
        if (m == NULL) {
            snprintf(err, errlen,
                     "database has migration %04d, which this tipd does not "
                     "know: it was migrated by a newer tipd",
                     version);
            goto done;
        }
        char sum[65];
        sha256_hex(m->sql, m->len, sum);
        if (strcmp(sum, PQgetvalue(r, i, 1)) != 0) {
            snprintf(err, errlen,
                     "migration %04d_%s in the database differs from this "
                     "tipd's",
                     m->version, m->name);
            goto done;
        }
    }
    if (rows < migrations_count) {
        snprintf(err, errlen,
                 "database is at %d of %d migrations: run `tipd migrate` "
                 "first",
                 rows, migrations_count);
        goto done;
    }
    rc = 0;
done:
    PQclear(r);
    PQfinish(pg);
    return rc;
}
