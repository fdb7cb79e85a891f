/*
 * pgarray: one separator rule (the first element opens the brace) and one
 * escaping rule for every element type.
 */
#include "pgarray.h"

static void sep(struct buf *a)
{
    buf_append(a, a->len == 0 ? "{" : ",", 1);
}

void pgarray_text(struct buf *a, const char *s)
{
    sep(a);
    if (s == NULL) {
        buf_appends(a, "NULL");
        return;
    }
    buf_append(a, "\"", 1);
    for (const char *p = s; *p; p++) {
        const char *run = p;
        while (*p && *p != '"' && *p != '\\')
            p++;
        buf_append(a, run, (size_t)(p - run));
        if (*p == '\0')
            break;
        buf_append(a, "\\", 1);
        buf_append(a, p, 1);
    }
    buf_append(a, "\"", 1);
}

void pgarray_bytea(struct buf *a, const unsigned char *bytes, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sep(a);
    if (bytes == NULL) {
        buf_appends(a, "NULL");
        return;
    }
    buf_appends(a, "\"\\\\x");
    for (size_t i = 0; i < n; i++) {
        char h[2] = {hex[bytes[i] >> 4], hex[bytes[i] & 15]};
        buf_append(a, h, 2);
    }
    buf_append(a, "\"", 1);
}

void pgarray_raw(struct buf *a, const char *s)
{
    sep(a);
    buf_appends(a, s);
}

void pgarray_i64(struct buf *a, int64_t v)
{
    sep(a);
    buf_printf(a, "%lld", (long long)v);
}

void pgarray_f64(struct buf *a, double v)
{
    sep(a);
    buf_printf(a, "%.6f", v);
}

const char *pgarray_end(struct buf *a)
{
    if (a->len == 0)
        buf_append(a, "{", 1);
    buf_append(a, "}", 1);
    return a->data;
}
