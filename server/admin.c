/*
 * admin: units import and tokens, each in one transaction.
 */
#include "admin.h"

#include "db.h"
#include "util.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Runs one statement; 0 or -1 with the server's message. */
static int exec(PGconn *pg, const char *sql, int n, const char *const *params,
                PGresult **out, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    if (out != NULL)
        *out = r;
    else
        PQclear(r);
    return 0;
}

/* COMMIT, checking its command tag (a failed transaction says ROLLBACK). */
static int commit(PGconn *pg, char *err, size_t errlen)
{
    PGresult *r = PQexec(pg, "COMMIT");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK &&
              strcmp(PQcmdStatus(r), "COMMIT") == 0;
    PQclear(r);
    if (!ok)
        snprintf(err, errlen, "the transaction did not commit");
    return ok ? 0 : -1;
}

/* Ends the transaction: COMMIT when rc is 0 (its failure becomes rc), else
 * ROLLBACK; closes pg either way. Returns rc. */
static int finish(PGconn *pg, int rc, char *err, size_t errlen)
{
    if (rc == 0)
        rc = commit(pg, err, errlen);
    else
        PQclear(PQexec(pg, "ROLLBACK"));
    PQfinish(pg);
    return rc;
}

static bool six_digits(const char *s)
{
    if (strlen(s) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* GB/T 2260: XX0000 province, XXYY00 city, anything else county. */
static const char *level_of(const char *id)
{
    if (strcmp(id + 2, "0000") == 0)
        return "province";
    if (strcmp(id + 4, "00") == 0)
        return "city";
    return "county";
}

static bool listed(const cJSON *units, const char *id)
{
    const cJSON *u;
    cJSON_ArrayForEach(u, units)
    {
        const cJSON *i = cJSON_GetObjectItemCaseSensitive(u, "id");
        if (cJSON_IsString(i) && strcmp(i->valuestring, id) == 0)
            return true;
    }
    return false;
}

/* The nearest listed ancestor of id, written to parent; false if none. */
static bool parent_of(const cJSON *units, const char *id, char parent[7])
{
    const char *level = level_of(id);
    if (strcmp(level, "county") == 0) {
        snprintf(parent, 7, "%.4s00", id);
        if (listed(units, parent))
            return true;
    }
    if (strcmp(level, "province") != 0) {
        snprintf(parent, 7, "%.2s0000", id);
        if (listed(units, parent))
            return true;
    }
    return false;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    size_t n;
    while (text != NULL && (n = fread(text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap && cap < (1u << 26)) {
            char *bigger = realloc(text, cap * 2);
            if (bigger == NULL) {
                free(text);
                text = NULL;
                break;
            }
            text = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (text == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    text[len] = '\0';
    return text;
}

int admin_units_import(const char *conninfo, const char *path, int *count,
                       char *err, size_t errlen)
{
    *count = 0;
    char *text = read_file(path, err, errlen);
    if (text == NULL)
        return -1;
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *units = cJSON_GetObjectItemCaseSensitive(root, "units");
    if (!cJSON_IsArray(units)) {
        snprintf(err, errlen,
                 "%s: expected a JSON object with a \"units\" "
                 "array",
                 path);
        cJSON_Delete(root);
        return -1;
    }
    int index = 0;
    const cJSON *u;
    cJSON_ArrayForEach(u, units)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(u, "id");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(u, "name");
        if (!cJSON_IsString(id) || !six_digits(id->valuestring) ||
            !cJSON_IsString(name) || name->valuestring[0] == '\0') {
            snprintf(err, errlen,
                     "%s: units[%d]: needs \"id\" (six digits, GB/T 2260) "
                     "and a non-empty \"name\"",
                     path, index);
            cJSON_Delete(root);
            return -1;
        }
        index++;
    }

    PGconn *pg = db_connect_blocking(conninfo, err, errlen);
    if (pg == NULL) {
        cJSON_Delete(root);
        return -1;
    }
    int rc = exec(pg, "BEGIN", 0, NULL, NULL, err, errlen);
    /* Provinces first, then cities, then counties: parents exist first. */
    static const char *const order[] = {"province", "city", "county"};
    for (int pass = 0; pass < 3 && rc == 0; pass++) {
        cJSON_ArrayForEach(u, units)
        {
            const char *id =
                cJSON_GetObjectItemCaseSensitive(u, "id")->valuestring;
            if (strcmp(level_of(id), order[pass]) != 0)
                continue;
            char parent[7];
            const char *params[4] = {
                id, cJSON_GetObjectItemCaseSensitive(u, "name")->valuestring,
                order[pass], parent_of(units, id, parent) ? parent : NULL};
            rc = exec(pg,
                      "INSERT INTO units (id, name, level, parent_id) "
                      "VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE "
                      "SET name = excluded.name, level = excluded.level, "
                      "parent_id = excluded.parent_id",
                      4, params, NULL, err, errlen);
            if (rc == 0)
                rc = exec(pg,
                          "INSERT INTO queues (unit_id, name) VALUES "
                          "($1, 'default'), ($1, 'review') "
                          "ON CONFLICT DO NOTHING",
                          1, params, NULL, err, errlen);
            if (rc != 0)
                break;
            (*count)++;
        }
    }
    rc = finish(pg, rc, err, errlen);
    cJSON_Delete(root);
    return rc;
}

void admin_token_hash(const char *token, size_t len, unsigned char out[32])
{
    unsigned int n = 0;
    EVP_Digest(token, len, out, &n, EVP_sha256(), NULL);
}

/* The arguments of a staff member: 0, or -1 with what to fix. */
static int staff_args_ok(const char *unit, const char *role, const char *name,
                         char *err, size_t errlen)
{
    static const char *const roles[] = {"operator", "staff", "supervisor",
                                        "admin"};
    bool role_ok = false;
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        role_ok = role_ok || strcmp(role, roles[i]) == 0;
    if (!role_ok) {
        snprintf(err, errlen,
                 "--role: must be operator, staff, supervisor or admin");
        return -1;
    }
    if (!six_digits(unit)) {
        snprintf(err, errlen, "--unit: must be a six-digit unit code");
        return -1;
    }
    if (name[0] == '\0' || strlen(name) > 300) {
        snprintf(err, errlen, "--name: must be a name of 1 to 100 characters");
        return -1;
    }
    return 0;
}

/*
 * In pg's open transaction: the staff member of unit with this name, made
 * if new, whose role must be role. Their id into staff_id. 0, or -1.
 */
static int staff_upsert(PGconn *pg, const char *unit, const char *role,
                        const char *name, char staff_id[32], char *err,
                        size_t errlen)
{
    PGresult *r = NULL;
    const char *p1[3] = {unit, name, role};
    int rc =
        exec(pg, "SELECT 1 FROM units WHERE id = $1", 1, p1, &r, err, errlen);
    if (rc == 0 && PQntuples(r) != 1) {
        snprintf(err, errlen,
                 "unit %s does not exist: import the units first with "
                 "`tipd units import RULES.json`",
                 unit);
        rc = -1;
    }
    PQclear(r);
    r = NULL;
    if (rc == 0)
        rc = exec(pg,
                  "INSERT INTO staff (unit_id, name, role) VALUES ($1, $2, "
                  "$3) ON CONFLICT (unit_id, name) DO UPDATE SET name = "
                  "excluded.name RETURNING id, role",
                  3, p1, &r, err, errlen);
    if (rc == 0 && strcmp(PQgetvalue(r, 0, 1), role) != 0) {
        snprintf(err, errlen,
                 "%s of unit %s already exists with role %s: a person "
                 "has one role",
                 name, unit, PQgetvalue(r, 0, 1));
        rc = -1;
    }
    if (rc == 0)
        snprintf(staff_id, 32, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

int admin_staff_add(const char *conninfo, const char *unit, const char *role,
                    const char *name, FILE *out, char *err, size_t errlen)
{
    if (staff_args_ok(unit, role, name, err, errlen) != 0)
        return -1;
    PGconn *pg = db_connect_blocking(conninfo, err, errlen);
    if (pg == NULL)
        return -1;
    char staff_id[32] = "";
    int rc = exec(pg, "BEGIN", 0, NULL, NULL, err, errlen);
    if (rc == 0)
        rc = staff_upsert(pg, unit, role, name, staff_id, err, errlen);
    rc = finish(pg, rc, err, errlen);
    if (rc == 0)
        fprintf(out, "staff %s: %s (%s, unit %s)\n", staff_id, name, role,
                unit);
    return rc;
}

int admin_token_create(const char *conninfo, const char *unit, const char *role,
                       const char *name, FILE *out, char *err, size_t errlen)
{
    if (staff_args_ok(unit, role, name, err, errlen) != 0)
        return -1;

    unsigned char raw[32], hash[32];
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        snprintf(err, errlen, "no randomness available");
        return -1;
    }
    static const char hex[] = "0123456789abcdef";
    char token[5 + 64 + 1] = "tipd_";
    for (int i = 0; i < 32; i++) {
        token[5 + 2 * i] = hex[raw[i] >> 4];
        token[6 + 2 * i] = hex[raw[i] & 15];
    }
    token[69] = '\0';
    admin_token_hash(token, strlen(token), hash);
    char hash_hex[2 + 64 + 1];
    util_bytea_hex(hash, sizeof(hash), hash_hex);

    PGconn *pg = db_connect_blocking(conninfo, err, errlen);
    if (pg == NULL)
        return -1;
    PGresult *r = NULL;
    char staff_id[32] = "";
    int rc = exec(pg, "BEGIN", 0, NULL, NULL, err, errlen);
    if (rc == 0)
        rc = staff_upsert(pg, unit, role, name, staff_id, err, errlen);
    const char *p2[2] = {staff_id, hash_hex};
    if (rc == 0)
        rc = exec(pg,
                  "INSERT INTO tokens (staff_id, sha256) VALUES ($1, "
                  "$2::bytea) RETURNING id",
                  2, p2, &r, err, errlen);
    char token_id[32] = "";
    if (rc == 0)
        snprintf(token_id, sizeof(token_id), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    rc = finish(pg, rc, err, errlen);
    if (rc == 0)
        fprintf(out,
                "token %s for %s (%s, unit %s); shown once, keep it "
                "secret:\n%s\n",
                token_id, name, role, unit, token);
    return rc;
}

int admin_token_revoke(const char *conninfo, const char *id, char *err,
                       size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(id, &end, 10);
    if (errno != 0 || end == id || *end != '\0' || v <= 0) {
        snprintf(err, errlen,
                 "token id: must be the number `tipd token "
                 "create` printed");
        return -1;
    }
    PGconn *pg = db_connect_blocking(conninfo, err, errlen);
    if (pg == NULL)
        return -1;
    PGresult *r = NULL;
    const char *p[1] = {id};
    int rc = exec(pg,
                  "UPDATE tokens SET revoked_at = coalesce(revoked_at, "
                  "now()) WHERE id = $1::bigint RETURNING id",
                  1, p, &r, err, errlen);
    if (rc == 0 && PQntuples(r) != 1) {
        snprintf(err, errlen, "no token with id %s", id);
        rc = -1;
    }
    PQclear(r);
    PQfinish(pg);
    return rc;
}
