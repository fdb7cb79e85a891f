/*
 * sms_fuzz: requests from fuzz input and the invariants of sms_parse.h.
 * The invariants are the promises the handlers rely on without checking
 * again: a message's strings are bounded, UTF-8 text without controls, a
 * status query's code is canonical, a part is a possible one.
 */
#include "sms_fuzz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "receipt.h"
#include "report.h"
#include "utf8.h"
#include "util.h"

const struct sms_parse_config sms_fuzz_config = {
    .kannel_key = "kannel-secret",
    .twilio_token = "twilio-token",
    .twilio_url = "https://tipd.example/sms/twilio",
    .generic_key = "generic-secret",
    .aliyun_key = "aliyun-secret",
    .status_keywords = "查询,CX,status",
    .parts_max = 32,
    .cloud_batch_max = 100,
    .now = 1796100000, /* 2026-12-01: seeds' %T are near it */
};

static char *exact_copy(const char *s, size_t n)
{
    char *p = xmalloc(n > 0 ? n : 1);
    memcpy(p, s, n);
    return p;
}

void sms_fuzz_init(struct sms_fuzz *f, enum http_method method,
                   const char *query, size_t qlen, const char *body,
                   size_t blen)
{
    memset(f, 0, sizeof(*f));
    /* A chunk size of 1: every allocation is a block of its own. */
    arena_init(&f->arena, 1);
    qlen = strnlen(query, qlen);
    f->query = xmalloc(qlen + 1);
    memcpy(f->query, query, qlen);
    f->query[qlen] = '\0';
    f->req.method = method;
    f->req.method_name = method == HTTP_METHOD_POST ? "POST" : "GET";
    f->req.target = f->query;
    f->req.path = "/sms";
    f->req.query = f->query;
    f->req.version_minor = 1;
    f->req.arena = &f->arena;
    if (body != NULL) {
        /* Not NUL-terminated: buf promises that only when len < cap. */
        f->body = blen > 0 ? exact_copy(body, blen) : NULL;
        f->req.body.data = f->body;
        f->req.body.len = blen;
        f->req.body.cap = blen;
        f->req.body.max = blen;
    }
}

void sms_fuzz_header(struct sms_fuzz *f, const char *name, const char *value,
                     size_t len)
{
    free(f->header_value);
    f->header_value = exact_copy(value, len);
    f->header.name = name;
    f->header.name_len = strlen(name);
    f->header.value = f->header_value;
    f->header.value_len = len;
    f->req.headers = &f->header;
    f->req.header_count = 1;
}

void sms_fuzz_cleanup(struct sms_fuzz *f)
{
    arena_cleanup(&f->arena);
    free(f->query);
    free(f->body);
    free(f->header_value);
}

bool sms_fuzz_line(const uint8_t **data, size_t *size, const char **line,
                   size_t *len)
{
    const uint8_t *nl = memchr(*data, '\n', *size);
    if (nl == NULL)
        return false;
    *line = (const char *)*data;
    *len = (size_t)(nl - *data);
    *size -= *len + 1;
    *data = nl + 1;
    return true;
}

const char *sms_fuzz_form_value(struct sms_fuzz *f, const char *s, size_t n,
                                const char *name, size_t *len)
{
    /* Bounds far above the parsers': whatever they accepted decodes here
     * to the same fields. */
    static const struct form_limits lim = {
        .max_fields = 1u << 20,
        .max_name_bytes = 1u << 20,
        .max_value_bytes = 1u << 24,
        .raw_values = true,
    };
    struct form form;
    const char *reason;
    if (form_parse_urlencoded(&f->arena, s, n, &lim, &form, &reason) != 0)
        return NULL;
    const struct form_field *x = form_get(&form, name);
    if (x == NULL)
        return NULL;
    *len = x->value_len;
    return x->value;
}

static void check_string(const char *s, size_t max)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > max)
        abort();
}

void sms_fuzz_check_message(const struct sms_message *m)
{
    check_string(m->scope, 100);
    check_string(m->from, SMS_SENDER_MAX_BYTES);
    if (m->id != NULL)
        check_string(m->id, SMS_ID_MAX_BYTES);
    if (m->text == NULL)
        abort();
    size_t n = strlen(m->text);
    size_t max = m->kind == SMS_PART ? SMS_PART_MAX_CHARS : REPORT_CONTENT_MAX;
    if (n == 0 || !utf8_valid(m->text, n) ||
        utf8_has_controls(m->text, n, true) || utf8_count(m->text, n) > max)
        abort(); /* text the handlers would store unchecked */
    if (m->has_sent && !isfinite(m->sent))
        abort();
    switch (m->kind) {
    case SMS_REPORT:
        break;
    case SMS_STATUS_QUERY: {
        /* The code is canonical: normalising it again changes nothing. */
        char again[RECEIPT_CHARS + 1];
        if (strlen(m->code) != RECEIPT_CHARS ||
            receipt_normalize(m->code, RECEIPT_CHARS, again) != 0 ||
            memcmp(again, m->code, RECEIPT_CHARS) != 0)
            abort();
        break;
    }
    case SMS_PART:
        if (m->part.total < 2 || m->part.total > sms_fuzz_config.parts_max ||
            m->part.seq < 1 || m->part.seq > m->part.total ||
            m->part.ref > 0xffff)
            abort();
        break;
    default:
        abort();
    }
}

void sms_fuzz_check_refusal(const struct sms_refusal *why)
{
    if (why->status != 400 && why->status != 403 && why->status != 413 &&
        why->status != 422)
        abort();
    if (why->reason == NULL || why->reason[0] == '\0')
        abort();
    if (why->field != NULL && why->field[0] == '\0')
        abort();
}
