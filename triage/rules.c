/*
 * rules: loading and validating the rules file (see rules.h).
 *
 * cJSON parses; this file then walks the tree once, section by section,
 * copying what it accepts into a struct rules and stopping at the first
 * thing it does not accept. Each value is checked with a `struct at` on the
 * stack that links it to its parent. That chain is both the path an error
 * prints ("rules[2].if.max_chars") and, as member and element positions,
 * the path jsonloc follows through the raw text to find the line. No state
 * of ours is global and a failure frees the half-built struct, so a failed
 * load leaves no trace.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "jsonloc.h"
#include "oom.h"
#include "rules.h"

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_DEPTH 16 /* the file nests 5 deep; errors print at most this */
#define SHOWN 48     /* bytes of a value quoted in an error */
#define QUOTED (SHOWN * 6 + 8) /* room for SHOWN bytes quoted, escaped */
#define UNIT_SUFFIX "纪委监委"

static const char *const level_names[] = {
#define X(name, text) text,
    RULES_LEVEL_MAP(X)
#undef X
};

static const char *const priority_names[] = {
#define X(name, text) text,
    RULES_PRIORITY_MAP(X)
#undef X
};

static const char *const channel_names[] = {
#define X(name, text) text,
    RULES_CHANNEL_MAP(X)
#undef X
};

/* One step from the top-level value down to the value being checked. */
struct at {
    const struct at *up; /* NULL for a member of the top-level object */
    const char *key;     /* the member's key; NULL for an array element */
    size_t index;        /* position in the parent object or array */
};

struct ctx {
    const char *text; /* borrowed; the whole file, len bytes */
    size_t len;
    const char *name; /* borrowed; what errors call the file */
    const struct norm *norm;
    char *err; /* the caller's, errlen bytes */
    size_t errlen;
    size_t keywords; /* keywords so far, against RULES_MAX_KEYWORDS */
};

static void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size);
    if (p == NULL)
        oom_abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (p == NULL)
        oom_abort();
    return p;
}

/* A bounded string being built: s always NUL-terminated, len < cap. */
struct text {
    char *s;
    size_t cap, len;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (n > t->cap - 1 - t->len)
        n = t->cap - 1 - t->len;
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void text_str(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

/* Appends s in double quotes, escaped so that it stays on one line, and cut
 * (at a character boundary) after SHOWN bytes. */
static void text_quote(struct text *t, const char *s)
{
    size_t n = strlen(s), cut = n;
    if (cut > SHOWN) {
        cut = SHOWN;
        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
    }
    text_add(t, "\"", 1);
    for (size_t i = 0; i < cut; i++) {
        unsigned char b = (unsigned char)s[i];
        char esc[8];
        if (b == '"' || b == '\\') {
            esc[0] = '\\';
            esc[1] = (char)b;
            text_add(t, esc, 2);
        } else if (b < 0x20 || b == 0x7F) {
            snprintf(esc, sizeof(esc), "\\u%04x", b);
            text_str(t, esc);
        } else {
            text_add(t, s + i, 1);
        }
    }
    text_str(t, cut < n ? "...\"" : "\"");
}

/* s in quotes for an error message, in buf. */
static const char *quoted(const char *s, char *buf, size_t cap)
{
    struct text t = {buf, cap, 0};
    buf[0] = '\0';
    text_quote(&t, s);
    return buf;
}

/* "a, b, c" from names, in buf. */
static const char *join(const char *const *names, size_t n, char *buf,
                        size_t cap)
{
    struct text t = {buf, cap, 0};
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            text_str(&t, ", ");
        text_str(&t, names[i]);
    }
    return buf;
}

/* A key that can be printed bare in a path: no dot, bracket, quote, space
 * or control character, and not too long. */
static bool plain_key(const char *k)
{
    if (k[0] == '\0' || strlen(k) > SHOWN)
        return false;
    for (const unsigned char *p = (const unsigned char *)k; *p; p++) {
        if (*p <= 0x20 || *p == 0x7F || *p == '.' || *p == '[' || *p == ']' ||
            *p == '"' || *p == '\\')
            return false;
    }
    return true;
}

/* The positions from the top-level value to at, into path; the depth (0,
 * the top level, for a chain deeper than the file's own nesting). */
static size_t positions(const struct at *at, size_t *path)
{
    size_t depth = 0;
    for (const struct at *a = at; a != NULL; a = a->up)
        depth++;
    if (depth > MAX_DEPTH)
        return 0;
    size_t i = depth;
    for (const struct at *a = at; a != NULL; a = a->up)
        path[--i] = a->index;
    return depth;
}

static unsigned long line_of(const struct ctx *c, const struct at *at)
{
    size_t path[MAX_DEPTH];
    size_t depth = positions(at, path);
    return jsonloc_line(c->text, c->len,
                        jsonloc_find(c->text, c->len, path, depth));
}

/* "rules[2].if.max_chars", into t. */
static void path_text(struct text *t, const struct at *at)
{
    const struct at *chain[MAX_DEPTH];
    size_t depth = 0;
    for (const struct at *a = at; a != NULL && depth < MAX_DEPTH; a = a->up)
        chain[depth++] = a;
    if (depth == 0) {
        text_str(t, "top level");
        return;
    }
    while (depth-- > 0) {
        const struct at *a = chain[depth];
        if (a->key == NULL) {
            char index[32];
            snprintf(index, sizeof(index), "[%zu]", a->index);
            text_str(t, index);
            continue;
        }
        if (a->up != NULL)
            text_str(t, ".");
        if (plain_key(a->key))
            text_str(t, a->key);
        else
            text_quote(t, a->key);
    }
}

/* Writes "FILE:LINE: PATH: message" to the caller's err; returns -1. */
__attribute__((format(printf, 3, 4))) static int
fail(const struct ctx *c, const struct at *at, const char *fmt, ...)
{
    char where[256], msg[768];
    struct text t = {where, sizeof(where), 0};
    where[0] = '\0';
    path_text(&t, at);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->errlen > 0)
        snprintf(c->err, c->errlen, "%s:%lu: %s: %s", c->name, line_of(c, at),
                 where, msg);
    return -1;
}

/* The same for an error at a byte offset, with no path. */
__attribute__((format(printf, 3, 4))) static int
fail_offset(const struct ctx *c, size_t offset, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (c->errlen > 0)
        snprintf(c->err, c->errlen, "%s:%lu: %s", c->name,
                 jsonloc_line(c->text, c->len, offset), msg);
    return -1;
}

/*
 * The file is UTF-8 without control characters: what the server stores and
 * prints verbatim (unit names) is then valid text, and cJSON, which lets raw
 * control bytes through inside strings, never sees a NUL that would cut one.
 */
static int check_bytes(const struct ctx *c)
{
    const unsigned char *s = (const unsigned char *)c->text;
    size_t i = 0, n = c->len;
    while (i < n) {
        unsigned b = s[i];
        if (b < 0x80) {
            if (b < 0x20 && b != '\t' && b != '\n' && b != '\r')
                return fail_offset(c, i,
                                   "control character 0x%02x (JSON allows "
                                   "none; in a string write \\u%04x)",
                                   b, b);
            i++;
            continue;
        }
        size_t more;
        uint32_t cp, min;
        if (b >= 0xC2 && b <= 0xDF) {
            more = 1, cp = b & 0x1F, min = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            more = 2, cp = b & 0x0F, min = 0x800;
        } else if (b >= 0xF0 && b <= 0xF4) {
            more = 3, cp = b & 0x07, min = 0x10000;
        } else {
            goto bad;
        }
        if (more >= n - i)
            goto bad;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                goto bad;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad;
        i += more + 1;
    }
    return 0;
bad:
    return fail_offset(c, i, "not valid UTF-8 (a rules file is UTF-8 text)");
}

/* Whether s holds nothing but whitespace. */
static bool blank(const char *s)
{
    for (; *s; s++) {
        if (strchr(" \t\n\r\v\f", *s) == NULL)
            return false;
    }
    return true;
}

/* Whether s matches [a-z0-9_-]{1,max}. */
static bool identifier(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return false;
    }
    return true;
}

/* The member key of obj, with its position; NULL if absent. */
static const cJSON *member(const cJSON *obj, const char *key,
                           const struct at *up, struct at *out)
{
    size_t i = 0;
    for (const cJSON *m = obj->child; m != NULL; m = m->next, i++) {
        if (m->string != NULL && strcmp(m->string, key) == 0) {
            *out = (struct at){up, key, i};
            return m;
        }
    }
    *out = (struct at){up, key, 0};
    return NULL;
}

/*
 * Checks that v is an object whose keys are all among keys[0..nkeys), none
 * twice, and that the first nrequired of them are present.
 */
static int check_object(const struct ctx *c, const struct at *at,
                        const cJSON *v, const char *const *keys, size_t nkeys,
                        size_t nrequired)
{
    char expected[256];
    join(keys, nkeys, expected, sizeof(expected));
    if (!cJSON_IsObject(v))
        return fail(c, at, "must be an object (with keys %s)", expected);
    size_t i = 0;
    for (const cJSON *m = v->child; m != NULL; m = m->next, i++) {
        const char *key = m->string != NULL ? m->string : "";
        struct at here = {at, key, i};
        bool known = false;
        for (size_t k = 0; k < nkeys && !known; k++)
            known = strcmp(key, keys[k]) == 0;
        if (!known)
            return fail(c, &here, "unknown key (expected %s)", expected);
        size_t j = 0;
        for (const cJSON *p = v->child; p != m; p = p->next, j++) {
            if (p->string != NULL && strcmp(p->string, key) == 0) {
                struct at first = {at, key, j};
                return fail(c, &here, "duplicate key (first at line %lu)",
                            line_of(c, &first));
            }
        }
    }
    for (size_t k = 0; k < nrequired; k++) {
        if (cJSON_GetObjectItemCaseSensitive(v, keys[k]) == NULL)
            return fail(c, at, "missing key \"%s\"", keys[k]);
    }
    return 0;
}

/* A non-blank string of at most RULES_MAX_TEXT bytes, or NULL (failed). */
static const char *text_value(const struct ctx *c, const struct at *at,
                              const cJSON *v)
{
    if (!cJSON_IsString(v) || v->valuestring == NULL) {
        fail(c, at, "must be a string");
        return NULL;
    }
    const char *s = v->valuestring;
    if (blank(s)) {
        fail(c, at, "must be a non-empty string");
        return NULL;
    }
    if (strlen(s) > RULES_MAX_TEXT) {
        fail(c, at, "is %zu bytes long (at most %d)", strlen(s),
             RULES_MAX_TEXT);
        return NULL;
    }
    return s;
}

/* A six-digit GB/T 2260 code, copied to out. */
static int code_value(const struct ctx *c, const struct at *at, const cJSON *v,
                      char out[7])
{
    char q[QUOTED];
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return fail(c, at, "must be a string of 6 digits");
    const char *s = v->valuestring;
    bool digits = strlen(s) == 6;
    for (size_t i = 0; digits && i < 6; i++)
        digits = s[i] >= '0' && s[i] <= '9';
    if (!digits)
        return fail(c, at, "%s is not 6 digits", quoted(s, q, sizeof(q)));
    if (s[0] == '0' && s[1] == '0')
        return fail(c, at,
                    "%s is not a GB/T 2260 code (its first two digits, "
                    "the province, are 00)",
                    quoted(s, q, sizeof(q)));
    memcpy(out, s, 7);
    return 0;
}

/* A whole number in 1..RULES_MAX_NUMBER. */
static int count_value(const struct ctx *c, const struct at *at, const cJSON *v,
                       long *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1))
        return fail(c, at, "must be a positive integer");
    if (v->valuedouble > (double)RULES_MAX_NUMBER)
        return fail(c, at, "must be at most %ld", RULES_MAX_NUMBER);
    long n = (long)v->valuedouble;
    if ((double)n != v->valuedouble)
        return fail(c, at, "must be a positive integer");
    *out = n;
    return 0;
}

/* One of names[0..n) (an enum's X-macro texts); *out gets its index. */
static int enum_value(const struct ctx *c, const struct at *at, const cJSON *v,
                      const char *const *names, size_t n, int *out)
{
    char list[128], q[QUOTED];
    join(names, n, list, sizeof(list));
    if (!cJSON_IsString(v) || v->valuestring == NULL)
        return fail(c, at, "must be one of %s", list);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v->valuestring, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    return fail(c, at, "%s is not one of %s",
                quoted(v->valuestring, q, sizeof(q)), list);
}

/* A keyword list: at least one non-blank string, stored verbatim and
 * normalised in w. */
static int words_value(struct ctx *c, const struct at *at, const cJSON *v,
                       struct rules_words *w)
{
    char q[QUOTED];
    if (!cJSON_IsArray(v))
        return fail(c, at, "must be an array of keywords");
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0)
        return fail(c, at, "must list at least one keyword");
    if (n > RULES_MAX_KEYWORDS - c->keywords)
        return fail(c, at, "makes more than %d keywords in the file",
                    RULES_MAX_KEYWORDS);
    c->keywords += n;
    w->text = xcalloc(n, sizeof(*w->text));
    w->norm = xcalloc(n, sizeof(*w->norm));
    w->count = n;
    size_t i = 0;
    for (const cJSON *e = v->child; e != NULL && i < n; e = e->next, i++) {
        struct at here = {at, NULL, i};
        const char *s = text_value(c, &here, e);
        if (s == NULL)
            return -1;
        size_t len;
        w->text[i] = xstrdup(s);
        w->norm[i] = norm_text(c->norm, s, strlen(s), &len);
        if (blank(w->norm[i]))
            return fail(c, &here, "%s is blank once normalised",
                        quoted(s, q, sizeof(q)));
    }
    return 0;
}

/* The normalised place name of a unit: its name without the suffix
 * 纪委监委 and surrounding spaces. Returns owned. */
static char *place_of(const struct norm *norm, const char *name)
{
    size_t len;
    char *p = norm_text(norm, name, strlen(name), &len);
    for (int pass = 0; pass < 2; pass++) {
        while (len > 0 && strchr(" \t\n\r", p[len - 1]) != NULL)
            len--;
        size_t slen = strlen(UNIT_SUFFIX);
        if (pass == 0 && len >= slen &&
            memcmp(p + len - slen, UNIT_SUFFIX, slen) == 0)
            len -= slen;
    }
    size_t start = 0;
    while (start < len && strchr(" \t\n\r", p[start]) != NULL)
        start++;
    memmove(p, p + start, len - start);
    p[len - start] = '\0';
    return p;
}

/* For sorting units and ranks: a key, then the position in the file. */
struct sorted {
    const char *key;
    size_t index;
};

static int sorted_cmp(const void *a, const void *b)
{
    const struct sorted *x = a, *y = b;
    int d = strcmp(x->key, y->key);
    if (d != 0)
        return d;
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Sorts s (n entries) and finds the first duplicate key in file order: the
 * smallest index that has an equal key before it. Returns true with *later
 * and *first (that earlier index) if there is one.
 */
static bool first_duplicate(struct sorted *s, size_t n, size_t *later,
                            size_t *first)
{
    qsort(s, n, sizeof(*s), sorted_cmp);
    bool found = false;
    for (size_t k = 1; k < n; k++) {
        if (strcmp(s[k].key, s[k - 1].key) != 0)
            continue;
        if (!found || s[k].index < *later) {
            *later = s[k].index;
            *first = s[k - 1].index;
            found = true;
        }
    }
    return found;
}

/* The path to the id of the index-th unit of the array units. */
static const cJSON *unit_id_at(const cJSON *units, const struct at *at,
                               size_t index, struct at *unit, struct at *id)
{
    *unit = (struct at){at, NULL, index};
    return member(cJSON_GetArrayItem(units, (int)index), "id", unit, id);
}

/* Sorts r->units by id for rules_unit_find, refusing a duplicate id. */
static int sort_units(const struct ctx *c, const struct at *at, const cJSON *v,
                      struct rules *r)
{
    size_t n = r->unit_count;
    struct sorted *s = xcalloc(n, sizeof(*s));
    for (size_t i = 0; i < n; i++)
        s[i] = (struct sorted){r->units[i].id, i};
    size_t later = 0, first = 0;
    if (first_duplicate(s, n, &later, &first)) {
        struct at unit, id, unit0, id0;
        char q[QUOTED];
        unit_id_at(v, at, later, &unit, &id);
        unit_id_at(v, at, first, &unit0, &id0);
        fail(c, &id, "%s is a duplicate of units[%zu].id (line %lu)",
             quoted(r->units[later].id, q, sizeof(q)), first, line_of(c, &id0));
        free(s);
        return -1;
    }
    struct rules_unit *units = xcalloc(n, sizeof(*units));
    for (size_t k = 0; k < n; k++)
        units[k] = r->units[s[k].index];
    free(s);
    free(r->units);
    r->units = units;
    return 0;
}

static int load_units(struct ctx *c, const struct at *at, const cJSON *v,
                      struct rules *r)
{
    static const char *const keys[] = {"id", "name", "region"};
    char q[QUOTED];
    if (!cJSON_IsArray(v))
        return fail(c, at, "must be an array of units");
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n == 0)
        return fail(c, at, "must list at least one unit");
    if (n > RULES_MAX_UNITS)
        return fail(c, at, "lists %zu units (at most %d)", n, RULES_MAX_UNITS);
    r->units = xcalloc(n, sizeof(*r->units));
    r->unit_count = n;
    size_t i = 0;
    for (const cJSON *e = v->child; e != NULL && i < n; e = e->next, i++) {
        struct at here = {at, NULL, i}, a;
        struct rules_unit *u = &r->units[i];
        if (check_object(c, &here, e, keys, LEN(keys), 2) != 0)
            return -1;
        const cJSON *id = member(e, "id", &here, &a);
        if (code_value(c, &a, id, u->id) != 0)
            return -1;
        const cJSON *region = member(e, "region", &here, &a);
        if (region == NULL)
            memcpy(u->region, u->id, sizeof(u->region));
        else if (code_value(c, &a, region, u->region) != 0)
            return -1;
        u->level = rules_region_level(u->region);
        const char *name = text_value(c, &a, member(e, "name", &here, &a));
        if (name == NULL)
            return -1;
        u->name = xstrdup(name);
        u->place = place_of(c->norm, name);
        if (u->place[0] == '\0')
            return fail(c, &a,
                        "%s names no place (expected the place, then "
                        "纪委监委)",
                        quoted(name, q, sizeof(q)));
    }
    return sort_units(c, at, v, r);
}

/* Refuses two ranks that are the same once normalised. */
static int unique_ranks(const struct ctx *c, const struct at *at,
                        const struct rules *r)
{
    size_t n = r->rank_count;
    struct sorted *s = xcalloc(n, sizeof(*s));
    for (size_t i = 0; i < n; i++)
        s[i] = (struct sorted){r->ranks[i].norm, i};
    size_t later = 0, first = 0;
    bool dup = first_duplicate(s, n, &later, &first);
    free(s);
    if (!dup)
        return 0;
    const char *a = r->ranks[later].rank, *b = r->ranks[first].rank;
    struct at here = {at, a, later}, there = {at, b, first};
    char q[QUOTED];
    if (strcmp(a, b) == 0)
        return fail(c, &here, "duplicate key (first at line %lu)",
                    line_of(c, &there));
    return fail(c, &here, "is the same rank as %s (line %lu) once normalised",
                quoted(b, q, sizeof(q)), line_of(c, &there));
}

static int load_jurisdiction(const struct ctx *c, const struct at *at,
                             const cJSON *v, struct rules *r)
{
    static const char *const keys[] = {"rank_levels", "default_level"};
    char list[128];
    if (check_object(c, at, v, keys, LEN(keys), 2) != 0)
        return -1;
    struct at a;
    const cJSON *levels = member(v, "rank_levels", at, &a);
    if (!cJSON_IsObject(levels))
        return fail(c, &a, "must be an object of rank: level (%s)",
                    join(level_names, LEN(level_names), list, sizeof(list)));
    size_t n = (size_t)cJSON_GetArraySize(levels);
    if (n > RULES_MAX_RANKS)
        return fail(c, &a, "lists %zu ranks (at most %d)", n, RULES_MAX_RANKS);
    r->ranks = xcalloc(n, sizeof(*r->ranks));
    r->rank_count = n;
    size_t i = 0;
    for (const cJSON *m = levels->child; m != NULL && i < n; m = m->next, i++) {
        const char *rank = m->string != NULL ? m->string : "";
        struct at here = {&a, rank, i};
        if (blank(rank))
            return fail(c, &here, "a rank must not be empty");
        if (strlen(rank) > RULES_MAX_TEXT)
            return fail(c, &here, "a rank has at most %d bytes",
                        RULES_MAX_TEXT);
        int level;
        if (enum_value(c, &here, m, level_names, LEN(level_names), &level) != 0)
            return -1;
        size_t len;
        r->ranks[i].rank = xstrdup(rank);
        r->ranks[i].norm = norm_text(c->norm, rank, strlen(rank), &len);
        r->ranks[i].level = (enum rules_level)level;
        if (blank(r->ranks[i].norm))
            return fail(c, &here, "a rank must not be empty");
    }
    if (unique_ranks(c, &a, r) != 0)
        return -1;
    int level;
    if (enum_value(c, &a, member(v, "default_level", at, &a), level_names,
                   LEN(level_names), &level) != 0)
        return -1;
    r->default_level = (enum rules_level)level;
    return 0;
}

static int load_categories(struct ctx *c, const struct at *at, const cJSON *v,
                           struct rules *r)
{
    static const char *const keys[] = {"id", "name", "keywords"};
    char q[QUOTED];
    if (!cJSON_IsArray(v))
        return fail(c, at, "must be an array of categories");
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n > RULES_MAX_CATEGORIES)
        return fail(c, at, "lists %zu categories (at most %d)", n,
                    RULES_MAX_CATEGORIES);
    r->categories = xcalloc(n, sizeof(*r->categories));
    r->category_count = n;
    size_t i = 0;
    for (const cJSON *e = v->child; e != NULL && i < n; e = e->next, i++) {
        struct at here = {at, NULL, i}, a;
        struct rules_category *cat = &r->categories[i];
        if (check_object(c, &here, e, keys, LEN(keys), LEN(keys)) != 0)
            return -1;
        const cJSON *id = member(e, "id", &here, &a);
        if (!cJSON_IsString(id) || id->valuestring == NULL)
            return fail(c, &a, "must be a string (an identifier)");
        if (!identifier(id->valuestring, 32))
            return fail(c, &a,
                        "%s is not an identifier ([a-z0-9_-], 1 to 32 "
                        "characters)",
                        quoted(id->valuestring, q, sizeof(q)));
        if (strcmp(id->valuestring, "unclassified") == 0)
            return fail(c, &a,
                        "\"unclassified\" is reserved for reports that no "
                        "category matches");
        for (size_t j = 0; j < i; j++) {
            if (strcmp(r->categories[j].id, id->valuestring) != 0)
                continue;
            struct at other = {at, NULL, j}, other_id;
            member(cJSON_GetArrayItem(v, (int)j), "id", &other, &other_id);
            return fail(c, &a,
                        "%s is a duplicate of categories[%zu].id "
                        "(line %lu)",
                        quoted(id->valuestring, q, sizeof(q)), j,
                        line_of(c, &other_id));
        }
        cat->id = xstrdup(id->valuestring);
        const char *name = text_value(c, &a, member(e, "name", &here, &a));
        if (name == NULL)
            return -1;
        cat->name = xstrdup(name);
        const cJSON *words = member(e, "keywords", &here, &a);
        if (words_value(c, &a, words, &cat->keywords) != 0)
            return -1;
    }
    return 0;
}

static int load_channels(const struct ctx *c, const struct at *at,
                         const cJSON *v, struct rules *r)
{
    static const char *const keys[] = {"default_unit"};
    char list[128], q[QUOTED];
    join(channel_names, LEN(channel_names), list, sizeof(list));
    if (!cJSON_IsObject(v))
        return fail(c, at, "must be an object (with keys %s)", list);
    bool seen[RULES_CHANNEL_COUNT] = {false};
    size_t where[RULES_CHANNEL_COUNT] = {0};
    size_t i = 0;
    for (const cJSON *m = v->child; m != NULL; m = m->next, i++) {
        const char *key = m->string != NULL ? m->string : "";
        struct at here = {at, key, i}, a;
        enum rules_channel ch;
        if (rules_channel_parse(key, &ch) != 0)
            return fail(c, &here, "unknown channel (expected %s)", list);
        if (seen[ch]) {
            struct at first = {at, key, where[ch]};
            return fail(c, &here, "duplicate key (first at line %lu)",
                        line_of(c, &first));
        }
        seen[ch] = true;
        where[ch] = i;
        if (check_object(c, &here, m, keys, LEN(keys), LEN(keys)) != 0)
            return -1;
        const cJSON *unit = member(m, "default_unit", &here, &a);
        char id[7];
        if (code_value(c, &a, unit, id) != 0)
            return -1;
        if (rules_unit_find(r, id) == NULL)
            return fail(c, &a, "%s is not a configured unit (see units)",
                        quoted(id, q, sizeof(q)));
        memcpy(r->default_unit[ch], id, sizeof(id));
    }
    for (size_t k = 0; k < RULES_CHANNEL_COUNT; k++) {
        if (!seen[k])
            return fail(c, at,
                        "missing channel \"%s\" (every channel needs a "
                        "default_unit)",
                        channel_names[k]);
    }
    return 0;
}

/* The conditions of one rule (its "if"). */
static int load_if(struct ctx *c, const struct at *at, const cJSON *v,
                   const struct rules *r, struct rules_rule *rule)
{
    static const char *const keys[] = {
        "any_keyword", "channel",          "max_chars",
        "category",    "min_cluster_size", "min_accused_reports"};
    char q[QUOTED];
    if (check_object(c, at, v, keys, LEN(keys), 0) != 0)
        return -1;
    struct at a;
    const cJSON *m = member(v, "any_keyword", at, &a);
    if (m != NULL && words_value(c, &a, m, &rule->any_keyword) != 0)
        return -1;
    m = member(v, "channel", at, &a);
    if (m != NULL) {
        int ch;
        if (enum_value(c, &a, m, channel_names, LEN(channel_names), &ch) != 0)
            return -1;
        rule->has_channel = true;
        rule->channel = (enum rules_channel)ch;
    }
    m = member(v, "max_chars", at, &a);
    if (m != NULL) {
        if (count_value(c, &a, m, &rule->max_chars) != 0)
            return -1;
        rule->has_max_chars = true;
    }
    m = member(v, "category", at, &a);
    if (m != NULL) {
        if (!cJSON_IsString(m) || m->valuestring == NULL)
            return fail(c, &a, "must be a string (a category id)");
        bool known = strcmp(m->valuestring, "unclassified") == 0;
        for (size_t k = 0; k < r->category_count && !known; k++)
            known = strcmp(m->valuestring, r->categories[k].id) == 0;
        if (!known) {
            char ids[256];
            struct text t = {ids, sizeof(ids), 0};
            ids[0] = '\0';
            for (size_t k = 0; k < r->category_count; k++) {
                text_str(&t, r->categories[k].id);
                text_str(&t, ", ");
            }
            text_str(&t, "unclassified");
            return fail(c, &a, "%s is not a category (expected %s)",
                        quoted(m->valuestring, q, sizeof(q)), ids);
        }
        rule->category = xstrdup(m->valuestring);
    }
    m = member(v, "min_cluster_size", at, &a);
    if (m != NULL && count_value(c, &a, m, &rule->min_cluster_size) != 0)
        return -1;
    m = member(v, "min_accused_reports", at, &a);
    if (m != NULL && count_value(c, &a, m, &rule->min_accused_reports) != 0)
        return -1;
    return 0;
}

/* The actions of one rule (its "then"). */
static int load_then(const struct ctx *c, const struct at *at, const cJSON *v,
                     struct rules_rule *rule)
{
    static const char *const keys[] = {"priority", "queue", "copy_to"};
    char q[QUOTED], list[64];
    if (check_object(c, at, v, keys, LEN(keys), 0) != 0)
        return -1;
    if (v->child == NULL)
        return fail(c, at, "sets nothing (expected at least one of %s)",
                    join(keys, LEN(keys), list, sizeof(list)));
    struct at a;
    const cJSON *m = member(v, "priority", at, &a);
    if (m != NULL) {
        int p;
        if (enum_value(c, &a, m, priority_names, LEN(priority_names), &p) != 0)
            return -1;
        rule->has_priority = true;
        rule->priority = (enum rules_priority)p;
    }
    m = member(v, "queue", at, &a);
    if (m != NULL) {
        if (!cJSON_IsString(m) || m->valuestring == NULL)
            return fail(c, &a, "must be a string (a queue name)");
        if (!identifier(m->valuestring, RULES_MAX_QUEUE))
            return fail(c, &a,
                        "%s is not a queue name ([a-z0-9_-], 1 to %d "
                        "characters)",
                        quoted(m->valuestring, q, sizeof(q)), RULES_MAX_QUEUE);
        rule->queue = xstrdup(m->valuestring);
    }
    m = member(v, "copy_to", at, &a);
    if (m != NULL) {
        if (!cJSON_IsString(m) || m->valuestring == NULL)
            return fail(c, &a, "must be \"parent\"");
        if (strcmp(m->valuestring, "parent") != 0)
            return fail(c, &a, "%s is not supported (expected \"parent\")",
                        quoted(m->valuestring, q, sizeof(q)));
        rule->copy_parent = true;
    }
    return 0;
}

static int load_rules(struct ctx *c, const struct at *at, const cJSON *v,
                      struct rules *r)
{
    static const char *const keys[] = {"name", "if", "then"};
    char q[QUOTED];
    if (!cJSON_IsArray(v))
        return fail(c, at, "must be an array of rules");
    size_t n = (size_t)cJSON_GetArraySize(v);
    if (n > RULES_MAX_RULES)
        return fail(c, at, "lists %zu rules (at most %d)", n, RULES_MAX_RULES);
    r->rules = xcalloc(n, sizeof(*r->rules));
    r->rule_count = n;
    size_t i = 0;
    for (const cJSON *e = v->child; e != NULL && i < n; e = e->next, i++) {
        struct at here = {at, NULL, i}, a;
        struct rules_rule *rule = &r->rules[i];
        if (check_object(c, &here, e, keys, LEN(keys), LEN(keys)) != 0)
            return -1;
        const char *name = text_value(c, &a, member(e, "name", &here, &a));
        if (name == NULL)
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(r->rules[j].name, name) != 0)
                continue;
            struct at other = {at, NULL, j}, other_name;
            member(cJSON_GetArrayItem(v, (int)j), "name", &other, &other_name);
            return fail(c, &a,
                        "%s is a duplicate of rules[%zu].name "
                        "(line %lu)",
                        quoted(name, q, sizeof(q)), j, line_of(c, &other_name));
        }
        rule->name = xstrdup(name);
        const cJSON *m = member(e, "if", &here, &a);
        if (load_if(c, &a, m, r, rule) != 0)
            return -1;
        m = member(e, "then", &here, &a);
        if (load_then(c, &a, m, rule) != 0)
            return -1;
    }
    return 0;
}

static int load(struct ctx *c, const cJSON *root, struct rules *r)
{
    static const char *const keys[] = {"version",    "units",    "jurisdiction",
                                       "categories", "channels", "rules"};
    if (check_object(c, NULL, root, keys, LEN(keys), LEN(keys)) != 0)
        return -1;
    struct at a;
    const cJSON *v = member(root, "version", NULL, &a);
    if (!cJSON_IsNumber(v))
        return fail(c, &a, "must be the number 1");
    if (v->valuedouble != 1)
        return fail(c, &a, "%g is not a version this tipd reads (expected 1)",
                    v->valuedouble);
    r->version = 1;
    if (load_units(c, &a, member(root, "units", NULL, &a), r) != 0)
        return -1;
    v = member(root, "jurisdiction", NULL, &a);
    if (load_jurisdiction(c, &a, v, r) != 0)
        return -1;
    v = member(root, "categories", NULL, &a);
    if (load_categories(c, &a, v, r) != 0)
        return -1;
    if (load_channels(c, &a, member(root, "channels", NULL, &a), r) != 0)
        return -1;
    return load_rules(c, &a, member(root, "rules", NULL, &a), r);
}

/* The error for text cJSON refused, at the offset where it stopped. */
static int syntax_error(const struct ctx *c, const char *end)
{
    size_t off = end != NULL && end >= c->text && end <= c->text + c->len
                     ? (size_t)(end - c->text)
                     : 0;
    while (off < c->len && strchr(" \t\n\r", c->text[off]) != NULL)
        off++;
    if (off >= c->len) {
        /* At the end: the line of the last thing written. */
        while (off > 0 && strchr(" \t\n\r", c->text[off - 1]) != NULL)
            off--;
        return fail_offset(c, off > 0 ? off - 1 : 0,
                           "JSON syntax error: the file ends early");
    }
    while (off > 0 && ((unsigned char)c->text[off] & 0xC0) == 0x80)
        off--; /* cJSON may stop inside a character */
    char near[SHOWN + 1], q[QUOTED];
    size_t n = 0;
    while (off + n < c->len && n < 20 && c->text[off + n] != '\n' &&
           c->text[off + n] != '\r')
        n++;
    while (n > 0 && off + n < c->len &&
           ((unsigned char)c->text[off + n] & 0xC0) == 0x80)
        n--;
    memcpy(near, c->text + off, n);
    near[n] = '\0';
    return fail_offset(c, off, "JSON syntax error near %s",
                       quoted(near, q, sizeof(q)));
}

struct rules *rules_parse(const char *text, size_t len, const char *name,
                          const struct norm *norm, char *err, size_t errlen)
{
    struct ctx c = {text, len, name, norm, err, errlen, 0};
    if (errlen > 0)
        err[0] = '\0';
    if (len > RULES_MAX_FILE_BYTES) {
        snprintf(err, errlen,
                 "%s: %zu bytes, more than the %u MiB a rules file may have",
                 name, len, RULES_MAX_FILE_BYTES >> 20);
        return NULL;
    }
    if (check_bytes(&c) != 0)
        return NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (root == NULL) {
        syntax_error(&c, end);
        return NULL;
    }
    size_t off = (size_t)(end - text);
    while (off < len && strchr(" \t\n\r", text[off]) != NULL)
        off++;
    if (off < len) {
        cJSON_Delete(root);
        fail_offset(&c, off, "text after the end of the JSON value");
        return NULL;
    }
    struct rules *r = xcalloc(1, sizeof(*r));
    int rc = load(&c, root, r);
    cJSON_Delete(root);
    if (rc != 0) {
        rules_free(r);
        return NULL;
    }
    return r;
}

/*
 * Reads all of fd into an owned buffer (free()), refusing more than
 * RULES_MAX_FILE_BYTES; NULL with errno set (EFBIG: too big).
 */
static char *read_all(int fd, size_t *out_len)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return NULL;
    if (S_ISDIR(st.st_mode)) {
        errno = EISDIR;
        return NULL;
    }
    size_t cap = 64 * 1024, len = 0;
    if (S_ISREG(st.st_mode)) {
        if ((unsigned long long)st.st_size > RULES_MAX_FILE_BYTES) {
            errno = EFBIG;
            return NULL;
        }
        cap = (size_t)st.st_size + 1; /* + 1: sees the end in one read */
    }
    char *buf = xcalloc(cap, 1);
    for (;;) {
        if (len == cap) {
            if (cap > RULES_MAX_FILE_BYTES) {
                free(buf);
                errno = EFBIG;
                return NULL;
            }
            cap *= 2;
            char *grown = realloc(buf, cap);
            if (grown == NULL)
                oom_abort();
            buf = grown;
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            errno = e;
            return NULL;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    if (len > RULES_MAX_FILE_BYTES) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    *out_len = len;
    return buf;
}

struct rules *rules_load(const char *path, const struct norm *norm, char *err,
                         size_t errlen)
{
    if (errlen > 0)
        err[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t len = 0;
    char *text = read_all(fd, &len);
    int e = errno;
    close(fd);
    if (text == NULL && e == EFBIG) {
        snprintf(err, errlen, "%s: more than the %u MiB a rules file may have",
                 path, RULES_MAX_FILE_BYTES >> 20);
        return NULL;
    }
    if (text == NULL) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
        return NULL;
    }
    struct rules *r = rules_parse(text, len, path, norm, err, errlen);
    free(text);
    return r;
}

static void words_free(struct rules_words *w)
{
    for (size_t i = 0; i < w->count; i++) {
        if (w->text != NULL)
            free(w->text[i]);
        if (w->norm != NULL)
            free(w->norm[i]);
    }
    free(w->text);
    free(w->norm);
}

void rules_free(struct rules *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->unit_count; i++) {
        free(r->units[i].name);
        free(r->units[i].place);
    }
    free(r->units);
    for (size_t i = 0; i < r->rank_count; i++) {
        free(r->ranks[i].rank);
        free(r->ranks[i].norm);
    }
    free(r->ranks);
    for (size_t i = 0; i < r->category_count; i++) {
        free(r->categories[i].id);
        free(r->categories[i].name);
        words_free(&r->categories[i].keywords);
    }
    free(r->categories);
    for (size_t i = 0; i < r->rule_count; i++) {
        free(r->rules[i].name);
        words_free(&r->rules[i].any_keyword);
        free(r->rules[i].category);
        free(r->rules[i].queue);
    }
    free(r->rules);
    free(r);
}

const struct rules_unit *rules_unit_find(const struct rules *r, const char *id)
{
    size_t lo = 0, hi = r->unit_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(r->units[mid].id, id);
        if (d == 0)
            return &r->units[mid];
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

enum rules_level rules_region_level(const char *region)
{
    if (strlen(region) != 6)
        return RULES_LEVEL_COUNTY;
    if (memcmp(region + 2, "0000", 4) == 0)
        return RULES_LEVEL_PROVINCE;
    if (memcmp(region + 4, "00", 2) == 0)
        return RULES_LEVEL_CITY;
    return RULES_LEVEL_COUNTY;
}

static int parse_name(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0)
            return (int)i;
    }
    return -1;
}

const char *rules_level_name(enum rules_level level)
{
    return (size_t)level < LEN(level_names) ? level_names[level] : "?";
}

const char *rules_priority_name(enum rules_priority p)
{
    return (size_t)p < LEN(priority_names) ? priority_names[p] : "?";
}

const char *rules_channel_name(enum rules_channel c)
{
    return (size_t)c < LEN(channel_names) ? channel_names[c] : "?";
}

int rules_channel_parse(const char *name, enum rules_channel *out)
{
    int i = parse_name(channel_names, LEN(channel_names), name);
    if (i < 0)
        return -1;
    *out = (enum rules_channel)i;
    return 0;
}

int rules_level_parse(const char *name, enum rules_level *out)
{
    int i = parse_name(level_names, LEN(level_names), name);
    if (i < 0)
        return -1;
    *out = (enum rules_level)i;
    return 0;
}

int rules_priority_parse(const char *name, enum rules_priority *out)
{
    int i = parse_name(priority_names, LEN(priority_names), name);
    if (i < 0)
        return -1;
    *out = (enum rules_priority)i;
    return 0;
}
