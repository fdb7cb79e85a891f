/*
 * fuzz_sms_kannel: Kannel's callback (sms_parse_kannel): the query's
 * fields, UCS-2 text, coding and charset, the user data header, %T.
 *
 * Input: QUERY, or QUERY '\n' BODY for a post-url (POST, text in the body
 * unless the query has one). Beyond sms_fuzz's invariants: a callback is
 * accepted only with the configured key, and UCS-2 text comes out as the
 * same characters, all of them (encoded back to UTF-16BE it is the text's
 * bytes, a U+0000 kept as U+FFFD).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sms_fuzz.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* UTF-8 (valid) back to UTF-16BE; the bytes written. */
static size_t to_utf16be(const char *s, unsigned char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p != '\0') {
        unsigned cp;
        if (*p < 0x80) {
            cp = *p++;
        } else if (*p < 0xe0) {
            cp = (unsigned)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
            p += 2;
        } else if (*p < 0xf0) {
            cp = (unsigned)(p[0] & 0x0f) << 12 | (unsigned)(p[1] & 0x3f) << 6 |
                 (p[2] & 0x3f);
            p += 3;
        } else {
            cp = (unsigned)(p[0] & 0x07) << 18 | (unsigned)(p[1] & 0x3f) << 12 |
                 (unsigned)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
            p += 4;
        }
        if (cp >= 0x10000) {
            unsigned hi = 0xd800 + ((cp - 0x10000) >> 10);
            unsigned lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);
            out[o++] = (unsigned char)(hi >> 8);
            out[o++] = (unsigned char)hi;
            cp = lo;
        }
        out[o++] = (unsigned char)(cp >> 8);
        out[o++] = (unsigned char)cp;
    }
    return o;
}

/* The text's bytes as the parser took them, and whether they are UCS-2. */
static const char *raw_text(struct sms_fuzz *f, size_t *len, bool *ucs2)
{
    const char *q = f->query;
    size_t qn = strlen(q), n = 0;
    const char *charset = sms_fuzz_form_value(f, q, qn, "charset", &n);
    const char *coding = sms_fuzz_form_value(f, q, qn, "coding", &n);
    *ucs2 = charset != NULL && charset[0] != '\0'
                ? util_ieq(charset, strlen(charset), "UTF-16BE") ||
                      util_ieq(charset, strlen(charset), "UCS-2") ||
                      util_ieq(charset, strlen(charset), "UTF-16")
                : coding != NULL && strcmp(coding, "2") == 0;
    const char *text = sms_fuzz_form_value(f, q, qn, "text", len);
    if (text == NULL) {
        text = f->req.body.data != NULL ? f->req.body.data : "";
        *len = f->req.body.len;
    }
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *query = (const char *)data;
    size_t qlen = size;
    bool post = sms_fuzz_line(&data, &size, &query, &qlen);
    struct sms_fuzz f;
    sms_fuzz_init(&f, post ? HTTP_METHOD_POST : HTTP_METHOD_GET, query, qlen,
                  post ? (const char *)data : NULL, post ? size : 0);
    struct sms_message m;
    struct sms_refusal why;
    int status = sms_parse_kannel(&f.arena, &f.req, &sms_fuzz_config, &m, &why);
    if (status != 0) {
        if (status != why.status)
            abort();
        sms_fuzz_check_refusal(&why);
        sms_fuzz_cleanup(&f);
        return 0;
    }
    sms_fuzz_check_message(&m);
    if (strncmp(m.scope, "kannel:", 7) != 0)
        abort();
    if (m.has_sent &&
        (m.sent < 946684800 || m.sent > sms_fuzz_config.now + 86400))
        abort(); /* an implausible %T taken */

    /* Accepted only with the configured key. */
    size_t n = 0;
    const char *key =
        sms_fuzz_form_value(&f, f.query, strlen(f.query), "key", &n);
    if (key == NULL || n != strlen(sms_fuzz_config.kannel_key) ||
        memcmp(key, sms_fuzz_config.kannel_key, n) != 0)
        abort();

    /* UCS-2: the same characters. */
    bool ucs2 = false;
    const char *raw = raw_text(&f, &n, &ucs2);
    if (ucs2) {
        unsigned char *back = xmalloc(2 * strlen(m.text) + 2);
        size_t b = to_utf16be(m.text, back);
        if (b != n)
            abort();
        for (size_t i = 0; i < b; i += 2) {
            bool nul = raw[i] == 0 && raw[i + 1] == 0;
            if (nul ? back[i] != 0xff || back[i + 1] != 0xfd
                    : back[i] != (unsigned char)raw[i] ||
                          back[i + 1] != (unsigned char)raw[i + 1])
                abort();
        }
        free(back);
    }
    sms_fuzz_cleanup(&f);
    return 0;
}
