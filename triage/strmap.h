/*
 * strmap: a string -> size_t hash map (open addressing, linear probing,
 * FNV-1a), for the indexes triage keeps: names seen, reports per accused
 * key. Keys are copied; the map owns them.
 */
#ifndef TIPD_TRIAGE_STRMAP_H
#define TIPD_TRIAGE_STRMAP_H
#include <stdbool.h>
#include <stddef.h>

struct strmap_slot {
    char *key; /* owned; NULL: empty */
    size_t value;
};

struct strmap {
    struct strmap_slot *slots; /* owned */
    size_t cap;                /* a power of two, or 0 */
    size_t count;
};

void strmap_init(struct strmap *m);
void strmap_cleanup(struct strmap *m);

/* The value slot of key, added with value 0 if absent (*added says so). */
size_t *strmap_put(struct strmap *m, const char *key, bool *added);

/* The value of key, or NULL. */
const size_t *strmap_get(const struct strmap *m, const char *key);

#endif
