/*
 * status: each request is one database job on the worker's session; the
 * job's memory lives in the request's arena and the answer is rendered in
 * the job's done callback.
 */
#include "status.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "db.h"
#include "http_conn.h"
#include "receipt.h"
#include "server.h"
#include "utf8.h"
#include "util.h"
#include "worker.h"

#define MESSAGE_MAX 5000 /* characters, as the schema allows */

struct lookup {
    struct db_job job;
    struct http_conn *conn; /* borrowed: waits in HANDLING for us */
    char hash_hex[2 + 64 + 1];
    const char *message; /* status_post_message only */
    bool found;
    char *row;               /* the lookup's JSON document, in the arena */
    struct arena *arena;     /* borrowed: the request's */
    status_render_cb render; /* writes the answer */
    void *render_data;       /* borrowed, for render */
};

/* What a reporter may know of their report's progress, and no more:
 * received (not yet triaged), accepted (queued at a commission), in
 * progress (a member of staff works it), closed. Units, staff and
 * dispositions stay inside. */
static const char lookup_sql[] =
    "SELECT json_build_object('state', coalesce((SELECT CASE"
    " WHEN c.closed_at IS NOT NULL THEN 'closed'"
    " WHEN c.status IN ('working', 'held') THEN 'in_progress'"
    " ELSE 'accepted' END FROM case_reports cr JOIN cases c"
    " ON c.id = cr.case_id WHERE cr.report_id = r.id), 'received'),"
    " 'received_at',"
    " r.received_at, 'messages', coalesce((SELECT json_agg(json_build_object("
    "'from', m.author, 'body', m.body, 'at', m.created_at) ORDER BY m.id)"
    " FROM report_messages m WHERE m.report_id = r.id), '[]'::json))"
    " FROM reports r WHERE r.receipt_hash = $1::bytea";

static const char message_sql[] =
    "INSERT INTO report_messages (report_id, author, body)"
    " SELECT id, 'reporter', $2 FROM reports WHERE receipt_hash = $1::bytea"
    " RETURNING id";

static int send_lookup(struct db_job *job, PGconn *pg)
{
    struct lookup *l = container_of(job, struct lookup, job);
    const char *params[2] = {l->hash_hex, l->message};
    const char *sql = l->message != NULL ? message_sql : lookup_sql;
    return PQsendQueryParams(pg, sql, l->message ? 2 : 1, NULL, params, NULL,
                             NULL, 0) == 1
               ? 0
               : -1;
}

static void on_row(struct db_job *job, const PGresult *res)
{
    struct lookup *l = container_of(job, struct lookup, job);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return;
    l->found = true;
    const char *v = PQgetvalue(res, 0, 0);
    l->row = arena_strndup(l->arena, v, strlen(v));
}

static void on_done(struct db_job *job, int status)
{
    struct lookup *l = container_of(job, struct lookup, job);
    int outcome = status != 0 ? 503 : !l->found ? 404 : l->message ? 201 : 200;
    l->render(&l->conn->res, outcome, l->row, l->render_data);
    http_conn_respond(l->conn, util_now_ms());
}

int status_start(struct worker *w, struct http_conn *conn,
                 struct http_request *req, struct http_response *res,
                 const char *receipt, const char *message,
                 status_render_cb render, void *data)
{
    struct lookup *l = arena_alloc(req->arena, sizeof(*l));
    memset(l, 0, sizeof(*l));
    l->conn = conn;
    l->arena = req->arena;
    l->render = render;
    l->render_data = data;
    l->message = message;
    /* A malformed code takes the same path as an unknown one: it is hashed
     * and looked up. */
    char canonical[RECEIPT_CHARS + 1];
    if (receipt_normalize(receipt, strlen(receipt), canonical) != 0) {
        memset(canonical, '-', RECEIPT_CHARS);
        canonical[RECEIPT_CHARS] = '\0';
    }
    unsigned char hash[32];
    receipt_hash(w->server->receipt_key, canonical, hash);
    util_bytea_hex(hash, sizeof(hash), l->hash_hex);
    l->job.send = send_lookup;
    l->job.result = on_row;
    l->job.done = on_done;
    if (db_session_submit(&w->db, &l->job) != 0) {
        render(res, 503, NULL, data);
        return res->status;
    }
    return HTTP_ASYNC;
}

static void render_json(struct http_response *res, int outcome, const char *row,
                        void *data)
{
    if (outcome == 503) {
        http_response_error(res, 503,
                            "the database is not reachable: retry after the "
                            "given seconds",
                            NULL);
    } else if (outcome == 404) {
        http_response_error(res, 404, "no report has this receipt code",
                            "receipt");
    } else if (outcome == 201) {
        res->status = 201;
        res->content_type = "application/json";
        buf_appends(&res->body, "{\"status\":\"added\"}\n");
    } else {
        res->status = 200;
        res->content_type = "application/json";
        buf_appends(&res->body, row ? row : "{}");
        buf_appends(&res->body, "\n");
    }
}

bool status_message_ok(const char *m)
{
    size_t n = m != NULL ? strlen(m) : 0;
    return n > 0 && utf8_valid(m, n) && !utf8_has_controls(m, n, true) &&
           utf8_count(m, n) <= MESSAGE_MAX;
}

/* Reads {"receipt": ..., "message": ...} and starts the lookup. */
static int start(struct worker *w, struct http_conn *conn,
                 struct http_request *req, struct http_response *res,
                 bool with_message)
{
    const struct http_header *ct = http_request_header(req, "content-type");
    if (ct == NULL ||
        !util_ieq(ct->value, strcspn(ct->value, "; "), "application/json"))
        return http_response_error(res, 415, "send application/json", NULL);
    cJSON *root = http_json_object(req, res);
    if (root == NULL)
        return res->status;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "receipt");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
    int rc;
    if (!cJSON_IsString(r)) {
        rc = http_response_error(res, 422, "the receipt code is required",
                                 "receipt");
    } else if (with_message &&
               (!cJSON_IsString(m) || !status_message_ok(m->valuestring))) {
        rc = http_response_error(res, 422,
                                 "a message of 1 to 5000 characters of text "
                                 "is required",
                                 "message");
    } else {
        const char *receipt =
            arena_strndup(req->arena, r->valuestring, strlen(r->valuestring));
        const char *message = with_message
                                  ? arena_strndup(req->arena, m->valuestring,
                                                  strlen(m->valuestring))
                                  : NULL;
        rc = status_start(w, conn, req, res, receipt, message, render_json,
                          NULL);
    }
    cJSON_Delete(root);
    return rc;
}

int status_post_lookup(void *app, struct http_conn *conn,
                       struct http_request *req, struct http_response *res)
{
    return start(app, conn, req, res, false);
}

int status_post_message(void *app, struct http_conn *conn,
                        struct http_request *req, struct http_response *res)
{
    return start(app, conn, req, res, true);
}
