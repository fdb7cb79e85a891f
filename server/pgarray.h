/*
 * pgarray: PostgreSQL array literals ("{"a","b",NULL}") built in a bounded
 * buffer, for the statements that send a whole batch as one array per
 * column (intake's group commit, the triage worker's writes).
 *
 * Elements are always double-quoted, so only '"' and '\' need escaping;
 * NULL elements are the bare word NULL. An empty buffer is an empty array
 * once pgarray_end closes it.
 */
#ifndef TIPD_PGARRAY_H
#define TIPD_PGARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Appends one element; s may be NULL. */
void pgarray_text(struct buf *a, const char *s);
/* Appends bytes as a bytea element ("\\x..."); bytes may be NULL. */
void pgarray_bytea(struct buf *a, const unsigned char *bytes, size_t n);
/* Appends s unquoted (numbers, booleans, NULL). */
void pgarray_raw(struct buf *a, const char *s);
void pgarray_i64(struct buf *a, int64_t v);
void pgarray_f64(struct buf *a, double v);
/* Closes the literal; returns a->data (borrowed). */
const char *pgarray_end(struct buf *a);

#endif
