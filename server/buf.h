/*
 * buf: a growable byte buffer with a hard maximum fixed at init (style.md 17,
 * after curl's dynbuf). Whatever the network fills goes through one of these,
 * so "too big" is always an explicit error the caller turns into 413/431,
 * never an unbounded realloc.
 */
#ifndef TIPD_BUF_H
#define TIPD_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* owned; NUL-terminated when len < cap */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
    size_t max; /* hard limit on len */
};

/* Caller storage; allocates nothing until the first append. */
void buf_init(struct buf *b, size_t max);
/* Frees the data; the buffer may be reused after buf_init. */
void buf_cleanup(struct buf *b);
/* Forgets the contents but keeps the allocation. */
void buf_reset(struct buf *b);

/* 0, or -1 when the result would exceed max or memory ran out (the buffer
 * is unchanged either way). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_appends(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Removes the first n bytes (n <= len), keeping the rest in order. */
void buf_consume(struct buf *b, size_t n);

#endif
