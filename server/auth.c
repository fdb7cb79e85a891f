/*
 * auth: header parsing and the token lookup job.
 */
#include "auth.h"

#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "util.h"
#include "worker.h"

static const char lookup_sql[] =
    "SELECT s.id, s.unit_id, s.role FROM tokens t"
    " JOIN staff s ON s.id = t.staff_id"
    " WHERE t.sha256 = $1::bytea AND t.revoked_at IS NULL";

static int send_lookup(struct db_job *job, PGconn *pg)
{
    struct auth_request *a = container_of(job, struct auth_request, job);
    const char *params[1] = {a->hash_hex};
    return PQsendQueryParams(pg, lookup_sql, 1, NULL, params, NULL, NULL, 0) ==
                   1
               ? 0
               : -1;
}

static void on_row(struct db_job *job, const PGresult *res)
{
    struct auth_request *a = container_of(job, struct auth_request, job);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return;
    a->who.staff_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    util_copy(a->who.unit, sizeof(a->who.unit), PQgetvalue(res, 0, 1));
    util_copy(a->who.role, sizeof(a->who.role), PQgetvalue(res, 0, 2));
    a->found = true;
}

static void on_done(struct db_job *job, int status)
{
    struct auth_request *a = container_of(job, struct auth_request, job);
    a->done(a, status != 0 ? 503 : a->found ? 0 : 401);
}

int auth_bearer(struct http_request *req, struct http_response *res,
                const char **token, size_t *len)
{
    const struct http_header *h = http_request_header(req, "authorization");
    if (h == NULL || h->value_len < 8 || !util_ieq(h->value, 7, "bearer ")) {
        http_response_header(res, "WWW-Authenticate", "Bearer");
        return http_response_error(res, 401,
                                   "a staff bearer token is required "
                                   "(Authorization: Bearer TOKEN)",
                                   NULL);
    }
    *token = h->value + 7;
    *len = h->value_len - 7;
    return 0;
}

int auth_start(struct auth_request *a, struct worker *w, struct http_conn *conn,
               struct http_request *req, struct http_response *res,
               auth_done_cb done)
{
    const char *token = NULL;
    size_t len = 0;
    int rc = auth_bearer(req, res, &token, &len);
    if (rc != 0)
        return rc;
    unsigned char hash[32];
    admin_token_hash(token, len, hash);
    memset(a, 0, sizeof(*a));
    util_bytea_hex(hash, sizeof(hash), a->hash_hex);
    a->worker = w;
    a->conn = conn;
    a->done = done;
    a->job.send = send_lookup;
    a->job.result = on_row;
    a->job.done = on_done;
    if (db_session_submit(&w->db, &a->job) != 0)
        return http_response_error(res, 503,
                                   "the database is not reachable: retry "
                                   "after the given seconds",
                                   NULL);
    return HTTP_ASYNC;
}

bool auth_role_in(const struct staff_identity *who, const char *const *roles)
{
    for (; *roles != NULL; roles++)
        if (strcmp(who->role, *roles) == 0)
            return true;
    return false;
}
