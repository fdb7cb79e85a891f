/*
 * triage: the decision, in the order of spec/triage.md: normalise, find the
 * accused and the region, route, find the cluster, categorise, apply the
 * rules.
 *
 * Every decided report stays in t->entries (its shingles, amounts, accused
 * key and cluster root). Two indexes point into it: reports per accused key
 * (a strmap to a list) and, for reports naming nobody, LSH buckets of their
 * MinHash signature, each bucket keeping its newest LSH_BUCKET_MAX entries so
 * a template phrase shared by thousands of reports cannot make a lookup
 * slow.
 */
#include "triage.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accused.h"
#include "oom.h"
#include "route.h"
#include "strmap.h"
#include "textsig.h"

/* Share of the shorter report's shingles the longer must hold for the two
 * to be one incident. Measured on the dev corpus: see triage/README.md. */
#define DUP_OVERLAP 0.45

#define MINHASH 32
#define LSH_ROWS 2
#define LSH_BANDS (MINHASH / LSH_ROWS)
#define LSH_BUCKET_MAX 64

struct entry {
    char *id;   /* owned */
    char *akey; /* owned, or NULL */
    struct textsig f;
    uint64_t keywords; /* category keywords present (keyword_bit) */
    size_t root;       /* index of the cluster's first entry */
    size_t size;       /* at a root: reports in the cluster */
};

/* The reports on one accused person: every cluster's first report, and the
 * newest ones. A duplicate is looked for among both, so a lookup costs the
 * number of distinct incidents on the person (a handful), not the number
 * of reports on them (thousands in a campaign). */
#define GROUP_RECENT 8

struct group {
    size_t *roots; /* owned; entries that opened a cluster */
    size_t root_count, root_cap;
    size_t recent[GROUP_RECENT]; /* a ring of the newest entries */
    size_t recent_count, recent_next;
    size_t count; /* reports on the person */
};

struct triage {
    const struct norm *norm;   /* borrowed */
    const struct rules *rules; /* borrowed */
    struct accused_index *names;
    struct entry *entries; /* owned */
    size_t count, cap;
    struct strmap by_accused; /* accused key -> index into groups */
    struct strmap by_id;      /* report id -> index into entries */
    struct group *groups;     /* owned */
    size_t group_count, group_cap;
    struct lsh_bucket *buckets; /* owned; open addressing on band hash */
    size_t bucket_cap, bucket_count;
};

struct lsh_bucket {
    uint64_t key; /* band index and band hash; 0: empty */
    size_t items[LSH_BUCKET_MAX];
    size_t count; /* up to LSH_BUCKET_MAX, then a ring */
    size_t next;
};

static void group_add(struct group *g, size_t entry, bool root)
{
    if (root) {
        if (g->root_count == g->root_cap) {
            g->root_cap = g->root_cap ? g->root_cap * 2 : 4;
            g->roots = realloc(g->roots, g->root_cap * sizeof(*g->roots));
            if (g->roots == NULL)
                oom_abort();
        }
        g->roots[g->root_count++] = entry;
    }
    g->recent[g->recent_next] = entry;
    g->recent_next = (g->recent_next + 1) % GROUP_RECENT;
    if (g->recent_count < GROUP_RECENT)
        g->recent_count++;
    g->count++;
}

struct triage *triage_new(const struct norm *norm, const struct rules *rules)
{
    struct triage *t = calloc(1, sizeof(*t));
    if (t == NULL)
        oom_abort();
    t->norm = norm;
    t->rules = rules;
    t->names = accused_index_new();
    strmap_init(&t->by_accused);
    strmap_init(&t->by_id);
    return t;
}

void triage_free(struct triage *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->count; i++) {
        free(t->entries[i].id);
        free(t->entries[i].akey);
        textsig_cleanup(&t->entries[i].f);
    }
    free(t->entries);
    for (size_t i = 0; i < t->group_count; i++)
        free(t->groups[i].roots);
    free(t->groups);
    strmap_cleanup(&t->by_accused);
    strmap_cleanup(&t->by_id);
    free(t->buckets);
    accused_index_free(t->names);
    free(t);
}

void triage_set_rules(struct triage *t, const struct rules *rules)
{
    t->rules = rules;
}

static char *normalise(const struct triage *t, const char *s)
{
    if (s == NULL)
        return NULL;
    size_t len;
    return norm_text(t->norm, s, strlen(s), &len);
}

/* Normalised name with separators removed ("沈 国辰" is "沈国辰"). */
static char *clean_name(const struct triage *t, const char *s)
{
    char *n = normalise(t, s);
    if (n == NULL)
        return NULL;
    char *o = n;
    for (const char *p = n; *p != '\0';) {
        const char *start = p;
        uint32_t cp = norm_next(&p);
        if (!norm_is_separator(t->norm, cp)) {
            memmove(o, start, (size_t)(p - start));
            o += p - start;
        }
    }
    *o = '\0';
    if (n[0] == '\0') {
        free(n);
        return NULL;
    }
    return n;
}

void triage_learn(struct triage *t, const struct triage_report *r)
{
    char *name = clean_name(t, r->accused_name);
    char *position = clean_name(t, r->accused_position);
    if (name != NULL)
        accused_index_learn(t->names, name, position,
                            route_is_region(r->region) ? r->region : NULL);
    free(name);
    free(position);
}

/* --- MinHash LSH ---------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static void band_keys(const struct textsig *f, uint64_t keys[LSH_BANDS])
{
    uint64_t sig[MINHASH];
    for (int k = 0; k < MINHASH; k++)
        sig[k] = UINT64_MAX;
    for (size_t i = 0; i < f->gram_count; i++)
        for (int k = 0; k < MINHASH; k++) {
            uint64_t h = mix(f->grams[i] ^ (0x9E3779B97F4A7C15ULL * (k + 1)));
            if (h < sig[k])
                sig[k] = h;
        }
    for (int b = 0; b < LSH_BANDS; b++) {
        uint64_t h = (uint64_t)b + 1;
        for (int r = 0; r < LSH_ROWS; r++)
            h = mix(h ^ sig[b * LSH_ROWS + r]);
        keys[b] = h != 0 ? h : 1;
    }
}

static struct lsh_bucket *bucket_find(struct triage *t, uint64_t key,
                                      bool create)
{
    if (create && (t->bucket_count + 1) * 2 > t->bucket_cap) {
        size_t old_cap = t->bucket_cap;
        struct lsh_bucket *old = t->buckets;
        t->bucket_cap = old_cap ? old_cap * 2 : 1024;
        t->buckets = calloc(t->bucket_cap, sizeof(*t->buckets));
        if (t->buckets == NULL)
            oom_abort();
        for (size_t i = 0; i < old_cap; i++) {
            if (old[i].key == 0)
                continue;
            size_t j = old[i].key & (t->bucket_cap - 1);
            while (t->buckets[j].key != 0)
                j = (j + 1) & (t->bucket_cap - 1);
            t->buckets[j] = old[i];
        }
        free(old);
    }
    if (t->bucket_cap == 0)
        return NULL;
    size_t j = key & (t->bucket_cap - 1);
    while (t->buckets[j].key != 0 && t->buckets[j].key != key)
        j = (j + 1) & (t->bucket_cap - 1);
    if (t->buckets[j].key == 0) {
        if (!create)
            return NULL;
        t->buckets[j].key = key;
        t->bucket_count++;
    }
    return &t->buckets[j];
}

/* --- the decision -----------------------------------------------------------
 */

static bool duplicate_of(const struct entry *a, const struct entry *b,
                         double *score)
{
    const struct textsig *f = &b->f;
    /* Another sum, or another misconduct (no category keyword in common),
     * is another incident however alike the wording. */
    if (textsig_amounts_conflict(&a->f, f))
        return false;
    if (a->keywords != 0 && b->keywords != 0 &&
        (a->keywords & b->keywords) == 0)
        return false;
    *score = textsig_overlap(&a->f, f);
    return *score >= DUP_OVERLAP;
}

/* The best earlier duplicate among candidates, or SIZE_MAX. */
static size_t best_of(const struct triage *t, const size_t *cand, size_t n,
                      const struct entry *self, const char *akey)
{
    size_t best = SIZE_MAX;
    double best_score = 0;
    for (size_t i = 0; i < n; i++) {
        const struct entry *e = &t->entries[cand[i]];
        if ((akey == NULL) != (e->akey == NULL))
            continue;
        if (akey != NULL && strcmp(akey, e->akey) != 0)
            continue;
        double score;
        if (duplicate_of(e, self, &score) && score > best_score) {
            best_score = score;
            best = cand[i];
        }
    }
    return best;
}

/* A keyword's bit: from its text, not its place in the file, so masks of
 * remembered reports stay meaningful when a reload adds or reorders
 * keywords. */
static uint64_t keyword_bit(const char *keyword)
{
    uint64_t h = 14695981039346656037ULL;
    for (const char *p = keyword; *p != '\0'; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    }
    return (uint64_t)1 << (h % 64);
}

static uint64_t keyword_mask(const struct rules *rules, const char *text)
{
    uint64_t mask = 0;
    for (size_t i = 0; i < rules->category_count; i++) {
        const struct rules_words *w = &rules->categories[i].keywords;
        for (size_t j = 0; j < w->count; j++)
            if (strstr(text, w->norm[j]) != NULL)
                mask |= keyword_bit(w->norm[j]);
    }
    return mask;
}

static bool has_any(const struct rules_words *w, const char *text)
{
    for (size_t i = 0; i < w->count; i++)
        if (strstr(text, w->norm[i]) != NULL)
            return true;
    return false;
}

static size_t count_chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static void add_copy(struct triage_decision *d, const char *unit)
{
    if (strcmp(unit, d->unit) == 0)
        return;
    for (size_t i = 0; i < d->copy_count; i++)
        if (strcmp(d->copies[i], unit) == 0)
            return;
    if (d->copy_count < TRIAGE_MAX_COPIES)
        memcpy(d->copies[d->copy_count++], unit, 7);
}

static void apply_rules(const struct triage *t, const struct triage_report *r,
                        const char *text, struct triage_decision *d)
{
    const struct rules *rules = t->rules;
    size_t chars = count_chars(text);
    for (size_t i = 0; i < rules->rule_count; i++) {
        const struct rules_rule *rule = &rules->rules[i];
        if (rule->any_keyword.count > 0 && !has_any(&rule->any_keyword, text))
            continue;
        if (rule->has_channel && rule->channel != r->channel)
            continue;
        if (rule->has_max_chars && chars > (size_t)rule->max_chars)
            continue;
        if (rule->category != NULL && strcmp(rule->category, d->category) != 0)
            continue;
        if (rule->min_cluster_size > 0 &&
            d->cluster_size < (size_t)rule->min_cluster_size)
            continue;
        if (rule->min_accused_reports > 0 &&
            d->accused_reports < (size_t)rule->min_accused_reports)
            continue;
        if (rule->has_priority)
            d->priority = rule->priority;
        if (rule->queue != NULL)
            d->queue = rule->queue;
        char parent[7];
        if (rule->copy_parent && d->unit[0] != '\0' &&
            route_parent(rules, d->unit, parent))
            add_copy(d, parent);
        if (d->rule_count < TRIAGE_MAX_RULES)
            d->rules[d->rule_count++] = rule->name;
    }
}

/* The best earlier duplicate of e, or SIZE_MAX: among the reports on the
 * same accused, or those sharing an LSH band when e names nobody. */
static size_t find_duplicate(struct triage *t, const struct entry *e)
{
    if (e->akey != NULL) {
        const size_t *slot = strmap_get(&t->by_accused, e->akey);
        if (slot == NULL)
            return SIZE_MAX;
        const struct group *g = &t->groups[*slot];
        size_t a = best_of(t, g->roots, g->root_count, e, e->akey);
        size_t b = best_of(t, g->recent, g->recent_count, e, e->akey);
        if (a == SIZE_MAX ||
            (b != SIZE_MAX && textsig_overlap(&t->entries[b].f, &e->f) >
                                  textsig_overlap(&t->entries[a].f, &e->f)))
            return b;
        return a;
    }
    uint64_t keys[LSH_BANDS];
    band_keys(&e->f, keys);
    size_t dup = SIZE_MAX;
    for (int b = 0; b < LSH_BANDS; b++) {
        struct lsh_bucket *bk = bucket_find(t, keys[b], false);
        if (bk == NULL)
            continue;
        size_t got = best_of(t, bk->items, bk->count, e, NULL);
        if (got != SIZE_MAX &&
            (dup == SIZE_MAX || textsig_overlap(&t->entries[got].f, &e->f) >
                                    textsig_overlap(&t->entries[dup].f, &e->f)))
            dup = got;
    }
    return dup;
}

/*
 * Stores e (taking its memory) in the indexes, in the cluster whose first
 * entry is root (SIZE_MAX: a cluster of its own). Returns the cluster's
 * first entry; *accused_reports gets the reports on e's accused.
 */
static const struct entry *remember(struct triage *t, struct entry *e,
                                    size_t root, size_t *accused_reports)
{
    size_t self = t->count;
    *accused_reports = 0;
    if (e->akey != NULL) {
        bool added;
        size_t *slot = strmap_put(&t->by_accused, e->akey, &added);
        if (added) {
            if (t->group_count == t->group_cap) {
                t->group_cap = t->group_cap ? t->group_cap * 2 : 64;
                t->groups =
                    realloc(t->groups, t->group_cap * sizeof(*t->groups));
                if (t->groups == NULL)
                    oom_abort();
            }
            memset(&t->groups[t->group_count], 0, sizeof(*t->groups));
            *slot = t->group_count++;
        }
        group_add(&t->groups[*slot], self, root == SIZE_MAX);
        *accused_reports = t->groups[*slot].count;
    } else {
        uint64_t keys[LSH_BANDS];
        band_keys(&e->f, keys);
        for (int b = 0; b < LSH_BANDS; b++) {
            struct lsh_bucket *bk = bucket_find(t, keys[b], true);
            if (bk->count < LSH_BUCKET_MAX) {
                bk->items[bk->count++] = self;
            } else {
                bk->items[bk->next] = self;
                bk->next = (bk->next + 1) % LSH_BUCKET_MAX;
            }
        }
    }
    if (t->count == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->entries = realloc(t->entries, t->cap * sizeof(*t->entries));
        if (t->entries == NULL)
            oom_abort();
    }
    bool added;
    *strmap_put(&t->by_id, e->id, &added) = self;
    e->root = root == SIZE_MAX ? self : root;
    e->size = 0;
    t->entries[t->count++] = *e;
    struct entry *first = &t->entries[t->entries[self].root];
    first->size++;
    return first;
}

void triage_restore(struct triage *t, const struct triage_report *r,
                    const char *cluster, const char *accused_key)
{
    struct entry e = {0};
    char *text = normalise(t, r->content != NULL ? r->content : "");
    textsig_init(&e.f, t->norm, text);
    e.keywords = keyword_mask(t->rules, text);
    free(text);
    e.id = strdup(r->id != NULL ? r->id : "");
    if (e.id == NULL)
        oom_abort();
    e.akey = accused_key != NULL ? strdup(accused_key) : NULL;
    const size_t *first = cluster != NULL && strcmp(cluster, e.id) != 0
                              ? strmap_get(&t->by_id, cluster)
                              : NULL;
    size_t ignored;
    remember(t, &e, first != NULL ? t->entries[*first].root : SIZE_MAX,
             &ignored);
    triage_learn(t, r);
}

void triage_decide(struct triage *t, const struct triage_report *r,
                   struct triage_decision *d)
{
    memset(d, 0, sizeof(*d));
    d->queue = "default";
    d->priority = RULES_PRIORITY_NORMAL;
    d->category = "unclassified";
    const struct rules *rules = t->rules;
    char *text = normalise(t, r->content != NULL ? r->content : "");

    /* Region: the field, else the place names of the text. */
    char region[7] = "";
    if (route_is_region(r->region))
        memcpy(region, r->region, 7);
    else if (!route_region_from_text(rules, text, region))
        region[0] = '\0';

    /* Accused: the structured name, else a name read from the text. */
    char *name = clean_name(t, r->accused_name);
    if (name == NULL)
        name = accused_from_text(t->names, text);
    /* The key's region is where the person is: a text naming no single
     * place still names a person that structured reports placed. */
    char where[7];
    memcpy(where, region, 7);
    if (name != NULL && where[0] == '\0' &&
        !accused_index_region(t->names, name, where))
        where[0] = '\0';
    if (name != NULL && where[0] != '\0') {
        size_t len = strlen(where) + 1 + strlen(name) + 1;
        d->accused_key = malloc(len);
        if (d->accused_key == NULL)
            oom_abort();
        snprintf(d->accused_key, len, "%s/%s", where, name);
    }
    free(name);

    /* Unit. */
    char *rank = normalise(t, r->accused_rank);
    if (region[0] == '\0' || !route_unit(rules, region, rank, d->unit))
        memcpy(d->unit, rules->default_unit[r->channel], 7);
    free(rank);

    /* Cluster. */
    struct entry e = {0};
    textsig_init(&e.f, t->norm, text);
    e.id = strdup(r->id != NULL ? r->id : "");
    if (e.id == NULL)
        oom_abort();
    e.akey = d->accused_key != NULL ? strdup(d->accused_key) : NULL;
    e.keywords = keyword_mask(rules, text);
    size_t dup = find_duplicate(t, &e);
    const struct entry *root =
        remember(t, &e, dup == SIZE_MAX ? SIZE_MAX : t->entries[dup].root,
                 &d->accused_reports);
    d->duplicate = dup != SIZE_MAX;
    d->cluster_size = root->size;
    d->cluster = strdup(root->id);
    if (d->cluster == NULL)
        oom_abort();

    /* Category: the first in file order with a keyword in the text. */
    for (size_t i = 0; i < rules->category_count; i++) {
        if (has_any(&rules->categories[i].keywords, text)) {
            d->category = rules->categories[i].id;
            break;
        }
    }
    apply_rules(t, r, text, d);
    free(text);
}

size_t triage_remembered(const struct triage *t)
{
    return t->count;
}

void triage_decision_cleanup(struct triage_decision *d)
{
    free(d->cluster);
    free(d->accused_key);
    d->cluster = NULL;
    d->accused_key = NULL;
}

char *triage_decision_json(const struct triage_report *r,
                           const struct triage_decision *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", r->id != NULL ? r->id : "");
    cJSON_AddStringToObject(o, "cluster", d->cluster);
    if (d->accused_key != NULL)
        cJSON_AddStringToObject(o, "accused_key", d->accused_key);
    else
        cJSON_AddNullToObject(o, "accused_key");
    if (d->unit[0] != '\0')
        cJSON_AddStringToObject(o, "unit", d->unit);
    else
        cJSON_AddNullToObject(o, "unit");
    cJSON_AddStringToObject(o, "category", d->category);
    cJSON_AddStringToObject(o, "queue", d->queue);
    cJSON_AddStringToObject(o, "priority", rules_priority_name(d->priority));
    cJSON *copies = cJSON_AddArrayToObject(o, "copies");
    for (size_t i = 0; i < d->copy_count; i++)
        cJSON_AddItemToArray(copies, cJSON_CreateString(d->copies[i]));
    cJSON *rules = cJSON_AddArrayToObject(o, "rules");
    for (size_t i = 0; i < d->rule_count; i++)
        cJSON_AddItemToArray(rules, cJSON_CreateString(d->rules[i]));
    cJSON_AddNumberToObject(o, "cluster_size", (double)d->cluster_size);
    cJSON_AddNumberToObject(o, "accused_reports", (double)d->accused_reports);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s == NULL)
        oom_abort();
    return s;
}
