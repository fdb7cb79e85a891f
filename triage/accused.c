/*
 * accused: reading a name out of free text.
 *
 * Works on code points of normalised text (so "（" is already "(" and
 * traditional characters are simplified). Names are two or three CJK
 * characters. The known names are a string set; the position words a list
 * searched longest first at each offset.
 */
#include "accused.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "norm.h"
#include "oom.h"
#include "strmap.h"

/* Positions people write before a name, simplified. */
static const char *const builtin_positions[] = {
    "副局长", "局长",   "副厅长", "厅长",   "副处长", "处长",   "副科长",
    "科长",   "股长",   "村支书", "支书",   "副镇长", "镇长",   "副乡长",
    "乡长",   "副主任", "主任",   "副书记", "书记",   "副县长", "县长",
    "副市长", "市长",   "副区长", "区长",   "所长",   "站长",   "院长",
    "校长",   "队长",   "主席",   "部长",   "总经理", "经理",   "会计",
    "董事长", "厂长",   "行长",   "馆长",   "社长",   "组长",   "村主任",
};

/* Characters that start what the person did, right after a two-character
 * name ("方杰以考察为名", "孔岩固长期"). */
static const char starters[] =
    "长在以办侵多其转工为对违档截常插借低收利把拉买搞公与打带擅涉不的将"
    "被挪滥贪索虚非私强自从和及问";

struct accused_index {
    struct strmap names;
    char (*regions)[7]; /* owned; the regions known names were seen in */
    size_t region_count, region_cap;
    char **positions; /* owned, learnt ones after the built-ins */
    size_t position_count, position_cap;
};

/* The value of a known name: the index + 1 of its only region in
 * x->regions, 0 for none, or AMBIGUOUS when several regions name it. */
#define AMBIGUOUS ((size_t)-1)

static size_t region_index(struct accused_index *x, const char *region);

struct accused_index *accused_index_new(void)
{
    struct accused_index *x = calloc(1, sizeof(*x));
    if (x == NULL)
        oom_abort();
    strmap_init(&x->names);
    return x;
}

void accused_index_free(struct accused_index *x)
{
    if (x == NULL)
        return;
    strmap_cleanup(&x->names);
    free(x->regions);
    for (size_t i = 0; i < x->position_count; i++)
        free(x->positions[i]);
    free(x->positions);
    free(x);
}

bool accused_index_knows(const struct accused_index *x, const char *name)
{
    return strmap_get(&x->names, name) != NULL;
}

/* 1 + the index of region in x->regions (added if new), or 0 for none. */
static size_t region_index(struct accused_index *x, const char *region)
{
    if (region == NULL || strlen(region) != 6)
        return 0;
    for (size_t i = 0; i < x->region_count; i++)
        if (memcmp(x->regions[i], region, 7) == 0)
            return i + 1;
    if (x->region_count == x->region_cap) {
        x->region_cap = x->region_cap ? x->region_cap * 2 : 64;
        x->regions = realloc(x->regions, x->region_cap * sizeof(*x->regions));
        if (x->regions == NULL)
            oom_abort();
    }
    memcpy(x->regions[x->region_count++], region, 7);
    return x->region_count;
}

bool accused_index_region(const struct accused_index *x, const char *name,
                          char region[7])
{
    const size_t *v = strmap_get(&x->names, name);
    if (v == NULL || *v == 0 || *v == AMBIGUOUS)
        return false;
    memcpy(region, x->regions[*v - 1], 7);
    return true;
}

void accused_index_learn(struct accused_index *x, const char *name,
                         const char *position, const char *region)
{
    bool added;
    if (name != NULL && name[0] != '\0') {
        size_t *v = strmap_put(&x->names, name, &added);
        size_t r = region_index(x, region);
        if (added || *v == 0)
            *v = r;
        else if (*v != r && r != 0)
            *v = AMBIGUOUS;
    }
    if (position == NULL || strlen(position) < 6 || strlen(position) > 30)
        return; /* one CJK character is not a position worth searching */
    for (size_t i = 0;
         i < sizeof(builtin_positions) / sizeof(*builtin_positions); i++)
        if (strcmp(builtin_positions[i], position) == 0)
            return;
    for (size_t i = 0; i < x->position_count; i++)
        if (strcmp(x->positions[i], position) == 0)
            return;
    if (x->position_count == x->position_cap) {
        x->position_cap = x->position_cap ? x->position_cap * 2 : 16;
        x->positions =
            realloc(x->positions, x->position_cap * sizeof(*x->positions));
        if (x->positions == NULL)
            oom_abort();
    }
    x->positions[x->position_count] = strdup(position);
    if (x->positions[x->position_count] == NULL)
        oom_abort();
    x->position_count++;
}

static bool is_han(uint32_t cp)
{
    return cp >= 0x4E00 && cp <= 0x9FFF;
}

static bool is_starter(uint32_t cp)
{
    for (const char *p = starters; *p != '\0';)
        if (norm_next(&p) == cp)
            return true;
    return false;
}

/* UTF-8 of cps[from, from + n). Returns owned. */
static char *utf8_of(const uint32_t *cps, size_t from, size_t n)
{
    char *s = malloc(n * 4 + 1);
    if (s == NULL)
        oom_abort();
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        o += norm_put(s + o, cps[from + i]);
    s[o] = '\0';
    return s;
}

/* Whether the position word pos (UTF-8) occurs at cps[i]; its length in
 * code points into *len. */
static bool position_at(const uint32_t *cps, size_t n, size_t i,
                        const char *pos, size_t *len)
{
    size_t k = 0;
    for (const char *p = pos; *p != '\0'; k++) {
        if (i + k >= n || cps[i + k] != norm_next(&p))
            return false;
    }
    *len = k;
    return true;
}

/* The longest position word at cps[i], in code points, or 0. */
static size_t position_len(const struct accused_index *x, const uint32_t *cps,
                           size_t n, size_t i)
{
    size_t best = 0, len;
    for (size_t k = 0;
         k < sizeof(builtin_positions) / sizeof(*builtin_positions); k++)
        if (position_at(cps, n, i, builtin_positions[k], &len) && len > best)
            best = len;
    for (size_t k = 0; k < x->position_count; k++)
        if (position_at(cps, n, i, x->positions[k], &len) && len > best)
            best = len;
    return best;
}

static bool han_run(const uint32_t *cps, size_t n, size_t from, size_t len)
{
    for (size_t i = from; i < from + len; i++)
        if (i >= n || !is_han(cps[i]))
            return false;
    return true;
}

/* The name of two or three characters starting at cps[i], or NULL. */
static char *name_at(const struct accused_index *x, const uint32_t *cps,
                     size_t n, size_t i)
{
    if (!han_run(cps, n, i, 2))
        return NULL;
    bool three = han_run(cps, n, i, 3);
    char *c2 = utf8_of(cps, i, 2);
    char *c3 = three ? utf8_of(cps, i, 3) : NULL;
    char *pick = NULL;
    if (c3 != NULL && accused_index_knows(x, c3))
        pick = c3;
    else if (accused_index_knows(x, c2))
        pick = c2;
    else if (!three || is_starter(cps[i + 2]))
        pick = c2;
    else
        pick = c3;
    if (pick != c2)
        free(c2);
    if (pick != c3)
        free(c3);
    return pick;
}

char *accused_from_text(const struct accused_index *x, const char *normalised)
{
    size_t len = strlen(normalised), n = 0;
    uint32_t *cps = malloc((len + 1) * sizeof(*cps));
    if (cps == NULL)
        oom_abort();
    for (const char *p = normalised; *p != '\0';)
        cps[n++] = norm_next(&p);
    char *name = NULL;
    /* "<name>(<unit><position>)": the name is the Han run before "(". */
    for (size_t k = 0; k < n && name == NULL; k++) {
        if (cps[k] != '(')
            continue;
        size_t s = k;
        while (s > 0 && is_han(cps[s - 1]))
            s--;
        if (k - s == 2 || k - s == 3)
            name = utf8_of(cps, s, k - s);
        break;
    }
    /* "<position><name>": the first position followed by a name. */
    for (size_t i = 0; i < n && name == NULL; i++) {
        size_t plen = position_len(x, cps, n, i);
        if (plen == 0)
            continue;
        name = name_at(x, cps, n, i + plen);
        if (name == NULL)
            i += plen - 1;
    }
    /* A mistyped position ("局常" for "局长") hides the name from both
     * shapes: then a name already known, wherever it stands. */
    for (size_t i = 0; i + 1 < n && name == NULL; i++) {
        for (size_t k = 3; k >= 2 && name == NULL; k--) {
            if (!han_run(cps, n, i, k))
                continue;
            char *c = utf8_of(cps, i, k);
            if (accused_index_knows(x, c))
                name = c;
            else
                free(c);
        }
    }
    free(cps);
    return name;
}
