/*
 * auth: header parsing and the token lookup job.
 */
#include "auth.h"

#include <ctype.h>
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

bool auth_identity(const PGresult *res, struct staff_identity *who)
{
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return false;
    who->staff_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    util_copy(who->unit, sizeof(who->unit), PQgetvalue(res, 0, 1));
    util_copy(who->role, sizeof(who->role), PQgetvalue(res, 0, 2));
    return true;
}

static void on_row(struct db_job *job, const PGresult *res)
{
    struct auth_request *a = container_of(job, struct auth_request, job);
    a->found = auth_identity(res, &a->who);
}

static void on_done(struct db_job *job, int status)
{
    struct auth_request *a = container_of(job, struct auth_request, job);
    a->done(a, status != 0 ? 503 : a->found ? 0 : 401);
}

/*
 * Whether a browser says this request comes from another site. The staff
 * console sends its token in the Authorization header, which a browser
 * never adds by itself, so a cross-site page cannot forge a credentialed
 * request; this check is defence in depth for state-changing requests. A
 * request without these headers (curl, gateways, the tests) is not
 * cross-site by this test.
 */
static bool cross_site(struct http_request *req)
{
    const struct http_header *h = http_request_header(req, "sec-fetch-site");
    if (h != NULL && !util_ieq(h->value, h->value_len, "same-origin") &&
        !util_ieq(h->value, h->value_len, "none"))
        return true;
    const struct http_header *origin = http_request_header(req, "origin");
    const struct http_header *host = http_request_header(req, "host");
    if (origin == NULL)
        return false;
    /* Origin is scheme://host[:port]; its host part must be our Host. */
    const char *o = origin->value;
    size_t n = origin->value_len, i = 0;
    while (i + 3 <= n && memcmp(o + i, "://", 3) != 0)
        i++;
    if (i + 3 > n || host == NULL)
        return true; /* "null" (an opaque origin), or no Host */
    o += i + 3;
    n -= i + 3;
    if (n != host->value_len)
        return true;
    for (i = 0; i < n; i++)
        if (tolower((unsigned char)o[i]) !=
            tolower((unsigned char)host->value[i]))
            return true;
    return false;
}

int auth_bearer(struct http_request *req, struct http_response *res,
                const char **token, size_t *len)
{
    if (req->method != HTTP_METHOD_GET && req->method != HTTP_METHOD_HEAD &&
        cross_site(req))
        return http_response_error(res, 403,
                                   "cross-site requests to the staff API are "
                                   "refused; use the console on this site",
                                   NULL);
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
