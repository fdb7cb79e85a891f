/*
 * sms_aliyun: Alibaba Cloud SMS's uplink push (SmsUp, "HTTP批量推送"): a
 * POST whose body is a JSON array of messages
 *
 *   [{"phone_number": "13800001111", "content": "...",
 *     "send_time": "2026-11-30 09:15:02", "dest_code": "1234",
 *     "sign_name": "...", "sequence_id": 1234567890}, ...]
 *
 * (sequence_id a number or a string, send_time Beijing time, also seen as
 * "20261130091502"), answered {"code":0,"msg":"接收成功"} with 200 once
 * every message is stored; any other status makes the platform push the
 * whole array again later (after 1, 5 and 10 minutes), and the messages
 * already stored are then replays. The platform signs nothing, so the
 * proof is a secret in the URL configured in its console
 * (/sms/aliyun?key=SECRET), compared in constant time.
 *
 * Each message becomes its own report, keyed by sequence_id (scope
 * "aliyun"); without one, by the repeat window. The push has no reply
 * channel: the receipt would go out through the platform's SendSms API,
 * which is outside tipd, so a message that is only a receipt code is
 * stored like any other. The whole array is checked before anything is
 * queued: one bad message refuses the callback (4xx) and stores nothing.
 */
#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "form.h"
#include "http_conn.h"
#include "intake.h"
#include "server.h"
#include "sms.h"
#include "utf8.h"
#include "util.h"
#include "worker.h"

/* One callback: its messages' submissions and the count still waiting. */
struct push {
    struct http_conn *conn; /* borrowed: waits in HANDLING for us */
    struct intake_submission *subs;
    size_t count;
    size_t waiting; /* plus one while submitting */
    int worst;      /* 201, or the first 409/503 seen */
};

static void answer(struct push *p)
{
    struct http_response *res = &p->conn->res;
    if (p->worst == 201) {
        res->status = 200;
        res->content_type = "application/json";
        buf_appends(&res->body, "{\"code\":0,\"msg\":\"接收成功\"}\n");
    } else if (p->worst == 409) {
        http_response_error(res, 409,
                            "a sequence_id was already used for another "
                            "message",
                            "sequence_id");
    } else {
        http_response_error(res, 503,
                            "the messages could not be stored now: retry "
                            "after the given seconds",
                            NULL);
    }
    http_conn_respond(p->conn, util_now_ms());
}

static void stored(struct batch_item *it)
{
    struct intake_submission *s =
        container_of(it, struct intake_submission, item);
    struct push *p = s->data;
    if (it->status != 201 && p->worst != 409)
        p->worst = it->status == 409 ? 409 : 503;
    if (--p->waiting == 0)
        answer(p);
}

/* "2026-11-30 09:15:02" or "20261130091502", Beijing time, to Unix
 * seconds; false if it is neither. */
static bool beijing_time(const char *s, double *out)
{
    char iso[40];
    size_t n = strlen(s);
    if (n == 19)
        snprintf(iso, sizeof(iso), "%.10sT%.8s+08:00", s, s + 11);
    else if (n == 14 && strspn(s, "0123456789") == 14)
        snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s+08:00", s,
                 s + 4, s + 6, s + 8, s + 10, s + 12);
    else
        return false;
    return report_parse_time(iso, out) == 0;
}

/* The checked fields of one message, copied into the arena. */
struct message {
    const char *from, *text, *id;
    bool has_time;
    double time;
};

static char *copy(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

/* NULL, or why m is refused with the field it names in *field. */
static const char *check(struct arena *a, const cJSON *m, struct message *out,
                         const char **field)
{
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(m, "phone_number");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(m, "content");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(m, "sequence_id");
    const cJSON *sent = cJSON_GetObjectItemCaseSensitive(m, "send_time");
    *field = NULL;
    if (!cJSON_IsObject(m))
        return "each message must be a JSON object";
    *field = "phone_number";
    if (!cJSON_IsString(from) || from->valuestring[0] == '\0' ||
        strlen(from->valuestring) > 64)
        return "phone_number must be the sender's number";
    *field = "content";
    if (!cJSON_IsString(text))
        return "content must be the message text";
    size_t n = strlen(text->valuestring);
    if (n == 0 || !utf8_valid(text->valuestring, n) ||
        utf8_has_controls(text->valuestring, n, true) ||
        utf8_count(text->valuestring, n) > REPORT_CONTENT_MAX)
        return "content must be 1 to 20000 characters of UTF-8 text";
    *field = "sequence_id";
    out->id = NULL;
    if (cJSON_IsNumber(seq) && seq->valuedouble >= 0 &&
        seq->valuedouble < 9.007199254740992e15) {
        char num[32];
        snprintf(num, sizeof(num), "%.0f", seq->valuedouble);
        out->id = copy(a, num);
    } else if (cJSON_IsString(seq) && seq->valuestring[0] != '\0' &&
               strlen(seq->valuestring) <= 200) {
        out->id = copy(a, seq->valuestring);
    } else if (seq != NULL && !cJSON_IsNull(seq)) {
        return "sequence_id must be a number or a string";
    }
    *field = NULL;
    out->from = copy(a, from->valuestring);
    out->text = copy(a, text->valuestring);
    /* A time we cannot read is no reason to lose a report: now, then. */
    out->has_time =
        cJSON_IsString(sent) && beijing_time(sent->valuestring, &out->time);
    return NULL;
}

static int refuse(struct http_response *res, cJSON *root, int status,
                  const char *why, const char *field)
{
    cJSON_Delete(root);
    return http_response_error(res, status, why, field);
}

int sms_aliyun(void *app, struct http_conn *conn, struct http_request *req,
               struct http_response *res)
{
    struct worker *w = app;
    struct form q;
    const char *reason = NULL;
    static const struct form_limits limits = {
        .max_fields = 16, .max_name_bytes = 64, .max_value_bytes = 512};
    if (form_parse_urlencoded(req->arena, req->query, strlen(req->query),
                              &limits, &q, &reason) != 0)
        return http_response_error(res, 403,
                                   "this callback is not from the "
                                   "configured gateway",
                                   NULL);
    const struct form_field *key = form_get(&q, "key");
    const char *want = w->server->sms_aliyun_key;
    if (want[0] == '\0' || key == NULL || strlen(want) != key->value_len ||
        CRYPTO_memcmp(want, key->value, key->value_len) != 0)
        return http_response_error(res, 403,
                                   "this callback is not from the "
                                   "configured gateway",
                                   NULL);

    cJSON *root = cJSON_ParseWithLength(req->body.data ? req->body.data : "",
                                        req->body.len);
    if (!cJSON_IsArray(root))
        return refuse(res, root, 400, "the body must be a JSON array", NULL);
    size_t count = (size_t)cJSON_GetArraySize(root);
    if (count == 0)
        return refuse(res, root, 400, "the array has no messages", NULL);
    if (count > w->server->config->sms_cloud_batch_max)
        return refuse(res, root, 413,
                      "more messages than sms_cloud_batch_max in one "
                      "callback",
                      NULL);

    /* Check them all first: one bad message stores nothing. */
    struct message *msgs = arena_alloc(req->arena, count * sizeof(*msgs));
    size_t i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, root)
    {
        const char *field;
        const char *why = check(req->arena, m, &msgs[i++], &field);
        if (why != NULL)
            return refuse(res, root, 422, why, field);
    }
    cJSON_Delete(root);

    struct push *p = arena_alloc(req->arena, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->conn = conn;
    p->count = count;
    p->worst = 201;
    p->waiting = 1;
    p->subs = arena_alloc(req->arena, count * sizeof(*p->subs));
    memset(p->subs, 0, count * sizeof(*p->subs));
    for (i = 0; i < count; i++) {
        struct report *r = arena_alloc(req->arena, sizeof(*r));
        memset(r, 0, sizeof(*r));
        r->channel = REPORT_SMS;
        r->content = msgs[i].text;
        r->has_received_at = msgs[i].has_time;
        r->received_at = msgs[i].time;
        r->has_sender_hash = true;
        sms_sender_hash(w, msgs[i].from, r->sender_hash);
        size_t n = strlen(msgs[i].text);
        char *identity = arena_alloc(req->arena, 32 + n);
        memcpy(identity, r->sender_hash, 32);
        memcpy(identity + 32, msgs[i].text, n);
        const char *scope = "aliyun";
        const char *k = msgs[i].id;
        if (k == NULL)
            k = sms_repeat_key(w, req->arena, identity, 32 + n, &scope);
        struct intake_submission *s = &p->subs[i];
        s->conn = conn;
        s->data = p;
        s->item.done = stored;
        if (intake_submit(w, req, s, r, scope, k, identity, 32 + n) != 0) {
            p->worst = p->worst == 409 ? 409 : 503;
            continue;
        }
        p->waiting++;
    }
    if (--p->waiting == 0)
        answer(p);
    return HTTP_ASYNC;
}
