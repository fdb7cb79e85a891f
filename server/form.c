/*
 * form: both decoders make one forward pass. The multipart decoder finds
 * each delimiter ("\r\n--" boundary) with a scan that never restarts from
 * the beginning, so a body of n bytes costs O(n).
 */
#include "form.h"

#include <stdbool.h>
#include <string.h>

#include "utf8.h"
#include "util.h"

static int fail(const char **reason, int status, const char *why)
{
    *reason = why;
    return status;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes %XX and '+' of s[0..n) into a NUL-terminated arena string. */
static int unescape(struct arena *a, const char *s, size_t n, char **out,
                    size_t *out_len)
{
    char *d = arena_alloc(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            d[o++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            d[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            d[o++] = s[i];
        }
    }
    d[o] = '\0';
    *out = d;
    *out_len = o;
    return 0;
}

int form_parse_urlencoded(struct arena *a, const char *body, size_t len,
                          const struct form_limits *lim, struct form *out,
                          const char **reason)
{
    out->count = 0;
    out->fields = arena_alloc(a, (lim->max_fields ? lim->max_fields : 1) *
                                     sizeof(struct form_field));
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if (e > p) {
            const char *eq = memchr(p, '=', (size_t)(e - p));
            const char *ne = eq ? eq : e;
            if (out->count == lim->max_fields)
                return fail(reason, 413, "too many form fields");
            if ((size_t)(ne - p) > lim->max_name_bytes * 3 ||
                (eq && (size_t)(e - eq - 1) > lim->max_value_bytes * 3))
                return fail(reason, 413, "a form field is too long");
            struct form_field *f = &out->fields[out->count];
            char *name, *value;
            memset(f, 0, sizeof(*f));
            if (unescape(a, p, (size_t)(ne - p), &name, &f->name_len) != 0 ||
                unescape(a, eq ? eq + 1 : e, eq ? (size_t)(e - eq - 1) : 0,
                         &value, &f->value_len) != 0)
                return fail(reason, 400, "bad %-escape in form data");
            if (f->name_len > lim->max_name_bytes ||
                f->value_len > lim->max_value_bytes)
                return fail(reason, 413, "a form field is too long");
            if (!utf8_valid(name, f->name_len) ||
                (!lim->raw_values && !utf8_valid(value, f->value_len)))
                return fail(reason, 400, "form data must be UTF-8");
            f->name = name;
            f->value = value;
            out->count++;
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
}

/* Finds needle in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *needle,
                        size_t n)
{
    while ((size_t)(end - p) >= n) {
        const char *hit = memchr(p, needle[0], (size_t)(end - p) - n + 1);
        if (hit == NULL)
            return NULL;
        if (memcmp(hit, needle, n) == 0)
            return hit;
        p = hit + 1;
    }
    return NULL;
}

/*
 * Reads parameter name of a header value such as
 * `form-data; name="x"; filename="y"` (quoted with \-escapes, or a token).
 * Returns an arena string, or NULL if absent; *bad set if malformed.
 */
static char *param(struct arena *a, const char *v, size_t n, const char *name,
                   bool *bad)
{
    size_t nl = strlen(name);
    const char *p = v, *end = v + n;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (semi == NULL)
            return NULL;
        p = semi + 1;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if ((size_t)(end - p) <= nl || !util_ieq(p, nl, name) || p[nl] != '=')
            continue;
        p += nl + 1;
        char *out = arena_alloc(a, (size_t)(end - p) + 1);
        size_t o = 0;
        if (p < end && *p == '"') {
            for (p++; p < end && *p != '"'; p++) {
                if (*p == '\\' && p + 1 < end)
                    p++;
                out[o++] = *p;
            }
            if (p == end) {
                *bad = true;
                return NULL;
            }
        } else {
            while (p < end && *p != ';' && *p != ' ' && *p != '\t')
                out[o++] = *p++;
        }
        out[o] = '\0';
        return out;
    }
    return NULL;
}

/* Reads a part's headers [p, end); 0 or a status. */
static int part_headers(struct arena *a, const char *p, const char *end,
                        struct form_field *f, const char **reason)
{
    bool disposition = false;
    while (p < end) {
        const char *eol = find(p, end, "\r\n", 2);
        const char *e = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(e - p));
        if (colon == NULL)
            return fail(reason, 400, "malformed multipart part header");
        const char *v = colon + 1;
        while (v < e && (*v == ' ' || *v == '\t'))
            v++;
        size_t vn = (size_t)(e - v);
        for (size_t i = 0; i < vn; i++)
            if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
                return fail(reason, 400, "malformed multipart part header");
        if (util_ieq(p, (size_t)(colon - p), "content-disposition")) {
            bool bad = false;
            if (vn < 9 || !util_ieq(v, 9, "form-data"))
                return fail(reason, 400, "a multipart part is not form-data");
            char *name = param(a, v, vn, "name", &bad);
            char *file = param(a, v, vn, "filename", &bad);
            if (bad || name == NULL || name[0] == '\0')
                return fail(reason, 400, "a multipart part has no name");
            f->name = name;
            f->name_len = strlen(name);
            if (file != NULL) {
                const char *base = file;
                for (const char *c = file; *c; c++)
                    if (*c == '/' || *c == '\\')
                        base = c + 1;
                if (base[0] == '\0' || !utf8_valid(base, strlen(base)) ||
                    utf8_has_controls(base, strlen(base), false))
                    return fail(reason, 400, "a file name is not usable");
                f->filename = base;
            }
            disposition = true;
        } else if (util_ieq(p, (size_t)(colon - p), "content-type")) {
            f->content_type = arena_strndup(a, v, vn);
        }
        p = eol ? eol + 2 : end;
    }
    if (!disposition)
        return fail(reason, 400, "a multipart part has no name");
    return 0;
}

#define PART_HEADERS_MAX 8192

int form_parse_multipart(struct arena *a, const char *content_type,
                         size_t ct_len, const char *body, size_t len,
                         const struct form_limits *lim, struct form *out,
                         const char **reason)
{
    out->count = 0;
    out->fields = arena_alloc(a, (lim->max_fields ? lim->max_fields : 1) *
                                     sizeof(struct form_field));
    size_t mt = strcspn(content_type, ";");
    if (mt > ct_len)
        mt = ct_len;
    while (mt > 0 && content_type[mt - 1] == ' ')
        mt--;
    if (!util_ieq(content_type, mt, "multipart/form-data"))
        return fail(reason, 415, "expected multipart/form-data");
    bool bad = false;
    char *boundary = param(a, content_type, ct_len, "boundary", &bad);
    size_t bl = boundary ? strlen(boundary) : 0;
    if (bad || bl == 0 || bl > 70)
        return fail(reason, 400, "multipart/form-data needs a boundary");

    /* The delimiter: CRLF "--" boundary; the first may open the body. */
    char *delim = arena_alloc(a, bl + 5);
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary, bl + 1);
    size_t dl = bl + 4;
    const char *end = body + len;
    const char *p;
    if (len >= dl - 2 && memcmp(body, delim + 2, dl - 2) == 0) {
        p = body + dl - 2;
    } else {
        const char *d = find(body, end, delim, dl);
        if (d == NULL)
            return fail(reason, 400, "multipart body without its boundary");
        p = d + dl;
    }
    size_t files = 0;
    for (;;) {
        /* After a delimiter: "--" closes, else transport padding + CRLF. */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return 0;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            return fail(reason, 400, "malformed multipart delimiter");
        p += 2;
        /* Every part names itself in a Content-Disposition header. */
        const char *hend = find(p, end, "\r\n\r\n", 4);
        const char *hstart = p;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
            return fail(reason, 400, "a multipart part has no name");
        if (hend == NULL || hend - hstart > PART_HEADERS_MAX)
            return fail(reason, 400, "malformed multipart part headers");
        if (out->count == lim->max_fields)
            return fail(reason, 413, "too many form fields");
        struct form_field *f = &out->fields[out->count];
        memset(f, 0, sizeof(*f));
        int status = part_headers(a, hstart, hend, f, reason);
        if (status != 0)
            return status;
        const char *data = hend + 4;
        const char *d = find(data, end, delim, dl);
        if (d == NULL)
            return fail(reason, 400,
                        "multipart body ends without its "
                        "closing boundary");
        size_t n = (size_t)(d - data);
        if (f->name_len > lim->max_name_bytes)
            return fail(reason, 413, "a form field name is too long");
        if (f->filename != NULL) {
            if (++files > lim->max_files)
                return fail(reason, 413, "too many attached files");
            if (n > lim->max_file_bytes)
                return fail(reason, 413, "an attached file is too large");
        } else {
            if (n > lim->max_value_bytes)
                return fail(reason, 413, "a form field is too long");
            if (!utf8_valid(data, n) || !utf8_valid(f->name, f->name_len))
                return fail(reason, 400, "form data must be UTF-8");
        }
        f->value = arena_strndup(a, data, n);
        f->value_len = n;
        out->count++;
        p = d + dl;
    }
}

const struct form_field *form_get(const struct form *f, const char *name)
{
    for (size_t i = 0; i < f->count; i++)
        if (strcmp(f->fields[i].name, name) == 0)
            return &f->fields[i];
    return NULL;
}
