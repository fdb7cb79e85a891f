/*
 * form: both decoders make one forward pass over the body and never look
 * back.
 *
 * urlencoded splits on '&' and decodes each pair into the arena.
 *
 * multipart finds each delimiter ("\r\n--" boundary) with memchr for CR
 * from where the previous candidate failed, so a body of n bytes costs
 * O(n) compares of at most 74 bytes, never a search from the start again.
 * A candidate is a delimiter only if "--" or blanks and CRLF follow it (as
 * Go's mime/multipart decides), so a line in a file that merely starts
 * like the boundary stays content. A part's header block is looked for
 * only within its 8 KiB bound, and it is found from the CRLF that ends
 * the delimiter line, so an empty block ("\r\n" at once) is found by the
 * same search and refused for lacking a name.
 *
 * Field arrays are sized before the pass from what the body can hold (a
 * pair takes at least two bytes, a part at least its delimiter), capped by
 * max_fields, so no field ever needs a bigger array.
 */
#include "form.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "utf8.h"
#include "util.h"

/* The longest header block of one part, its closing blank line included. */
#define PART_HEADERS_MAX 8192
/* RFC 2046 section 5.1.1: a boundary is 1 to 70 characters. */
#define BOUNDARY_MAX 70

static int fail(const char **reason, int status, const char *why)
{
    *reason = why;
    return status;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

#define NOT_TEXT "form data must be UTF-8 text without NUL bytes"

/* Whether s[0..n) is UTF-8 without a NUL byte: the values are handed on as
 * C strings, and a NUL would end one early, silently losing the rest. */
static bool text_ok(const char *s, size_t n)
{
    return utf8_valid(s, n) && memchr(s, '\0', n) == NULL;
}

/*
 * Decodes %XX (and '+' as a space when plus) of s[0..n) into a
 * NUL-terminated arena string; -1 on a '%' without two hex digits.
 */
static int pct_decode(struct arena *a, const char *s, size_t n, bool plus,
                      char **out, size_t *out_len)
{
    char *d = arena_alloc(a, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+' && plus) {
            d[o++] = ' ';
        } else if (s[i] == '%') {
            if (n - i < 3)
                return -1;
            int hi = util_hexval(s[i + 1]), lo = util_hexval(s[i + 2]);
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

static int urlencoded(struct arena *a, const char *body, size_t len,
                      const struct form_limits *lim, struct form *out,
                      const char **reason)
{
    /* k non-empty pairs need k bytes and k - 1 separators. */
    size_t cap = len / 2 + 1;
    if (cap > lim->max_fields)
        cap = lim->max_fields;
    out->fields = arena_alloc(a, (cap ? cap : 1) * sizeof(*out->fields));
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        const char *next = amp ? amp + 1 : end;
        if (e == p) {
            p = next;
            continue;
        }
        if (out->count == lim->max_fields)
            return fail(reason, 413, "too many form fields");
        assert(out->count < cap);
        const char *eq = memchr(p, '=', (size_t)(e - p));
        const char *ne = eq ? eq : e;
        const char *v = eq ? eq + 1 : e;
        struct form_field *f = &out->fields[out->count];
        char *name, *value;
        memset(f, 0, sizeof(*f));
        if (pct_decode(a, p, (size_t)(ne - p), true, &name, &f->name_len) !=
                0 ||
            pct_decode(a, v, (size_t)(e - v), true, &value, &f->value_len) != 0)
            return fail(reason, 400, "bad %-escape in form data");
        if (f->name_len > lim->max_name_bytes)
            return fail(reason, 413, "a form field name is too long");
        if (f->value_len > lim->max_value_bytes)
            return fail(reason, 413, "a form field is too long");
        /* (A name may hold a NUL: it is matched by its length.) */
        if (!utf8_valid(name, f->name_len) ||
            (!lim->raw_values && !text_ok(value, f->value_len)))
            return fail(reason, 400, NOT_TEXT);
        f->name = name;
        f->value = value;
        out->count++;
        p = next;
    }
    return 0;
}

int form_parse_urlencoded(struct arena *a, const char *body, size_t len,
                          const struct form_limits *lim, struct form *out,
                          const char **reason)
{
    out->fields = NULL;
    out->count = 0;
    *reason = NULL;
    int status = urlencoded(a, body, len, lim, out, reason);
    if (status != 0)
        out->count = 0;
    return status;
}

/* Finds needle in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *needle,
                        size_t n)
{
    while (p < end && (size_t)(end - p) >= n) {
        const char *hit = memchr(p, needle[0], (size_t)(end - p) - n + 1);
        if (hit == NULL)
            return NULL;
        if (memcmp(hit, needle, n) == 0)
            return hit;
        p = hit + 1;
    }
    return NULL;
}

/* One `; name=value` of a header value (RFC 9110 section 5.6.6). */
struct param {
    const char *name; /* points into the header */
    size_t name_len;
    const char *value; /* inside the quotes when quoted */
    size_t value_len;
    bool quoted;
};

/*
 * In a quoted string, a backslash escapes only '"' and '\': browsers do
 * not escape a backslash, and old ones send whole Windows paths
 * (C:\Users\...), whose backslashes must survive to be cut off as
 * directories. Returns how many bytes s[0..n) starting at a backslash
 * spans: 2 for an escape, 1 for a literal backslash.
 */
static size_t backslash_span(const char *s, size_t n)
{
    return n >= 2 && (s[1] == '"' || s[1] == '\\') ? 2 : 1;
}

/*
 * Reads the next parameter of [*pp, end) into *out: 1, 0 at the end, -1
 * when malformed. *pp must be just after the value's first token (or a
 * previous parameter). Empty parameters (";;", a trailing ';') are skipped.
 */
static int next_param(const char **pp, const char *end, struct param *out)
{
    const char *p = *pp;
    for (;;) {
        while (p < end && blank(*p))
            p++;
        if (p == end)
            return 0;
        if (*p != ';')
            return -1;
        p++;
        while (p < end && blank(*p))
            p++;
        if (p == end)
            return 0;
        if (*p != ';')
            break;
    }
    const char *n = p;
    while (p < end && *p != '=' && *p != ';' && !blank(*p))
        p++;
    out->name = n;
    out->name_len = (size_t)(p - n);
    while (p < end && blank(*p))
        p++;
    if (out->name_len == 0 || p == end || *p != '=')
        return -1;
    p++;
    while (p < end && blank(*p))
        p++;
    if (p < end && *p == '"') {
        const char *v = ++p;
        while (p < end && *p != '"')
            p += *p == '\\' ? backslash_span(p, (size_t)(end - p)) : 1;
        if (p >= end)
            return -1;
        out->value = v;
        out->value_len = (size_t)(p - v);
        out->quoted = true;
        p++;
    } else {
        const char *v = p;
        while (p < end && *p != ';' && !blank(*p))
            p++;
        out->value = v;
        out->value_len = (size_t)(p - v);
        out->quoted = false;
    }
    *pp = p;
    return 1;
}

/* The first parameter named name (case-insensitive) after p: 1, 0 when
 * absent, -1 when the parameters are malformed. */
static int find_param(const char *p, const char *end, const char *name,
                      struct param *out)
{
    for (;;) {
        int r = next_param(&p, end, out);
        if (r <= 0)
            return r;
        if (util_ieq(out->name, out->name_len, name))
            return 1;
    }
}

/* A parameter's value, unquoted, as a NUL-terminated arena string. */
static char *param_value(struct arena *a, const struct param *pm, size_t *len)
{
    char *d = arena_alloc(a, pm->value_len + 1);
    size_t o = 0;
    for (size_t i = 0; i < pm->value_len;) {
        if (pm->quoted && pm->value[i] == '\\' &&
            backslash_span(pm->value + i, pm->value_len - i) == 2)
            i++;
        d[o++] = pm->value[i++];
    }
    d[o] = '\0';
    *len = o;
    return d;
}

/*
 * Decodes an RFC 5987 ext-value (charset'language'%XX...) whose charset is
 * UTF-8; NULL for another charset or a malformed one.
 */
static char *ext_value(struct arena *a, const struct param *pm, size_t *len)
{
    const char *v = pm->value, *end = pm->value + pm->value_len;
    const char *q1 = memchr(v, '\'', pm->value_len);
    if (q1 == NULL || !util_ieq(v, (size_t)(q1 - v), "utf-8"))
        return NULL;
    const char *q2 = memchr(q1 + 1, '\'', (size_t)(end - q1 - 1));
    if (q2 == NULL)
        return NULL;
    char *out;
    if (pct_decode(a, q2 + 1, (size_t)(end - q2 - 1), false, &out, len) != 0)
        return NULL;
    return out;
}

/* What a part's headers said. */
struct part {
    char *name; /* decoded, NUL-terminated */
    size_t name_len;
    bool file;          /* it had a filename (or filename*) parameter */
    char *filename;     /* basename; NULL when sent empty */
    char *content_type; /* NULL when not declared */
};

static int reduce_filename(char *fn, size_t n, struct part *pt,
                           const char **reason)
{
    pt->file = true;
    if (n == 0)
        return 0; /* an empty file input: the caller decides */
    char *base = fn;
    for (size_t i = 0; i < n; i++)
        if (fn[i] == '/' || fn[i] == '\\')
            base = fn + i + 1;
    size_t bn = n - (size_t)(base - fn);
    if (bn == 0 || !utf8_valid(base, bn) ||
        utf8_has_controls(base, bn, false) || memchr(base, '\t', bn) != NULL)
        return fail(reason, 400, "a file name is not usable");
    pt->filename = base;
    return 0;
}

/* Reads `form-data; name="..."; filename="..."` into *pt; 0 or a status. */
static int disposition(struct arena *a, const char *v, const char *end,
                       struct part *pt, const char **reason)
{
    const char *t = v;
    while (t < end && *t != ';' && !blank(*t))
        t++;
    if (!util_ieq(v, (size_t)(t - v), "form-data"))
        return fail(reason, 400, "a multipart part is not form-data");
    struct param name, file, star;
    int rn = find_param(t, end, "name", &name);
    int rf = find_param(t, end, "filename", &file);
    int rs = find_param(t, end, "filename*", &star);
    if (rn < 0 || rf < 0 || rs < 0)
        return fail(reason, 400, "malformed multipart part headers");
    if (rn == 0)
        return fail(reason, 400, "a multipart part has no name");
    pt->name = param_value(a, &name, &pt->name_len);
    if (pt->name_len == 0)
        return fail(reason, 400, "a multipart part has no name");
    size_t fl = 0;
    char *fn = rs == 1 ? ext_value(a, &star, &fl) : NULL;
    if (fn == NULL && rf == 1)
        fn = param_value(a, &file, &fl);
    if (fn == NULL && rs == 1)
        return fail(reason, 400, "a file name is not usable");
    return fn != NULL ? reduce_filename(fn, fl, pt, reason) : 0;
}

/* Reads a part's header lines [p, end) (CRLF-separated); 0 or a status. */
static int part_headers(struct arena *a, const char *p, const char *end,
                        struct part *pt, const char **reason)
{
    bool seen = false;
    while (p < end) {
        const char *eol = find(p, end, "\r\n", 2);
        const char *e = eol ? eol : end;
        const char *colon = memchr(p, ':', (size_t)(e - p));
        if (colon == NULL || colon == p)
            return fail(reason, 400, "malformed multipart part headers");
        for (const char *c = p; c < colon; c++)
            if ((unsigned char)*c <= ' ' || *c == 0x7f)
                return fail(reason, 400, "malformed multipart part headers");
        const char *v = colon + 1, *ve = e;
        for (const char *c = v; c < ve; c++)
            if (((unsigned char)*c < ' ' && *c != '\t') || *c == 0x7f)
                return fail(reason, 400, "malformed multipart part headers");
        while (v < ve && blank(*v))
            v++;
        while (ve > v && blank(ve[-1]))
            ve--;
        size_t nl = (size_t)(colon - p);
        if (util_ieq(p, nl, "content-disposition")) {
            if (seen)
                return fail(reason, 400, "malformed multipart part headers");
            seen = true;
            int status = disposition(a, v, ve, pt, reason);
            if (status != 0)
                return status;
        } else if (util_ieq(p, nl, "content-type") &&
                   pt->content_type == NULL) {
            pt->content_type = arena_strndup(a, v, (size_t)(ve - v));
        }
        p = eol ? eol + 2 : end;
    }
    if (!seen)
        return fail(reason, 400, "a multipart part is not form-data");
    return 0;
}

/*
 * Whether the delimiter bytes just before p end a real delimiter: "--"
 * (the close delimiter), or blanks (transport padding) and CRLF. Sets
 * *next to the byte after it and *close.
 */
static bool delimiter_ends(const char *p, const char *end, const char **next,
                           bool *close)
{
    if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
        *next = p + 2;
        *close = true;
        return true;
    }
    while (p < end && blank(*p))
        p++;
    if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
        *next = p + 2;
        *close = false;
        return true;
    }
    return false;
}

/* The next real delimiter d (dl bytes) in [p, end): its start, or NULL. */
static const char *next_delimiter(const char *p, const char *end, const char *d,
                                  size_t dl, const char **next, bool *close)
{
    while (p < end && (size_t)(end - p) >= dl) {
        const char *hit = memchr(p, '\r', (size_t)(end - p) - dl + 1);
        if (hit == NULL)
            return NULL;
        if (memcmp(hit, d, dl) == 0 &&
            delimiter_ends(hit + dl, end, next, close))
            return hit;
        p = hit + 1;
    }
    return NULL;
}

/* The boundary parameter of a multipart/form-data Content-Type. */
static int boundary(struct arena *a, const char *ct, size_t ct_len, char **out,
                    size_t *out_len, const char **reason)
{
    const char *end = ct + ct_len;
    while (ct < end && blank(*ct))
        ct++;
    const char *semi = memchr(ct, ';', (size_t)(end - ct));
    const char *te = semi ? semi : end;
    while (te > ct && blank(te[-1]))
        te--;
    if (!util_ieq(ct, (size_t)(te - ct), "multipart/form-data"))
        return fail(reason, 415, "expected multipart/form-data");
    struct param pm;
    int r = find_param(semi ? semi : end, end, "boundary", &pm);
    if (r < 0)
        return fail(reason, 400, "malformed Content-Type parameters");
    if (r == 0)
        return fail(reason, 400, "multipart/form-data needs a boundary");
    size_t bl;
    char *b = param_value(a, &pm, &bl);
    bool ok = bl >= 1 && bl <= BOUNDARY_MAX && b[bl - 1] != ' ';
    for (size_t i = 0; ok && i < bl; i++)
        ok = b[i] >= ' ' && b[i] <= '~';
    if (!ok)
        return fail(reason, 400, "the multipart boundary is not valid");
    *out = b;
    *out_len = bl;
    return 0;
}

static int multipart(struct arena *a, const char *content_type, size_t ct_len,
                     const char *body, size_t len,
                     const struct form_limits *lim, struct form *out,
                     const char **reason)
{
    char *b;
    size_t bl;
    int status = boundary(a, content_type, ct_len, &b, &bl, reason);
    if (status != 0)
        return status;

    /* The delimiter: CRLF "--" boundary; the first may open the body. */
    size_t dl = bl + 4;
    char *d = arena_alloc(a, dl + 1);
    memcpy(d, "\r\n--", 4);
    memcpy(d + 4, b, bl + 1);

    /* Every returned field follows its own delimiter; these never overlap
     * and the first is at least dl - 2 bytes. */
    size_t cap = len / (dl - 2) + 1;
    if (cap > lim->max_fields)
        cap = lim->max_fields;
    out->fields = arena_alloc(a, (cap ? cap : 1) * sizeof(*out->fields));

    const char *end = body + len;
    const char *p;
    bool close;
    if (!(len >= dl - 2 && memcmp(body, d + 2, dl - 2) == 0 &&
          delimiter_ends(body + dl - 2, end, &p, &close)) &&
        next_delimiter(body, end, d, dl, &p, &close) == NULL)
        return fail(reason, 400, "multipart body without its boundary");

    size_t parts = 0, files = 0;
    while (!close) {
        if (parts++ == lim->max_fields)
            return fail(reason, 413, "too many form fields");
        /* p - 2 is the CRLF that ended the delimiter line. */
        const char *hs = p - 2;
        size_t room = (size_t)(end - hs);
        if (room > PART_HEADERS_MAX + 2)
            room = PART_HEADERS_MAX + 2;
        const char *he = find(hs, hs + room, "\r\n\r\n", 4);
        if (he == NULL && room == PART_HEADERS_MAX + 2)
            return fail(reason, 400, "a multipart part's headers are too long");
        if (he == NULL)
            return fail(reason, 400,
                        "multipart body ends without its closing boundary");
        struct part pt;
        memset(&pt, 0, sizeof(pt));
        status = part_headers(a, p, he > p ? he : p, &pt, reason);
        if (status != 0)
            return status;

        const char *data = he + 4, *next;
        const char *de = next_delimiter(data, end, d, dl, &next, &close);
        if (de == NULL)
            return fail(reason, 400,
                        "multipart body ends without its closing boundary");
        size_t n = (size_t)(de - data);
        p = next;
        if (pt.name_len > lim->max_name_bytes)
            return fail(reason, 413, "a form field name is too long");
        if (!utf8_valid(pt.name, pt.name_len))
            return fail(reason, 400, NOT_TEXT);
        if (pt.file && pt.filename == NULL) {
            if (n == 0)
                continue; /* a file input left empty */
            return fail(reason, 400, "a file name is not usable");
        }
        if (pt.file) {
            if (files++ == lim->max_files)
                return fail(reason, 413, "too many attached files");
            if (n > lim->max_file_bytes)
                return fail(reason, 413, "an attached file is too large");
        } else {
            if (n > lim->max_value_bytes)
                return fail(reason, 413, "a form field is too long");
            if (!text_ok(data, n))
                return fail(reason, 400, NOT_TEXT);
        }
        assert(out->count < cap);
        struct form_field *f = &out->fields[out->count++];
        f->name = pt.name;
        f->name_len = pt.name_len;
        f->value = arena_strndup(a, data, n);
        f->value_len = n;
        f->filename = pt.filename;
        f->content_type = pt.content_type;
    }
    return 0;
}

int form_parse_multipart(struct arena *a, const char *content_type,
                         size_t ct_len, const char *body, size_t len,
                         const struct form_limits *lim, struct form *out,
                         const char **reason)
{
    out->fields = NULL;
    out->count = 0;
    *reason = NULL;
    int status =
        multipart(a, content_type, ct_len, body, len, lim, out, reason);
    if (status != 0)
        out->count = 0;
    return status;
}

const struct form_field *form_get(const struct form *f, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < f->count; i++)
        if (f->fields[i].name_len == n &&
            memcmp(f->fields[i].name, name, n) == 0)
            return &f->fields[i];
    return NULL;
}
