/*
 * intake: one struct intake_submission per request, in the request's arena,
 * holds the batch item and what the answer needs; the batch's done callback
 * renders the answer and resumes the connection.
 */
#include "intake.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "batch.h"
#include "http_conn.h"
#include "receipt.h"
#include "report.h"
#include "server.h"
#include "util.h"
#include "worker.h"

int intake_admit(void *app, struct http_conn *conn, struct http_response *res)
{
    struct worker *w = app;
    if (batcher_admits(&w->batcher))
        return 0;
    return http_response_error(res, HTTP_UNAVAILABLE,
                               "too busy to take this now: retry after the "
                               "given seconds",
                               NULL);
}

int intake_admit_rate(void *app, struct http_conn *conn,
                      struct http_response *res)
{
    struct worker *w = app;
    unsigned wait = ratelimit_take(&w->limits, conn->client, util_now_ms());
    if (wait == 0)
        return 0;
    http_response_error(res, HTTP_TOO_MANY_REQUESTS,
                        "too many requests from here: retry after the given "
                        "seconds",
                        NULL);
    char seconds[16];
    snprintf(seconds, sizeof(seconds), "%u", wait);
    http_response_header(res, "Retry-After", seconds);
    return HTTP_TOO_MANY_REQUESTS;
}

int intake_admit_public(void *app, struct http_conn *conn,
                        struct http_response *res)
{
    int status = intake_admit_rate(app, conn, res);
    return status != 0 ? status : intake_admit(app, conn, res);
}

static bool is_json(const struct http_request *req)
{
    const struct http_header *ct = http_request_header(req, "content-type");
    if (ct == NULL)
        return false;
    size_t n = strcspn(ct->value, ";");
    while (n > 0 && ct->value[n - 1] == ' ')
        n--;
    return util_ieq(ct->value, n, "application/json");
}

/* The Idempotency-Key header: 1-200 visible ASCII characters. */
static const char *idempotency_key(const struct http_request *req,
                                   const char **reason)
{
    const struct http_header *h = http_request_header(req, "idempotency-key");
    *reason = NULL;
    if (h == NULL)
        return NULL;
    bool ok = h->value_len >= 1 && h->value_len <= 200;
    for (size_t i = 0; ok && i < h->value_len; i++)
        ok = h->value[i] > 0x20 && h->value[i] < 0x7f;
    if (!ok)
        *reason = "must be 1 to 200 visible ASCII characters";
    return h->value;
}

/*
 * Gives s its receipt and prepares its batch item for report r: a code
 * derived from (scope, key, bytes) when there is a key, else a random one.
 * 0, or -1 if there is no randomness.
 */
static int prepare(struct worker *w, struct arena *a,
                   struct intake_submission *s, const struct report *r,
                   const char *scope, const char *key, const char *bytes,
                   size_t len)
{
    s->item.report = r;
    s->item.scope = scope;
    if (key != NULL) {
        unsigned int n = 0;
        s->item.key = arena_strndup(a, key, strlen(key));
        EVP_Digest(bytes, len, s->item.request_sha, &n, EVP_sha256(), NULL);
        receipt_derive(w->server->receipt_key, scope, s->item.key,
                       s->item.request_sha, s->receipt);
    } else if (receipt_random(s->receipt) != 0) {
        return -1;
    }
    char canonical[RECEIPT_CHARS + 1];
    receipt_normalize(s->receipt, strlen(s->receipt), canonical);
    receipt_hash(w->server->receipt_key, canonical, s->item.receipt_hash);
    return 0;
}

static void on_stored(struct batch_item *it)
{
    struct intake_submission *s =
        container_of(it, struct intake_submission, item);
    struct http_response *res = &s->conn->res;
    if (s->render != NULL) {
        s->render(s, res);
    } else if (it->status == 201) {
        res->status = 201;
        res->content_type = "application/json";
        buf_printf(&res->body, "{\"receipt\":\"%s\",\"report_id\":\"%lld\"}\n",
                   s->receipt, it->report_id);
        if (it->replayed)
            http_response_header(res, "Idempotent-Replayed", "true");
    } else if (it->status == 409) {
        http_response_error(res, 409,
                            "this Idempotency-Key was already used for a "
                            "different request",
                            "Idempotency-Key");
    } else {
        http_response_error(res, 503,
                            "the report could not be stored now: retry "
                            "after the given seconds with the same "
                            "Idempotency-Key",
                            NULL);
    }
    http_conn_respond(s->conn, util_now_ms());
}

static const char busy[] =
    "too busy to take this now: retry after the given seconds";

int intake_submit(struct worker *w, struct http_request *req,
                  struct intake_submission *s, const struct report *r,
                  const char *scope, const char *key, const char *bytes,
                  size_t len)
{
    if (s->item.done == NULL)
        s->item.done = on_stored;
    if (prepare(w, req->arena, s, r, scope, key, bytes, len) != 0 ||
        batcher_submit(&w->batcher, &s->item, util_now_ms()) != 0)
        return -1;
    return 0;
}

int intake_post_report(void *app, struct http_conn *conn,
                       struct http_request *req, struct http_response *res)
{
    struct worker *w = app;
    const struct config *cfg = w->server->config;
    if (!is_json(req))
        return http_response_error(res, 415,
                                   "send the report as application/json", NULL);
    if (req->body.len == 0)
        return http_response_error(res, 400, "the body is empty", NULL);

    const char *why;
    const char *key = idempotency_key(req, &why);
    if (why != NULL)
        return http_response_error(res, 422, why, "Idempotency-Key");

    struct report *r = arena_alloc(req->arena, sizeof(*r));
    struct report_error err;
    if (report_from_json(req->arena, req->body.data, req->body.len,
                         REPORT_SOURCE_PUBLIC, (int)cfg->max_json_depth, r,
                         &err) != 0) {
        res->close = err.hostile;
        return http_response_error(res, err.status, err.reason, err.field);
    }

    struct intake_submission *s = arena_alloc(req->arena, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->conn = conn;
    s->item.done = on_stored;
    if (prepare(w, req->arena, s, r, "web", key, req->body.data,
                req->body.len) != 0)
        return http_response_error(res, 503, "no randomness available", NULL);
    if (batcher_submit(&w->batcher, &s->item, util_now_ms()) != 0)
        return http_response_error(res, 503, busy, NULL);
    return HTTP_ASYNC;
}

/* Staff intake: phone calls, letters and visits entered by operators. */

static const char *const intake_roles[] = {"operator", "staff", "supervisor",
                                           NULL};

/* The idempotency scope of a unit's staff intake: "staff:410105". */
static const char *staff_scope(struct arena *a, const char *unit)
{
    char *scope = arena_alloc(a, 16);
    snprintf(scope, 16, "staff:%s", unit);
    return scope;
}

/* Answers an auth failure or a refused role; false if the caller may go on. */
static bool refused(struct auth_request *a, int status)
{
    struct http_response *res = &a->conn->res;
    if (status == 401)
        http_response_error(res, 401, "unknown or revoked token", NULL);
    else if (status != 0)
        http_response_error(res, 503,
                            "the database is not reachable: retry after the "
                            "given seconds",
                            NULL);
    else if (!auth_role_in(&a->who, intake_roles))
        http_response_error(res, 403, "this token's role cannot enter reports",
                            NULL);
    else
        return false;
    http_conn_respond(a->conn, util_now_ms());
    return true;
}

static void staff_authed(struct auth_request *a, int status)
{
    if (refused(a, status))
        return;
    struct worker *w = a->worker;
    struct http_conn *conn = a->conn;
    struct http_request *req = &conn->req;
    struct http_response *res = &conn->res;
    struct report *r = arena_alloc(req->arena, sizeof(*r));
    struct report_error err;
    struct intake_submission *s = arena_alloc(req->arena, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->conn = conn;
    s->item.done = on_stored;
    if (report_from_json(
            req->arena, req->body.data, req->body.len, REPORT_SOURCE_STAFF,
            (int)w->server->config->max_json_depth, r, &err) != 0) {
        res->close = err.hostile;
        http_response_error(res, err.status, err.reason, err.field);
    } else if (prepare(w, req->arena, s, r,
                       staff_scope(req->arena, a->who.unit), r->external_id,
                       req->body.data, req->body.len) != 0 ||
               batcher_submit(&w->batcher, &s->item, util_now_ms()) != 0)
        http_response_error(res, 503, busy, NULL);
    else
        return; /* on_stored answers */
    http_conn_respond(conn, util_now_ms());
}

int intake_post_staff(void *app, struct http_conn *conn,
                      struct http_request *req, struct http_response *res)
{
    if (!is_json(req))
        return http_response_error(res, 415,
                                   "send the report as application/json", NULL);
    if (req->body.len == 0)
        return http_response_error(res, 400, "the body is empty", NULL);
    struct auth_request *a = arena_alloc(req->arena, sizeof(*a));
    return auth_start(a, app, conn, req, res, staff_authed);
}

/* One line of a batch and its answer. */
struct line {
    int number; /* 1-based line number in the body */
    int status; /* 0 while waiting for its batch */
    struct report_error err;
    struct intake_submission sub;
    struct staff_batch *batch; /* borrowed: the request it belongs to */
};

struct staff_batch {
    struct auth_request auth;
    struct line *lines;
    size_t count;
    size_t waiting; /* lines not yet answered, plus one while submitting */
};

static void batch_render(struct staff_batch *b)
{
    struct http_conn *conn = b->auth.conn;
    struct http_response *res = &conn->res;
    res->status = 200;
    res->content_type = "application/json";
    buf_appends(&res->body, "{\"results\":[");
    for (size_t i = 0; i < b->count; i++) {
        struct line *l = &b->lines[i];
        buf_printf(&res->body, "%s{\"line\":%d,\"status\":%d,", i ? "," : "",
                   l->number, l->status);
        if (l->status == 201) {
            buf_printf(&res->body, "\"receipt\":\"%s\",\"report_id\":\"%lld\"}",
                       l->sub.receipt, l->sub.item.report_id);
            continue;
        }
        buf_printf(&res->body, "\"error\":{\"code\":\"%s\",\"message\":",
                   http_status_error_code(l->status));
        http_json_string(&res->body, l->err.reason);
        if (l->err.field != NULL) {
            buf_appends(&res->body, ",\"field\":");
            http_json_string(&res->body, l->err.field);
        }
        buf_appends(&res->body, "}}");
    }
    buf_appends(&res->body, "]}\n");
    http_conn_respond(conn, util_now_ms());
}

static void line_stored(struct batch_item *it)
{
    struct intake_submission *s =
        container_of(it, struct intake_submission, item);
    struct line *l = container_of(s, struct line, sub);
    l->status = it->status;
    if (it->status == 409)
        l->err = (struct report_error){
            409, "external_id",
            "this external_id was already used for a different report", false};
    else if (it->status != 201)
        l->err = (struct report_error){503, NULL, busy, false};
    if (--l->batch->waiting == 0)
        batch_render(l->batch);
}

static void batch_authed(struct auth_request *a, int status)
{
    if (refused(a, status))
        return;
    struct staff_batch *b = container_of(a, struct staff_batch, auth);
    struct worker *w = a->worker;
    struct http_request *req = &a->conn->req;
    const struct config *cfg = w->server->config;
    const char *scope = staff_scope(req->arena, a->who.unit);

    /* Count the non-blank lines first to size the answers. */
    const char *p = req->body.data, *end = p + req->body.len;
    size_t count = 0;
    for (const char *q = p; q < end;) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        const char *e = nl ? nl : end;
        for (const char *c = q; c < e; c++)
            if (*c != ' ' && *c != '\t' && *c != '\r') {
                count++;
                break;
            }
        q = nl ? nl + 1 : end;
    }
    if (count == 0 || count > cfg->intake_batch_max_lines) {
        http_response_error(&a->conn->res, count ? 413 : 400,
                            count ? "too many lines in one batch: split it"
                                  : "the body has no report lines",
                            NULL);
        http_conn_respond(a->conn, util_now_ms());
        return;
    }
    b->lines = arena_alloc(req->arena, count * sizeof(struct line));
    memset(b->lines, 0, count * sizeof(struct line));
    b->count = count;
    b->waiting = 1; /* held until every line is submitted */

    size_t i = 0;
    int number = 0;
    for (const char *q = p; q < end && i < count;) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        const char *e = nl ? nl : end;
        number++;
        const char *line_start = q;
        q = nl ? nl + 1 : end;
        while (e > line_start &&
               (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e == line_start)
            continue;
        struct line *l = &b->lines[i++];
        l->number = number;
        l->batch = b;
        l->sub.conn = a->conn;
        l->sub.item.done = line_stored;
        struct report *r = arena_alloc(req->arena, sizeof(*r));
        size_t len = (size_t)(e - line_start);
        if (report_from_json(req->arena, line_start, len, REPORT_SOURCE_STAFF,
                             (int)cfg->max_json_depth, r, &l->err) != 0) {
            l->status = l->err.status;
            continue;
        }
        if (prepare(w, req->arena, &l->sub, r, scope, r->external_id,
                    line_start, len) != 0 ||
            batcher_submit(&w->batcher, &l->sub.item, util_now_ms()) != 0) {
            l->status = 503;
            l->err = (struct report_error){503, NULL, busy, false};
            continue;
        }
        b->waiting++;
    }
    if (--b->waiting == 0)
        batch_render(b);
}

int intake_post_staff_batch(void *app, struct http_conn *conn,
                            struct http_request *req, struct http_response *res)
{
    const struct http_header *ct = http_request_header(req, "content-type");
    size_t n = ct ? strcspn(ct->value, "; ") : 0;
    if (ct == NULL || (!util_ieq(ct->value, n, "application/x-ndjson") &&
                       !util_ieq(ct->value, n, "application/jsonl") &&
                       !util_ieq(ct->value, n, "application/json")))
        return http_response_error(
            res, 415, "send JSON lines as application/x-ndjson", NULL);
    struct staff_batch *b = arena_alloc(req->arena, sizeof(*b));
    memset(b, 0, sizeof(*b));
    return auth_start(&b->auth, app, conn, req, res, batch_authed);
}
