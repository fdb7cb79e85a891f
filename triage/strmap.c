/*
 * strmap: open addressing at most half full, so probes stay short.
 */
#include "strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oom.h"

static uint64_t hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

void strmap_init(struct strmap *m)
{
    memset(m, 0, sizeof(*m));
}

void strmap_cleanup(struct strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static struct strmap_slot *find(const struct strmap *m, const char *key)
{
    size_t mask = m->cap - 1;
    for (size_t i = hash(key) & mask;; i = (i + 1) & mask)
        if (m->slots[i].key == NULL || strcmp(m->slots[i].key, key) == 0)
            return &m->slots[i];
}

static void grow(struct strmap *m)
{
    struct strmap old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->slots = calloc(m->cap, sizeof(*m->slots));
    if (m->slots == NULL)
        oom_abort();
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key != NULL)
            *find(m, old.slots[i].key) = old.slots[i];
    free(old.slots);
}

size_t *strmap_put(struct strmap *m, const char *key, bool *added)
{
    if ((m->count + 1) * 2 > m->cap)
        grow(m);
    struct strmap_slot *s = find(m, key);
    *added = s->key == NULL;
    if (*added) {
        s->key = strdup(key);
        if (s->key == NULL)
            oom_abort();
        s->value = 0;
        m->count++;
    }
    return &s->value;
}

const size_t *strmap_get(const struct strmap *m, const char *key)
{
    if (m->cap == 0)
        return NULL;
    const struct strmap_slot *s = find(m, key);
    return s->key != NULL ? &s->value : NULL;
}
