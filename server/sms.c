/*
 * sms: the three adapters. Each builds a report of channel sms from the
 * gateway's fields, keys it by the gateway's message id, and renders the
 * reply in the gateway's format when the commit's outcome is known.
 *
 * One path, submit(), decides what a message is, in this order: a status
 * query (only a receipt code), then a report. Kannel's parts of a long
 * message detour through sms_parts first and come back to submit() whole.
 */
#include "sms.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "form.h"
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

static const struct form_limits form_limits = {
    .max_fields = 64,
    .max_name_bytes = 64,
    .max_value_bytes = 65536,
};

/* Kannel's text may be UTF-16BE bytes; submit() checks the text after
 * conversion. */
static const struct form_limits kannel_limits = {
    .max_fields = 64,
    .max_name_bytes = 64,
    .max_value_bytes = 65536,
    .raw_values = true,
};

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

/* Skips ASCII whitespace, the ideographic space and colons (：). */
static const char *skip_separators(const char *p)
{
    for (;;) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == ':')
            p++;
        else if (strncmp(p, "\u3000", 3) == 0 || strncmp(p, "：", 3) == 0)
            p += 3;
        else
            return p;
    }
}

/* Whether text (after a leading keyword of the comma-separated list, if
 * any) is exactly one receipt code: its canonical form to code. */
static bool status_query(const char *keywords, const char *text,
                         char code[RECEIPT_CHARS + 1])
{
    const char *p = skip_separators(text);
    size_t n = strlen(p);
    while (n > 0 && strchr(" \t\r\n", p[n - 1]) != NULL)
        n--;
    /* A code is 20 characters, with dashes or spaces 23 or a few more. */
    if (n < RECEIPT_CHARS || n > 64)
        return false;
    if (receipt_normalize(p, n, code) == 0)
        return true;
    for (const char *k = keywords; *k != '\0';) {
        size_t len = strcspn(k, ",");
        if (len > 0 && len <= n) {
            /* ASCII case ignored; other bytes compared as they are. */
            bool same = true;
            for (size_t i = 0; same && i < len; i++) {
                char a = p[i], b = k[i];
                if (a >= 'A' && a <= 'Z')
                    a = (char)(a - 'A' + 'a');
                if (b >= 'A' && b <= 'Z')
                    b = (char)(b - 'A' + 'a');
                same = a == b;
            }
            if (same) {
                const char *rest = skip_separators(p + len);
                size_t left = n - (size_t)(rest - p);
                if (rest <= p + n && receipt_normalize(rest, left, code) == 0)
                    return true;
            }
        }
        k += len;
        if (*k == ',')
            k++;
    }
    return false;
}

/* UTF-16BE bytes to UTF-8 in the arena; NULL if malformed. */
static char *from_utf16be(struct arena *a, const char *in, size_t len)
{
    if (len % 2 != 0)
        return NULL;
    char *out = arena_alloc(a, len / 2 * 3 + 1);
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)in;
    for (size_t i = 0; i < len; i += 2) {
        unsigned cp = (unsigned)p[i] << 8 | p[i + 1];
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (i + 3 >= len)
                return NULL;
            unsigned lo = (unsigned)p[i + 2] << 8 | p[i + 3];
            if (lo < 0xdc00 || lo > 0xdfff)
                return NULL;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 2;
        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            return NULL;
        }
        o += utf8_encode((uint32_t)cp, out + o);
    }
    out[o] = '\0';
    return out;
}

/* A secret compared in constant time; false if either is empty. */
static bool same_secret(const char *want, const char *got, size_t got_len)
{
    size_t n = strlen(want);
    return n > 0 && n == got_len && CRYPTO_memcmp(want, got, n) == 0;
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

/*
 * Queues the SMS as a report; returns HTTP_ASYNC, or an error status with
 * res filled. key may be NULL (no message id: the repeat window keys it).
 * sent is when the gateway received the message (Unix seconds), or 0 if
 * unknown: a message stored after a gateway's retries keeps its own time.
 */
static int submit(struct worker *w, struct http_conn *conn,
                  struct http_request *req, struct http_response *res,
                  enum gateway gw, const char *scope, const char *key,
                  const char *from, const char *text, double sent)
{
    size_t n = strlen(text);
    if (n == 0 || !utf8_valid(text, n) || utf8_has_controls(text, n, true) ||
        utf8_count(text, n) > REPORT_CONTENT_MAX)
        return http_response_error(res, 422,
                                   "the message text must be 1 to 20000 "
                                   "characters of UTF-8 text",
                                   "text");
    if (from == NULL || from[0] == '\0' || strlen(from) > 64)
        return http_response_error(res, 422, "the sender number is required",
                                   "from");
    if (key != NULL && (strlen(key) == 0 || strlen(key) > 200))
        key = NULL;
    const struct config *cfg = w->server->config;

    struct report *r = arena_alloc(req->arena, sizeof(*r));
    memset(r, 0, sizeof(*r));
    r->channel = REPORT_SMS;
    r->content = text;
    r->has_received_at = sent > 0;
    r->received_at = sent;
    r->has_sender_hash = true;
    sms_sender_hash(w, from, r->sender_hash);

    /* Only a receipt code: the reporter asks for the report's state. */
    char *code = arena_alloc(req->arena, RECEIPT_CHARS + 1);
    if (status_query(cfg->sms_status_keywords, text, code)) {
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
    memcpy(identity + 32, text, n);

    /* No message id: an instant repeat (a gateway or a phone sending the
     * same twice) is caught by sender and text within a window. */
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

/* An SMS part can hold at most 160 characters; 200 bounds the joined text
 * of sms_parts_max (<= 100) parts by the 20,000 of a report. */
#define PART_MAX_CHARS 200

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
        if (submit(c->w, conn, &conn->req, res, GATEWAY_KANNEL, c->scope, key,
                   c->from, r->joined, 0) == HTTP_ASYNC)
            return;
    }
    http_conn_respond(conn, util_now_ms());
}

/* Stores one part of a long message; the part that completes it is
 * submitted as the whole message's report. */
static int submit_part(struct worker *w, struct http_conn *conn,
                       struct http_request *req, struct http_response *res,
                       const char *scope, const struct sms_part *p,
                       const char *from, const char *text)
{
    const struct config *cfg = w->server->config;
    size_t n = strlen(text);
    if (n == 0 || !utf8_valid(text, n) || utf8_has_controls(text, n, true) ||
        utf8_count(text, n) > PART_MAX_CHARS)
        return http_response_error(res, 422,
                                   "a message part must be 1 to 200 "
                                   "characters of UTF-8 text",
                                   "text");
    if (from == NULL || from[0] == '\0' || strlen(from) > 64)
        return http_response_error(res, 422, "the sender number is required",
                                   "from");
    if (p->total > cfg->sms_parts_max)
        return http_response_error(res, 422,
                                   "the message has more parts than "
                                   "sms_parts_max allows",
                                   "udh");
    struct part_call *c = arena_alloc(req->arena, sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->w = w;
    c->conn = conn;
    c->scope = scope;
    c->from = from;
    c->total = p->total;
    c->parts.arena = req->arena;
    c->parts.done = part_stored;
    unsigned char hash[32];
    sms_sender_hash(w, from, hash);
    if (sms_parts_add(&w->db, &c->parts, scope, hash, p, text,
                      cfg->sms_parts_window_s) != 0)
        return http_response_error(res, 503,
                                   "the database is not reachable: retry "
                                   "after the given seconds",
                                   NULL);
    return HTTP_ASYNC;
}

static const char *field(const struct form *f, const char *name)
{
    const struct form_field *x = form_get(f, name);
    return x != NULL ? x->value : NULL;
}

/* Kannel's %T: Unix seconds, if it is a plausible time (2000 to a day
 * ahead), else 0 (unknown: the store time is used). */
static double unix_time(const char *s)
{
    uint64_t t = 0;
    if (s == NULL || util_parse_u64(s, strlen(s), &t) != 0 || t < 946684800 ||
        t > (uint64_t)time(NULL) + 86400)
        return 0;
    return (double)t;
}

int sms_kannel(void *app, struct http_conn *conn, struct http_request *req,
               struct http_response *res)
{
    struct worker *w = app;
    struct form q;
    const char *reason = NULL;
    int status =
        form_parse_urlencoded(req->arena, req->query, strlen(req->query),
                              &kannel_limits, &q, &reason);
    if (status != 0)
        return http_response_error(res, status, reason, NULL);
    const struct form_field *key = form_get(&q, "key");
    if (key == NULL ||
        !same_secret(w->server->sms_kannel_key, key->value, key->value_len))
        return http_response_error(res, 403,
                                   "this callback is not from the "
                                   "configured gateway",
                                   NULL);

    /* get-url carries the text in the query; post-url in the body. */
    const struct form_field *t = form_get(&q, "text");
    const char *text = t ? t->value : NULL;
    size_t text_len = t ? t->value_len : 0;
    if (text == NULL && req->method == HTTP_METHOD_POST) {
        text = req->body.data ? req->body.data : "";
        text_len = req->body.len;
    }
    if (text == NULL)
        return http_response_error(res, 422, "the message text is missing",
                                   "text");
    /* charset names the text's encoding (%C); a get-url without it still
     * has coding (%c), and 2 is UCS-2 there. */
    const char *charset = field(&q, "charset");
    const char *coding = field(&q, "coding");
    bool ucs2 = charset != NULL && charset[0] != '\0'
                    ? util_ieq(charset, strlen(charset), "UTF-16BE") ||
                          util_ieq(charset, strlen(charset), "UCS-2") ||
                          util_ieq(charset, strlen(charset), "UTF-16")
                    : coding != NULL && strcmp(coding, "2") == 0;
    if (ucs2) {
        text = from_utf16be(req->arena, text, text_len);
        if (text == NULL)
            return http_response_error(
                res, 422, "the message is not valid UTF-16", "text");
    } else {
        text = arena_strndup(req->arena, text, text_len);
    }

    const char *smsc = field(&q, "smsc");
    char *scope = arena_alloc(req->arena, 80);
    snprintf(scope, 80, "kannel:%.64s", smsc ? smsc : "");
    const struct form_field *udh = form_get(&q, "udh");
    struct sms_part part;
    int is_part = udh == NULL
                      ? 0
                      : sms_parts_parse_udh((const unsigned char *)udh->value,
                                            udh->value_len, &part);
    if (is_part < 0)
        return http_response_error(
            res, 422, "udh is not a valid user data header", "udh");
    if (is_part > 0)
        return submit_part(w, conn, req, res, scope, &part, field(&q, "from"),
                           text);
    return submit(w, conn, req, res, GATEWAY_KANNEL, scope, field(&q, "id"),
                  field(&q, "from"), text, unix_time(field(&q, "time")));
}

static int by_name(const void *a, const void *b)
{
    const struct form_field *x = *(const struct form_field *const *)a;
    const struct form_field *y = *(const struct form_field *const *)b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->value, y->value);
}

void sms_twilio_signature(const char *token, const char *url,
                          const struct form *params, char *out)
{
    const struct form_field **sorted =
        calloc(params->count + 1, sizeof(*sorted));
    for (size_t i = 0; i < params->count; i++)
        sorted[i] = &params->fields[i];
    qsort(sorted, params->count, sizeof(*sorted), by_name);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string("digest", "SHA1", 0),
                      OSSL_PARAM_construct_end()};
    EVP_MAC_init(ctx, (const unsigned char *)token, strlen(token), p);
    EVP_MAC_update(ctx, (const unsigned char *)url, strlen(url));
    for (size_t i = 0; i < params->count; i++) {
        EVP_MAC_update(ctx, (const unsigned char *)sorted[i]->name,
                       sorted[i]->name_len);
        EVP_MAC_update(ctx, (const unsigned char *)sorted[i]->value,
                       sorted[i]->value_len);
    }
    unsigned char md[20];
    size_t n = 0;
    EVP_MAC_final(ctx, md, &n, sizeof(md));
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    free(sorted);
    EVP_EncodeBlock((unsigned char *)out, md, (int)n);
}

int sms_twilio(void *app, struct http_conn *conn, struct http_request *req,
               struct http_response *res)
{
    struct worker *w = app;
    const struct http_header *sig =
        http_request_header(req, "x-twilio-signature");
    if (w->server->sms_twilio_token[0] == '\0' || sig == NULL)
        return http_response_error(res, 403,
                                   "this callback is not from the "
                                   "configured gateway",
                                   NULL);
    struct form f;
    const char *reason = NULL;
    int status =
        form_parse_urlencoded(req->arena, req->body.data ? req->body.data : "",
                              req->body.len, &form_limits, &f, &reason);
    if (status != 0)
        return http_response_error(res, status, reason, NULL);
    char want[64];
    sms_twilio_signature(w->server->sms_twilio_token,
                         w->server->config->sms_twilio_url, &f, want);
    if (strlen(want) != sig->value_len ||
        CRYPTO_memcmp(want, sig->value, sig->value_len) != 0)
        return http_response_error(res, 403,
                                   "this callback is not from the "
                                   "configured gateway",
                                   NULL);
    const char *body = field(&f, "Body");
    return submit(w, conn, req, res, GATEWAY_TWILIO, "twilio",
                  field(&f, "MessageSid"), field(&f, "From"), body ? body : "",
                  0);
}

int sms_generic(void *app, struct http_conn *conn, struct http_request *req,
                struct http_response *res)
{
    struct worker *w = app;
    const struct http_header *sig = http_request_header(req, "x-signature");
    const char *key = w->server->sms_generic_key;
    if (key[0] == '\0' || sig == NULL || sig->value_len != 7 + 64 ||
        memcmp(sig->value, "sha256=", 7) != 0)
        return http_response_error(res, 403,
                                   "this callback is not from the "
                                   "configured gateway",
                                   NULL);
    unsigned char md[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key),
         (const unsigned char *)(req->body.data ? req->body.data : ""),
         req->body.len, md, &n);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    char got[65];
    for (int i = 0; i < 64; i++) {
        char c = sig->value[7 + i];
        got[i] = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
    }
    got[64] = '\0';
    if (CRYPTO_memcmp(hex, got, 64) != 0)
        return http_response_error(res, 403,
                                   "this callback is not from the "
                                   "configured gateway",
                                   NULL);

    cJSON *root = cJSON_ParseWithLength(req->body.data, req->body.len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return http_response_error(res, 400, "the body is not a JSON object",
                                   NULL);
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "message_id");
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(root, "from");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text");
    int rc;
    if (!cJSON_IsString(from) || !cJSON_IsString(text)) {
        rc = http_response_error(res, 422, "from and text are required",
                                 cJSON_IsString(from) ? "text" : "from");
    } else {
        const char *t = arena_strndup(req->arena, text->valuestring,
                                      strlen(text->valuestring));
        const char *f = arena_strndup(req->arena, from->valuestring,
                                      strlen(from->valuestring));
        const char *k = cJSON_IsString(id)
                            ? arena_strndup(req->arena, id->valuestring,
                                            strlen(id->valuestring))
                            : NULL;
        /* A time we cannot read is no reason to lose the message. */
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(root, "received_at");
        double sent = 0;
        if (!cJSON_IsString(at) ||
            report_parse_time(at->valuestring, &sent) != 0)
            sent = 0;
        rc = submit(w, conn, req, res, GATEWAY_GENERIC, "generic", k, f, t,
                    sent);
    }
    cJSON_Delete(root);
    return rc;
}
