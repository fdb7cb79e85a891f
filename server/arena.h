/*
 * arena: per-request memory (style.md 16, after h2o's mem pool). Everything
 * a request needs (its header copies, path parameters, handler scratch) is
 * carved from one arena that is reset when the response is done, so a
 * handler never frees piecemeal and a request can never leak.
 */
#ifndef TIPD_ARENA_H
#define TIPD_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *head; /* owned list, newest first */
    size_t chunk_size;        /* default chunk payload size */
};

void arena_init(struct arena *a, size_t chunk_size);
/* Frees every chunk. */
void arena_cleanup(struct arena *a);
/* Frees all but one chunk and makes it empty again. */
void arena_reset(struct arena *a);

/* Returns memory valid until the next reset, aligned for any type. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);

#endif
