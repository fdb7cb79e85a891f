/*
 * regions: the region choice of the public report form, read from the
 * configured units (the units table, GB/T 2260 codes; `tipd units import`).
 *
 * A form without JavaScript cannot have dependent province -> city ->
 * county lists, so the page gets one <select name="region"> with an
 * <optgroup> per province and per city (the county options under their
 * city); public/form.js, when it runs, turns it into three linked lists
 * that set the same field. Without units (none imported, or the database
 * not reachable) the field is a text input for the six-digit code, so the
 * form still works.
 *
 * Each worker keeps a copy of the list (struct regions_cache) and reads it
 * again when it is older than form_regions_max_age_ms, so a crowd loading
 * the form costs the database one read per worker and period, not one per
 * page; while a read is in flight the old copy serves.
 */
#ifndef TIPD_REGIONS_H
#define TIPD_REGIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "db.h"

struct arena;
struct worker;

struct region {
    char code[7];     /* six digits */
    const char *name; /* the region's name ("金水区"), in the arena */
};

/* A worker's copy of the list; zeroed storage is an empty cache. */
struct regions_cache {
    struct region *regions; /* owned (malloc): count of them */
    char *names;            /* owned (malloc): their names, NUL-separated */
    size_t count;
    uint64_t loaded_ms; /* when read (util_now_ms); 0: never */
    bool loading;       /* a read is in flight */
};

/* Frees what the cache holds (it is then empty). */
void regions_cache_cleanup(struct regions_cache *c);

struct regions_request;
/* status: 0 (the list is in q), or 503 (no list: the database failed). */
typedef void (*regions_done_cb)(struct regions_request *q, int status);

/* Caller storage in the request's arena, valid until done. */
struct regions_request {
    struct db_job job;
    struct arena *arena;    /* borrowed: the request's */
    struct region *regions; /* in the arena, ordered by code */
    size_t count;
    regions_done_cb done;
    void *data;                  /* for the caller */
    struct regions_cache *cache; /* borrowed: the worker's */
};

/*
 * Gets the units for a render. Returns 1 when w's copy serves (q is filled
 * now; it borrows the cache's memory, so render before returning to the
 * loop), 0 when they are being read on w's database session (done will
 * be called), or -1 if there is no copy and the session is not up (done is
 * not called; render with count 0: a text field).
 */
int regions_start(struct regions_request *q, struct worker *w,
                  struct arena *arena, regions_done_cb done, void *data);

/*
 * Appends the region field: the <select> of q's regions (q may be NULL or
 * empty: a text input instead) with selected chosen. described_by is the
 * ids of the field's hint and error elements, or NULL; invalid marks it
 * (aria-invalid). Values are escaped.
 */
void regions_field(struct buf *b, const struct regions_request *q,
                   const char *selected, const char *described_by,
                   bool invalid);

#endif
