/*
 * sms_parse: the four gateways' callbacks decoded. Each parser follows its
 * gateway's request from the outside in: the query or body decoded with
 * bounds, the proof compared in constant time, the fields taken out and
 * copied into the arena, and last sms_parse_check(), the one place that
 * says what a whole message must be and whether it is a status query.
 *
 * A refusal's texts are the answers gateways have always seen: the e2e
 * tests pin them, so they change only with the API.
 */
#include "sms_parse.h"

#include <cjson/cJSON.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "report.h"
#include "utf8.h"
#include "util.h"

#define NOT_THE_GATEWAY "this callback is not from the configured gateway"

static const struct form_limits form_limits = {
    .max_fields = 64,
    .max_name_bytes = 64,
    .max_value_bytes = 65536,
};

/* Kannel's text may be UTF-16BE bytes; the text is checked after
 * conversion. */
static const struct form_limits kannel_limits = {
    .max_fields = 64,
    .max_name_bytes = 64,
    .max_value_bytes = 65536,
    .raw_values = true,
};

/* The push URL's query holds little but the key. */
static const struct form_limits aliyun_query_limits = {
    .max_fields = 16,
    .max_name_bytes = 64,
    .max_value_bytes = 512,
};

static int refuse(struct sms_refusal *why, int status, const char *reason,
                  const char *field)
{
    why->status = status;
    why->reason = reason;
    why->field = field;
    return status;
}

static const char *field(const struct form *f, const char *name)
{
    const struct form_field *x = form_get(f, name);
    return x != NULL ? x->value : NULL;
}

static char *copy(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

/* A JSON gateway's body with every \u0000 escape made \uFFFD (the same
 * length): as text_copy, so a NUL cannot end a text early
 * (util_json_nul_escape). The body itself when it has none. */
static const char *json_body(struct arena *a, const struct http_request *req)
{
    const char *s = req->body.data != NULL ? req->body.data : "";
    size_t n = req->body.len;
    size_t at = util_json_nul_escape(s, n, 0);
    if (at == n)
        return s;
    char *fixed = arena_strndup(a, s, n);
    for (; at < n; at = util_json_nul_escape(fixed, n, at + 6))
        memcpy(fixed + at + 2, "FFFD", 4);
    return fixed;
}

/* A message's text of n bytes as a C string. A NUL byte (U+0000, which no
 * phone means to send) becomes U+FFFD: it must not end the text early and
 * silently lose what follows it. */
static char *text_copy(struct arena *a, const char *s, size_t n)
{
    size_t nuls = 0;
    for (size_t i = 0; i < n; i++)
        nuls += s[i] == '\0';
    char *out = arena_alloc(a, n + 2 * nuls + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0') {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
        } else {
            out[o++] = s[i];
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

/* --- what a whole message must be --------------------------------------- */

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

/* An id no store could key by is no id: the repeat window keys the
 * message instead. */
static void drop_unusable_id(struct sms_message *m)
{
    if (m->id != NULL && (m->id[0] == '\0' || strlen(m->id) > SMS_ID_MAX_BYTES))
        m->id = NULL;
}

int sms_parse_check(const struct sms_parse_config *cfg, struct sms_message *m,
                    struct sms_refusal *why)
{
    size_t n = strlen(m->text);
    if (n == 0 || !utf8_valid(m->text, n) ||
        utf8_has_controls(m->text, n, true) ||
        utf8_count(m->text, n) > REPORT_CONTENT_MAX)
        return refuse(why, 422,
                      "the message text must be 1 to 20000 characters of "
                      "UTF-8 text",
                      "text");
    if (m->from == NULL || m->from[0] == '\0' ||
        strlen(m->from) > SMS_SENDER_MAX_BYTES)
        return refuse(why, 422, "the sender number is required", "from");
    drop_unusable_id(m);
    m->kind = status_query(cfg->status_keywords, m->text, m->code)
                  ? SMS_STATUS_QUERY
                  : SMS_REPORT;
    return 0;
}

/* --- Kannel ------------------------------------------------------------- */

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
        } else if (cp == 0) {
            cp = 0xfffd; /* as text_copy: a NUL must not end the text */
        }
        o += utf8_encode((uint32_t)cp, out + o);
    }
    out[o] = '\0';
    return out;
}

/* Kannel's %T: Unix seconds, if it is a plausible time (2000 to a day
 * ahead of now), else 0 (unknown: the store time is used). */
static double unix_time(const char *s, double now)
{
    uint64_t t = 0;
    if (s == NULL || util_parse_u64(s, strlen(s), &t) != 0 || t < 946684800 ||
        (double)t > now + 86400)
        return 0;
    return (double)t;
}

/* A part's own checks (sms_parts.h stores it; the joined text is checked
 * as a whole message later). */
static int check_part(const struct sms_parse_config *cfg, struct sms_message *m,
                      struct sms_refusal *why)
{
    size_t n = strlen(m->text);
    if (n == 0 || !utf8_valid(m->text, n) ||
        utf8_has_controls(m->text, n, true) ||
        utf8_count(m->text, n) > SMS_PART_MAX_CHARS)
        return refuse(why, 422,
                      "a message part must be 1 to 200 characters of UTF-8 "
                      "text",
                      "text");
    if (m->from == NULL || m->from[0] == '\0' ||
        strlen(m->from) > SMS_SENDER_MAX_BYTES)
        return refuse(why, 422, "the sender number is required", "from");
    if (m->part.total > cfg->parts_max)
        return refuse(why, 422,
                      "the message has more parts than sms_parts_max allows",
                      "udh");
    /* A part is keyed by its group, not by the id; the id still keeps
     * sms_parse.h's promise (found by fuzz_sms_kannel: "id" with no value
     * came out as ""). */
    drop_unusable_id(m);
    m->kind = SMS_PART;
    return 0;
}

int sms_parse_kannel(struct arena *a, const struct http_request *req,
                     const struct sms_parse_config *cfg,
                     struct sms_message *out, struct sms_refusal *why)
{
    memset(out, 0, sizeof(*out));
    struct form q;
    const char *reason = NULL;
    int status = form_parse_urlencoded(a, req->query, strlen(req->query),
                                       &kannel_limits, &q, &reason);
    if (status != 0)
        return refuse(why, status, reason, NULL);
    const struct form_field *key = form_get(&q, "key");
    if (key == NULL ||
        !same_secret(cfg->kannel_key, key->value, key->value_len))
        return refuse(why, 403, NOT_THE_GATEWAY, NULL);

    /* get-url carries the text in the query; post-url in the body. */
    const struct form_field *t = form_get(&q, "text");
    const char *text = t ? t->value : NULL;
    size_t text_len = t ? t->value_len : 0;
    if (text == NULL && req->method == HTTP_METHOD_POST) {
        text = req->body.data ? req->body.data : "";
        text_len = req->body.len;
    }
    if (text == NULL)
        return refuse(why, 422, "the message text is missing", "text");
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
        out->text = from_utf16be(a, text, text_len);
        if (out->text == NULL)
            return refuse(why, 422, "the message is not valid UTF-16", "text");
    } else {
        out->text = text_copy(a, text, text_len);
    }

    const char *smsc = field(&q, "smsc");
    char *scope = arena_alloc(a, 80);
    snprintf(scope, 80, "kannel:%.64s", smsc ? smsc : "");
    out->scope = scope;
    out->id = field(&q, "id");
    out->from = field(&q, "from");
    out->sent = unix_time(field(&q, "time"), cfg->now);
    out->has_sent = out->sent > 0;
    const struct form_field *udh = form_get(&q, "udh");
    int is_part = udh == NULL
                      ? 0
                      : sms_parts_parse_udh((const unsigned char *)udh->value,
                                            udh->value_len, &out->part);
    if (is_part < 0)
        return refuse(why, 422, "udh is not a valid user data header", "udh");
    if (is_part > 0)
        return check_part(cfg, out, why);
    return sms_parse_check(cfg, out, why);
}

/* --- Twilio ------------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    const struct form_field *x = *(const struct form_field *const *)a;
    const struct form_field *y = *(const struct form_field *const *)b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->value, y->value);
}

void sms_parse_twilio_signature(const char *token, const char *url,
                                const struct form *params, char *out)
{
    const struct form_field **sorted =
        xmalloc((params->count + 1) * sizeof(*sorted));
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

int sms_parse_twilio(struct arena *a, const struct http_request *req,
                     const struct sms_parse_config *cfg,
                     struct sms_message *out, struct sms_refusal *why)
{
    memset(out, 0, sizeof(*out));
    const struct http_header *sig =
        http_request_header(req, "x-twilio-signature");
    if (cfg->twilio_token[0] == '\0' || sig == NULL)
        return refuse(why, 403, NOT_THE_GATEWAY, NULL);
    struct form f;
    const char *reason = NULL;
    int status =
        form_parse_urlencoded(a, req->body.data ? req->body.data : "",
                              req->body.len, &form_limits, &f, &reason);
    if (status != 0)
        return refuse(why, status, reason, NULL);
    char want[64];
    sms_parse_twilio_signature(cfg->twilio_token, cfg->twilio_url, &f, want);
    if (strlen(want) != sig->value_len ||
        CRYPTO_memcmp(want, sig->value, sig->value_len) != 0)
        return refuse(why, 403, NOT_THE_GATEWAY, NULL);
    const char *body = field(&f, "Body"); /* form.c refuses a NUL in it */
    out->scope = "twilio";
    out->id = field(&f, "MessageSid");
    out->from = field(&f, "From");
    out->text = body ? body : "";
    return sms_parse_check(cfg, out, why);
}

/* --- the generic JSON gateway ------------------------------------------- */

int sms_parse_generic(struct arena *a, const struct http_request *req,
                      const struct sms_parse_config *cfg,
                      struct sms_message *out, struct sms_refusal *why)
{
    memset(out, 0, sizeof(*out));
    const struct http_header *sig = http_request_header(req, "x-signature");
    const char *key = cfg->generic_key;
    if (key[0] == '\0' || sig == NULL || sig->value_len != 7 + 64 ||
        memcmp(sig->value, "sha256=", 7) != 0)
        return refuse(why, 403, NOT_THE_GATEWAY, NULL);
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
        return refuse(why, 403, NOT_THE_GATEWAY, NULL);

    cJSON *root = cJSON_ParseWithLength(json_body(a, req), req->body.len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return refuse(why, 400, "the body is not a JSON object", NULL);
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "message_id");
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(root, "from");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text");
    if (!cJSON_IsString(from) || !cJSON_IsString(text)) {
        const char *which = cJSON_IsString(from) ? "text" : "from";
        cJSON_Delete(root);
        return refuse(why, 422, "from and text are required", which);
    }
    out->scope = "generic";
    out->text = copy(a, text->valuestring);
    out->from = copy(a, from->valuestring);
    out->id = cJSON_IsString(id) ? copy(a, id->valuestring) : NULL;
    /* A time we cannot read is no reason to lose the message. */
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(root, "received_at");
    double sent = 0;
    if (!cJSON_IsString(at) || report_parse_time(at->valuestring, &sent) != 0)
        sent = 0;
    out->sent = sent;
    out->has_sent = sent > 0;
    cJSON_Delete(root);
    return sms_parse_check(cfg, out, why);
}

/* --- Alibaba Cloud's push ----------------------------------------------- */

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

/* NULL, or why m is refused with the field it names in *field. */
static const char *check_aliyun(struct arena *a, const cJSON *m,
                                struct sms_message *out, const char **field)
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
        strlen(from->valuestring) > SMS_SENDER_MAX_BYTES)
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
    memset(out, 0, sizeof(*out));
    if (cJSON_IsNumber(seq) && seq->valuedouble >= 0 &&
        seq->valuedouble < 9.007199254740992e15) {
        char num[32];
        snprintf(num, sizeof(num), "%.0f", seq->valuedouble);
        out->id = copy(a, num);
    } else if (cJSON_IsString(seq) && seq->valuestring[0] != '\0' &&
               strlen(seq->valuestring) <= SMS_ID_MAX_BYTES) {
        out->id = copy(a, seq->valuestring);
    } else if (seq != NULL && !cJSON_IsNull(seq)) {
        return "sequence_id must be a number or a string";
    }
    *field = NULL;
    out->kind = SMS_REPORT;
    out->scope = "aliyun";
    out->from = copy(a, from->valuestring);
    out->text = copy(a, text->valuestring);
    /* A time we cannot read is no reason to lose a report: now, then. */
    out->has_sent =
        cJSON_IsString(sent) && beijing_time(sent->valuestring, &out->sent);
    return NULL;
}

/* The messages of a parsed push, every one checked: 0, or the refusal. */
static int messages(struct arena *a, const cJSON *root,
                    const struct sms_parse_config *cfg,
                    struct sms_message **msgs, size_t *count,
                    struct sms_refusal *why)
{
    if (!cJSON_IsArray(root))
        return refuse(why, 400, "the body must be a JSON array", NULL);
    size_t n = (size_t)cJSON_GetArraySize(root);
    if (n == 0)
        return refuse(why, 400, "the array has no messages", NULL);
    if (n > cfg->cloud_batch_max)
        return refuse(why, 413,
                      "more messages than sms_cloud_batch_max in one callback",
                      NULL);
    /* Check them all first: one bad message stores nothing. */
    struct sms_message *out = arena_alloc(a, n * sizeof(*out));
    size_t i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, root)
    {
        const char *field;
        const char *bad = check_aliyun(a, m, &out[i++], &field);
        if (bad != NULL)
            return refuse(why, 422, bad, field);
    }
    *msgs = out;
    *count = n;
    return 0;
}

int sms_parse_aliyun(struct arena *a, const struct http_request *req,
                     const struct sms_parse_config *cfg,
                     struct sms_message **msgs, size_t *count,
                     struct sms_refusal *why)
{
    *msgs = NULL;
    *count = 0;
    struct form q;
    const char *reason = NULL;
    if (form_parse_urlencoded(a, req->query, strlen(req->query),
                              &aliyun_query_limits, &q, &reason) != 0)
        return refuse(why, 403, NOT_THE_GATEWAY, NULL);
    const struct form_field *key = form_get(&q, "key");
    if (key == NULL ||
        !same_secret(cfg->aliyun_key, key->value, key->value_len))
        return refuse(why, 403, NOT_THE_GATEWAY, NULL);
    cJSON *root = cJSON_ParseWithLength(json_body(a, req), req->body.len);
    int status = messages(a, root, cfg, msgs, count, why);
    cJSON_Delete(root);
    return status;
}
