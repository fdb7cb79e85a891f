/*
 * sms: the three adapters. Each builds a report of channel sms from the
 * gateway's fields, keys it by the gateway's message id, and renders the
 * reply in the gateway's format when the commit's outcome is known.
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

#include "form.h"
#include "http_conn.h"
#include "intake.h"
#include "server.h"
#include "utf8.h"
#include "util.h"
#include "worker.h"

/* The reply SMS: the receipt and what it is for, short enough for one
 * 70-character UCS-2 message. */
#define REPLY_STORED "已收到您的举报。回执码：%s，请妥善保存，凭此码查询进展。"

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

/* HMAC(receipt key, "sms-sender" NUL number): threads a sender's messages
 * without keeping the number. */
static void sender_hash(const struct worker *w, const char *number,
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

/* Answers a message that was not stored; false if it was. A gateway
 * retries a non-2xx callback later. */
static bool not_stored(struct intake_submission *s, struct http_response *res)
{
    if (s->item.status == 201)
        return false;
    http_response_error(res, s->item.status == 409 ? 409 : 503,
                        "the message could not be stored now", NULL);
    return true;
}

static void reply_text(const struct intake_submission *s, char *out, size_t cap)
{
    snprintf(out, cap, REPLY_STORED, s->receipt);
}

/* Kannel: the answer's body is the reply SMS. A 503 makes Kannel retry
 * the callback later (its get-url retries non-2xx). */
static void render_kannel(struct intake_submission *s,
                          struct http_response *res)
{
    char text[256];
    if (not_stored(s, res))
        return;
    reply_text(s, text, sizeof(text));
    res->status = 200;
    res->content_type = "text/plain; charset=utf-8";
    /* UCS-2, or Kannel squeezes Chinese into GSM as "???" */
    http_response_header(res, "X-Kannel-Coding", "2");
    buf_appends(&res->body, text);
}

/* Twilio: TwiML with one <Message>; the receipt's characters need no XML
 * escaping. */
static void render_twilio(struct intake_submission *s,
                          struct http_response *res)
{
    char text[256];
    if (not_stored(s, res))
        return;
    reply_text(s, text, sizeof(text));
    res->status = 200;
    res->content_type = "text/xml; charset=utf-8";
    buf_printf(&res->body,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<Response><Message>%s</Message></Response>\n",
               text);
}

static void render_generic(struct intake_submission *s,
                           struct http_response *res)
{
    char text[256];
    if (not_stored(s, res))
        return;
    reply_text(s, text, sizeof(text));
    res->status = 200;
    res->content_type = "application/json";
    buf_printf(&res->body, "{\"receipt\":\"%s\",\"reply\":", s->receipt);
    http_json_string(&res->body, text);
    buf_appends(&res->body, "}\n");
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
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else if (cp < 0x800) {
            out[o++] = (char)(0xc0 | cp >> 6);
            out[o++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[o++] = (char)(0xe0 | cp >> 12);
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[o++] = (char)(0xf0 | cp >> 18);
            out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (cp & 0x3f));
        }
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

/*
 * Queues the SMS as a report; returns HTTP_ASYNC, or an error status with
 * res filled. key may be NULL (no message id: a new report each time).
 */
static int submit(struct worker *w, struct http_conn *conn,
                  struct http_request *req, struct http_response *res,
                  enum gateway gw, const char *scope, const char *key,
                  const char *from, const char *text)
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

    struct report *r = arena_alloc(req->arena, sizeof(*r));
    memset(r, 0, sizeof(*r));
    r->channel = REPORT_SMS;
    r->content = text;
    r->has_sender_hash = true;
    sender_hash(w, from, r->sender_hash);

    /* The request's identity for idempotency: sender and text. */
    char *identity = arena_alloc(req->arena, 64 + n);
    memcpy(identity, r->sender_hash, 32);
    memcpy(identity + 32, text, n);

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

static const char *field(const struct form *f, const char *name)
{
    const struct form_field *x = form_get(f, name);
    return x != NULL ? x->value : NULL;
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
    const char *charset = field(&q, "charset");
    if (charset != NULL && (util_ieq(charset, strlen(charset), "UTF-16BE") ||
                            util_ieq(charset, strlen(charset), "UCS-2") ||
                            util_ieq(charset, strlen(charset), "UTF-16"))) {
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
    return submit(w, conn, req, res, GATEWAY_KANNEL, scope, field(&q, "id"),
                  field(&q, "from"), text);
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
                  field(&f, "MessageSid"), field(&f, "From"), body ? body : "");
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
        rc = submit(w, conn, req, res, GATEWAY_GENERIC, "generic", k, f, t);
    }
    cJSON_Delete(root);
    return rc;
}
