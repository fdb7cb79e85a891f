/*
 * sms: the three adapters. Each takes the message sms_parse decoded and
 * checked from the gateway's callback, builds a report of channel sms,
 * keys it by the gateway's message id, and renders the reply in the
 * gateway's format when the commit's outcome is known.
 *
 * One path, submit(), acts on what the message is: a status query (only
 * a receipt code: a lookup, nothing stored), else a report. Kannel's parts
 * of a long message detour through sms_parts first and come back to
 * submit() whole, their joined text checked by sms_parse_check like any
 * message's.
 */
#include "sms.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_conn.h"
#include "intake.h"
#include "receipt.h"
#include "server.h"
#include "sms_parts.h"
#include "sms_repeat.h"
#include "status.h"
#include "utf8.h"
#include "util.h"
#include "worker.h"

/* The reply SMS texts, each short enough for one 70-character UCS-2
 * message (a status reply with a staff message may take a few). */
#define REPLY_STORED "已收到您的举报。回执码：%s，请妥善保存，凭此码查询进展。"
#define REPLY_UNKNOWN "未找到该回执码对应的举报，请核对后重发。"
#define REPLY_TOO_OFTEN "查询过于频繁，请稍后再试。"

enum gateway { GATEWAY_KANNEL, GATEWAY_TWILIO, GATEWAY_GENERIC };

void sms_sender_hash(const struct worker *w, const char *number,
                     unsigned char out[32])
{
    unsigned char msg[11 + 64];
    size_t n = strlen(number);
    if (n > 64)
        n = 64;
    memcpy(msg, "sms-sender", 11);
    memcpy(msg + 11, number, n);
    unsigned int len = 0;
    HMAC(EVP_sha256(), w->server->receipt_key, 32, msg, 11 + n, out, &len);
}

static void xml_text(struct buf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            buf_appends(b, "&amp;");
            break;
        case '<':
            buf_appends(b, "&lt;");
            break;
        case '>':
            buf_appends(b, "&gt;");
            break;
        default:
            buf_append(b, s, 1);
        }
    }
}

/*
 * Answers 200 with text as the reply SMS in the gateway's format; receipt
 * (may be NULL) also goes into the generic gateway's JSON. Kannel sends
 * the body as the SMS; its X-Kannel-Coding: 2 makes it UCS-2, or Kannel
 * squeezes Chinese into GSM as "???".
 */
static void reply(enum gateway gw, struct http_response *res,
                  const char *receipt, const char *text)
{
    res->status = 200;
    switch (gw) {
    case GATEWAY_KANNEL:
        res->content_type = "text/plain; charset=utf-8";
        http_response_header(res, "X-Kannel-Coding", "2");
        buf_appends(&res->body, text);
        break;
    case GATEWAY_TWILIO:
        res->content_type = "text/xml; charset=utf-8";
        buf_appends(&res->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                "<Response><Message>");
        xml_text(&res->body, text);
        buf_appends(&res->body, "</Message></Response>\n");
        break;
    case GATEWAY_GENERIC:
        res->content_type = "application/json";
        buf_appends(&res->body, "{");
        if (receipt != NULL)
            buf_printf(&res->body, "\"receipt\":\"%s\",", receipt);
        buf_appends(&res->body, "\"reply\":");
        http_json_string(&res->body, text);
        buf_appends(&res->body, "}\n");
        break;
    }
}

/* A message stored (or a repeat of one): the receipt. Not stored: 503 (or
 * 409), which every gateway retries later. */
static void render(enum gateway gw, struct intake_submission *s,
                   struct http_response *res)
{
    if (s->item.status != 201) {
        http_response_error(res, s->item.status == 409 ? 409 : 503,
                            "the message could not be stored now", NULL);
        return;
    }
    char text[256];
    snprintf(text, sizeof(text), REPLY_STORED, s->receipt);
    reply(gw, res, s->receipt, text);
}

static void render_kannel(struct intake_submission *s,
                          struct http_response *res)
{
    render(GATEWAY_KANNEL, s, res);
}

static void render_twilio(struct intake_submission *s,
                          struct http_response *res)
{
    render(GATEWAY_TWILIO, s, res);
}

static void render_generic(struct intake_submission *s,
                           struct http_response *res)
{
    render(GATEWAY_GENERIC, s, res);
}

/* --- status by SMS ------------------------------------------------------ */

static const char *state_text(const char *state)
{
    if (strcmp(state, "accepted") == 0)
        return "已受理，等待办理";
    if (strcmp(state, "in_progress") == 0)
        return "正在办理";
    if (strcmp(state, "closed") == 0)
        return "已办结";
    return "已收到，等待分办";
}

/* Appends s to b cut to at most max characters (the last one '…'). */
static void append_cut(struct buf *b, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (utf8_count(s, n) <= max) {
        buf_appends(b, s);
        return;
    }
    size_t chars = 0, i = 0;
    while (i < n && chars + 1 < max) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        chars++;
    }
    buf_append(b, s, i);
    buf_appends(b, "…");
}

/*
 * The status reply from the lookup's row ({"state", "messages": [{"from",
 * "body"}...]}): the state, then the newest staff message cut so the whole
 * reply stays within sms_reply_max_chars.
 */
static void status_reply(enum gateway gw, struct http_response *res,
                         int outcome, const char *row)
{
    if (outcome == 503) {
        http_response_error(res, 503,
                            "the database is not reachable: retry after the "
                            "given seconds",
                            NULL);
        return;
    }
    if (outcome != 200 || row == NULL) {
        reply(gw, res, NULL, REPLY_UNKNOWN);
        return;
    }
    /* res is the waiting connection's (status.h); its worker's config. */
    struct http_conn *conn = container_of(res, struct http_conn, res);
    const struct worker *w = conn->app;
    size_t max = (size_t)w->server->config->sms_reply_max_chars;
    cJSON *doc = cJSON_Parse(row);
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(doc, "state");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(doc, "messages");
    const char *staff = NULL;
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(m, "from");
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(m, "body");
        if (cJSON_IsString(from) && strcmp(from->valuestring, "staff") == 0 &&
            cJSON_IsString(body))
            staff = body->valuestring;
    }
    struct buf text;
    buf_init(&text, 8192);
    buf_printf(&text, "您的举报%s。",
               state_text(cJSON_IsString(state) ? state->valuestring : ""));
    if (staff != NULL) {
        buf_appends(&text, "最新答复：");
        size_t used = utf8_count(text.data, text.len);
        append_cut(&text, staff, max > used ? max - used : 1);
    }
    reply(gw, res, NULL, text.data);
    buf_cleanup(&text);
    cJSON_Delete(doc);
}

static void status_kannel(struct http_response *res, int outcome,
                          const char *row, void *data)
{
    (void)data;
    status_reply(GATEWAY_KANNEL, res, outcome, row);
}

static void status_twilio(struct http_response *res, int outcome,
                          const char *row, void *data)
{
    (void)data;
    status_reply(GATEWAY_TWILIO, res, outcome, row);
}

static void status_generic(struct http_response *res, int outcome,
                           const char *row, void *data)
{
    (void)data;
    status_reply(GATEWAY_GENERIC, res, outcome, row);
}

const char *sms_repeat_key(const struct worker *w, struct arena *a,
                           const char *identity, size_t len, const char **scope)
{
    /* The hash of sender and text and its window (sms_repeat.h). */
    uint64_t window = w->server->config->sms_repeat_window_s;
    if (window == 0)
        return NULL;
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(identity, len, md, &mdlen, EVP_sha256(), NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now_ms =
        (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    int64_t n =
        sms_repeats_window(&w->server->sms_repeats, md, now_ms, window * 1000);
    char *k = arena_alloc(a, 80);
    int o = snprintf(k, 80, "repeat:");
    for (int i = 0; i < 16; i++)
        o += snprintf(k + o, (size_t)(80 - o), "%02x", md[i]);
    snprintf(k + o, (size_t)(80 - o), ":%lld", (long long)n);
    char *sc = arena_alloc(a, 100);
    snprintf(sc, 100, "repeat:%.80s", *scope);
    *scope = sc;
    return k;
}

void sms_gateway_config(const struct worker *w, struct sms_parse_config *out)
{
    const struct server *s = w->server;
    out->kannel_key = s->sms_kannel_key;
    out->twilio_token = s->sms_twilio_token;
    out->twilio_url = s->config->sms_twilio_url;
    out->generic_key = s->sms_generic_key;
    out->aliyun_key = s->sms_aliyun_key;
    out->status_keywords = s->config->sms_status_keywords;
    out->parts_max = (unsigned)s->config->sms_parts_max;
    out->cloud_batch_max = (size_t)s->config->sms_cloud_batch_max;
    out->now = (double)time(NULL);
}

/*
 * Queues the checked message m (sms_parse_check: an SMS_REPORT or an
 * SMS_STATUS_QUERY) as a report or a status lookup; returns HTTP_ASYNC,
 * or a status with res filled. Without a message id the repeat window
 * keys it. m->sent is when the gateway received the message: a message
 * stored after a gateway's retries keeps its own time.
 */
static int submit(struct worker *w, struct http_conn *conn,
                  struct http_request *req, struct http_response *res,
                  enum gateway gw, const struct sms_message *m)
{
    size_t n = strlen(m->text);
    struct report *r = arena_alloc(req->arena, sizeof(*r));
    memset(r, 0, sizeof(*r));
    r->channel = REPORT_SMS;
    r->content = m->text;
    r->has_received_at = m->has_sent;
    r->received_at = m->sent;
    r->has_sender_hash = true;
    sms_sender_hash(w, m->from, r->sender_hash);

    /* Only a receipt code: the reporter asks for the report's state. */
    if (m->kind == SMS_STATUS_QUERY) {
        char *code = arena_strndup(req->arena, m->code, RECEIPT_CHARS);
        uint64_t sender;
        memcpy(&sender, r->sender_hash, sizeof(sender));
        status_render_cb cb = gw == GATEWAY_KANNEL   ? status_kannel
                              : gw == GATEWAY_TWILIO ? status_twilio
                                                     : status_generic;
        if (ratelimit_take(&w->sms_status, sender | 1, util_now_ms()) != 0) {
            reply(gw, res, NULL, REPLY_TOO_OFTEN);
            return res->status;
        }
        return status_start(w, conn, req, res, code, NULL, cb, NULL);
    }

    /* The request's identity for idempotency: sender and text. */
    char *identity = arena_alloc(req->arena, 64 + n);
    memcpy(identity, r->sender_hash, 32);
    memcpy(identity + 32, m->text, n);

    /* No message id: an instant repeat (a gateway or a phone sending the
     * same twice) is caught by sender and text within a window. */
    const char *scope = m->scope;
    const char *key = m->id;
    if (key == NULL)
        key = sms_repeat_key(w, req->arena, identity, 32 + n, &scope);

    struct intake_submission *s = arena_alloc(req->arena, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->conn = conn;
    s->render = gw == GATEWAY_KANNEL   ? render_kannel
                : gw == GATEWAY_TWILIO ? render_twilio
                                       : render_generic;
    if (intake_submit(w, req, s, r, scope, key, identity, 32 + n) != 0)
        return http_response_error(res, 503,
                                   "too busy to take this now: retry after "
                                   "the given seconds",
                                   NULL);
    return HTTP_ASYNC;
}

/* --- parts of a long message (sms_parts.h) ------------------------------ */

struct part_call {
    struct sms_parts_request parts;
    struct worker *w;       /* borrowed */
    struct http_conn *conn; /* borrowed: waits in HANDLING for us */
    const char *scope;      /* in the request's arena */
    const char *from;       /* in the request's arena */
    unsigned total;
};

static void part_stored(struct sms_parts_request *r, int status)
{
    struct part_call *c = container_of(r, struct part_call, parts);
    struct http_conn *conn = c->conn;
    struct http_response *res = &conn->res;
    if (status != 0) {
        http_response_error(res, 503,
                            "the message part could not be stored now", NULL);
    } else if (r->have < (int)c->total || r->joined == NULL) {
        /* No SMS until the message is whole (Kannel's omit-empty). */
        reply(GATEWAY_KANNEL, res, NULL, "");
    } else {
        /* Whole: one report keyed by the group and the joined text, so the
         * completing part and its re-deliveries share one receipt. */
        unsigned char g[32], t[32];
        unsigned int n = 0;
        EVP_Digest(r->group_key, strlen(r->group_key), g, &n, EVP_sha256(),
                   NULL);
        EVP_Digest(r->joined, strlen(r->joined), t, &n, EVP_sha256(), NULL);
        char *key = arena_alloc(conn->req.arena, 48);
        int o = snprintf(key, 48, "parts:");
        for (int i = 0; i < 8; i++)
            o += snprintf(key + o, (size_t)(48 - o), "%02x", g[i]);
        key[o++] = ':';
        for (int i = 0; i < 8; i++)
            o += snprintf(key + o, (size_t)(48 - o), "%02x", t[i]);
        /* The joined text is checked as any whole message is. */
        struct sms_parse_config cfg;
        sms_gateway_config(c->w, &cfg);
        struct sms_message m = {
            .scope = c->scope, .id = key, .from = c->from, .text = r->joined};
        struct sms_refusal why;
        if (sms_parse_check(&cfg, &m, &why) != 0)
            http_response_error(res, why.status, why.reason, why.field);
        else if (submit(c->w, conn, &conn->req, res, GATEWAY_KANNEL, &m) ==
                 HTTP_ASYNC)
            return;
    }
    http_conn_respond(conn, util_now_ms());
}

/* Stores one part (checked by sms_parse_kannel) of a long message; the
 * part that completes it is submitted as the whole message's report. */
static int submit_part(struct worker *w, struct http_conn *conn,
                       struct http_request *req, struct http_response *res,
                       const struct sms_message *m)
{
    struct part_call *c = arena_alloc(req->arena, sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->w = w;
    c->conn = conn;
    c->scope = m->scope;
    c->from = m->from;
    c->total = m->part.total;
    c->parts.arena = req->arena;
    c->parts.done = part_stored;
    unsigned char hash[32];
    sms_sender_hash(w, m->from, hash);
    if (sms_parts_add(&w->db, &c->parts, m->scope, hash, &m->part, m->text,
                      w->server->config->sms_parts_window_s) != 0)
        return http_response_error(res, 503,
                                   "the database is not reachable: retry "
                                   "after the given seconds",
                                   NULL);
    return HTTP_ASYNC;
}

/* --- the handlers: parse (sms_parse.h), then submit --------------------- */

typedef int parse_fn(struct arena *a, const struct http_request *req,
                     const struct sms_parse_config *cfg, struct sms_message *m,
                     struct sms_refusal *why);

/* One gateway's callback: its parser decides, then the message (or, from
 * Kannel, a part of one) goes to intake. */
static int handle(struct worker *w, struct http_conn *conn,
                  struct http_request *req, struct http_response *res,
                  enum gateway gw, parse_fn *parse)
{
    struct sms_parse_config cfg;
    sms_gateway_config(w, &cfg);
    struct sms_message m;
    struct sms_refusal why;
    if (parse(req->arena, req, &cfg, &m, &why) != 0)
        return http_response_error(res, why.status, why.reason, why.field);
    if (m.kind == SMS_PART)
        return submit_part(w, conn, req, res, &m);
    return submit(w, conn, req, res, gw, &m);
}

int sms_kannel(void *app, struct http_conn *conn, struct http_request *req,
               struct http_response *res)
{
    return handle(app, conn, req, res, GATEWAY_KANNEL, sms_parse_kannel);
}

int sms_twilio(void *app, struct http_conn *conn, struct http_request *req,
               struct http_response *res)
{
    return handle(app, conn, req, res, GATEWAY_TWILIO, sms_parse_twilio);
}

int sms_generic(void *app, struct http_conn *conn, struct http_request *req,
                struct http_response *res)
{
    return handle(app, conn, req, res, GATEWAY_GENERIC, sms_parse_generic);
}
