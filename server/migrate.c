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

/* The login roles that must stay walled: a superuser, BYPASSRLS or a
 * member of the owner could read and change everything, and each was
 * checked only once, when its migration ran. */
static const char roles_sql[] =
    "SELECT n.name, r.rolname IS NOT NULL,"
    " coalesce(r.rolsuper OR r.rolbypassrls"
    " OR pg_has_role(r.oid, current_user, 'USAGE'), false)"
    " FROM (VALUES ('tipd_app'), ('tipd_staff')) AS n(name)"
    " LEFT JOIN pg_roles r ON r.rolname = n.name ORDER BY 1";

static int check_roles(PGconn *pg, char *err, size_t errlen)
{
    PGresult *r = PQexec(pg, roles_sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "checking the roles: %s", PQerrorMessage(pg));
        PQclear(r);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        const char *name = PQgetvalue(r, i, 0);
        if (strcmp(PQgetvalue(r, i, 1), "t") != 0) {
            snprintf(err, errlen,
                     "the role %s does not exist: as a superuser run "
                     "deploy/roles.sql",
                     name);
            rc = -1;
        } else if (strcmp(PQgetvalue(r, i, 2), "t") == 0) {
            snprintf(err, errlen,
                     "the role %s is a superuser, bypasses row-level "
                     "security or is a member of the owner: ALTER ROLE %s "
                     "NOSUPERUSER NOBYPASSRLS, and REVOKE the owner from it",
                     name, name);
            rc = -1;
        }
    }
    PQclear(r);
    return rc;
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
    if (rc == 0)
        rc = check_roles(pg, err, errlen);
    PQfinish(pg);
    return rc;
}

/* Superuser first: pg_has_role is true for a superuser whatever the role. */
static const char serving_role_sql[] =
    "SELECT current_user, r.rolsuper OR pg_has_role(current_user,"
    " c.relowner, 'USAGE'), pg_has_role(current_user, 'tipd_app', 'USAGE')"
    " FROM pg_roles r, pg_class c"
    " WHERE r.rolname = current_user AND c.oid = 'reports'::regclass";

int migrate_check_role(const char *conninfo, enum migrate_role *kind,
                       char *role, size_t rolelen, char *err, size_t errlen)
{
    PGconn *pg = db_connect_blocking(conninfo, err, errlen);
    if (pg == NULL)
        return -1;
    int rc = -1;
    PGresult *r = PQexec(pg, serving_role_sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        snprintf(err, errlen, "checking the database role: %s",
                 PQerrorMessage(pg));
        goto done;
    }
    snprintf(role, rolelen, "%s", PQgetvalue(r, 0, 0));
    if (strcmp(PQgetvalue(r, 0, 1), "t") == 0) {
        *kind = MIGRATE_ROLE_OWNER;
        rc = 0;
    } else if (strcmp(PQgetvalue(r, 0, 2), "t") == 0) {
        *kind = MIGRATE_ROLE_APP;
        rc = 0;
    } else {
        snprintf(err, errlen,
                 "database logs in as the role %s, which is neither tipd_app "
                 "(nor a member of it) nor the schema's owner: row-level "
                 "security would hide every report from it; set user=tipd_app "
                 "in database (deploy/roles.sql)",
                 role);
    }
done:
    PQclear(r);
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
        const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (code != NULL && strcmp(code, "42501") == 0)
            snprintf(err, errlen,
                     "database logs in as the role %s, which may not read "
                     "schema_migrations: connect as tipd_app (user=tipd_app, "
                     "deploy/roles.sql), and run `tipd migrate` as the owner "
                     "first (migration 0008 grants tipd_app its privileges)",
                     PQuser(pg));
        else
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
