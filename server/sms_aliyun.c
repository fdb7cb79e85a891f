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
 * stored like any other. The whole array is checked (sms_parse_aliyun)
 * before anything is queued: one bad message refuses the callback (4xx)
 * and stores nothing.
 */
#include <string.h>

#include "http_conn.h"
#include "intake.h"
#include "server.h"
#include "sms.h"
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

int sms_aliyun(void *app, struct http_conn *conn, struct http_request *req,
               struct http_response *res)
{
    struct worker *w = app;
    struct sms_parse_config cfg;
    sms_gateway_config(w, &cfg);
    struct sms_message *msgs;
    size_t count;
    struct sms_refusal why;
    if (sms_parse_aliyun(req->arena, req, &cfg, &msgs, &count, &why) != 0)
        return http_response_error(res, why.status, why.reason, why.field);

    struct push *p = arena_alloc(req->arena, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->conn = conn;
    p->count = count;
    p->worst = 201;
    p->waiting = 1;
    p->subs = arena_alloc(req->arena, count * sizeof(*p->subs));
    memset(p->subs, 0, count * sizeof(*p->subs));
    for (size_t i = 0; i < count; i++) {
        struct report *r = arena_alloc(req->arena, sizeof(*r));
        memset(r, 0, sizeof(*r));
        r->channel = REPORT_SMS;
        r->content = msgs[i].text;
        r->has_received_at = msgs[i].has_sent;
        r->received_at = msgs[i].sent;
        r->has_sender_hash = true;
        sms_sender_hash(w, msgs[i].from, r->sender_hash);
        size_t n = strlen(msgs[i].text);
        char *identity = arena_alloc(req->arena, 32 + n);
        memcpy(identity, r->sender_hash, 32);
        memcpy(identity + 32, msgs[i].text, n);
        const char *scope = msgs[i].scope;
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
