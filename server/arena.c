/*
 * arena: a list of chunks bumped from the front; an allocation larger than
 * the chunk size gets a chunk of its own.
 */
#include "arena.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct arena_chunk {
    struct arena_chunk *next;
    size_t size; /* payload bytes */
    size_t used; /* payload bytes handed out */
    alignas(max_align_t) unsigned char data[];
};

void arena_init(struct arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size;
}

void arena_cleanup(struct arena *a)
{
    struct arena_chunk *c = a->head;
    while (c != NULL) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

void arena_reset(struct arena *a)
{
    if (a->head == NULL)
        return;
    /* Keep the oldest chunk (the normal-sized one made first). */
    struct arena_chunk *c = a->head;
    while (c->next != NULL) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    c->used = 0;
    a->head = c;
    if (c->size != a->chunk_size) {
        free(c);
        a->head = NULL;
    }
}

void *arena_alloc(struct arena *a, size_t n)
{
    size_t align = alignof(max_align_t);
    n = (n + align - 1) & ~(align - 1);
    struct arena_chunk *c = a->head;
    if (c == NULL || c->size - c->used < n) {
        size_t size = n > a->chunk_size ? n : a->chunk_size;
        struct arena_chunk *fresh = xmalloc(sizeof(*fresh) + size);
        fresh->size = size;
        fresh->used = 0;
        /* Keep a normal chunk at the tail so reset can reuse it. */
        if (c != NULL && size != a->chunk_size) {
            fresh->next = c->next;
            c->next = fresh;
            fresh->used = n;
            return fresh->data;
        }
        fresh->next = c;
        a->head = fresh;
        c = fresh;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
