/*
 * intake: one struct submission per request, in the request's arena, holds
 * the batch item and what the answer needs; the batch's done callback
 * renders the answer and resumes the connection.
 */
#include "intake.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "batch.h"
#include "http_conn.h"
#include "receipt.h"
#include "report.h"
#include "server.h"
#include "util.h"
#include "worker.h"

struct submission {
    struct batch_item item;
    struct http_conn *conn; /* borrowed: waits in HANDLING for us */
    char receipt[RECEIPT_TEXT_SIZE];
};

int intake_admit(void *app)
{
    struct worker *w = app;
    return batcher_admits(&w->batcher) ? 0 : HTTP_UNAVAILABLE;
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

static void on_stored(struct batch_item *it)
{
    struct submission *s = container_of(it, struct submission, item);
    struct http_response *res = &s->conn->res;
    if (it->status == 201) {
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
                         &err) != 0)
        return http_response_error(res, err.status, err.reason, err.field);

    struct submission *s = arena_alloc(req->arena, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->conn = conn;
    s->item.report = r;
    s->item.scope = "web";
    s->item.done = on_stored;
    if (key != NULL) {
        s->item.key = arena_strndup(req->arena, key, strlen(key));
        unsigned int n = 0;
        EVP_Digest(req->body.data, req->body.len, s->item.request_sha, &n,
                   EVP_sha256(), NULL);
        receipt_derive(w->server->receipt_key, s->item.scope, s->item.key,
                       s->item.request_sha, s->receipt);
    } else if (receipt_random(s->receipt) != 0) {
        return http_response_error(res, 503, "no randomness available", NULL);
    }
    char canonical[RECEIPT_CHARS + 1];
    receipt_normalize(s->receipt, strlen(s->receipt), canonical);
    receipt_hash(w->server->receipt_key, canonical, s->item.receipt_hash);

    if (batcher_submit(&w->batcher, &s->item, util_now_ms()) != 0)
        return http_response_error(res, 503,
                                   "too busy to take this now: retry after "
                                   "the given seconds",
                                   NULL);
    return HTTP_ASYNC;
}
