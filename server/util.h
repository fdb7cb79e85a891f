/*
 * util: the few helpers every module uses: allocation that aborts on
 * failure (style.md 18), container_of, array length, and monotonic time.
 *
 * Running out of memory is not a condition tipd can serve through: every
 * buffer the network fills is bounded at init, so an allocation failure means
 * the configured bounds exceed the machine. Aborting at once is the honest
 * answer; callers never check for NULL.
 */
#ifndef TIPD_UTIL_H
#define TIPD_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* clang-format 14 mangles this macro (notes/platform.md). */
/* clang-format off */
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
/* clang-format on */

/* Return owned memory (free with free()); never NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Milliseconds from a monotonic clock. */
uint64_t util_now_ms(void);

/* Parses a whole decimal string into *out; -1 on empty, junk or overflow. */
int util_parse_u64(const char *s, size_t len, uint64_t *out);

/* The value of hex digit c (either case), or -1. */
int util_hexval(char c);

/* The offset of the first JSON escape \u0000 in s[0..n) at or after from
 * (which must not fall inside an escape), or n. cJSON decodes one into a
 * NUL byte that ends the C string it hands back, so whatever followed it
 * would be lost without a word. */
size_t util_json_nul_escape(const char *s, size_t n, size_t from);

/* Copies the C string src into dst of cap bytes, cut to fit, always
 * NUL-terminated. */
void util_copy(char *dst, size_t cap, const char *src);

/* Writes n bytes as a PostgreSQL bytea text literal ("\\x" and hex digits)
 * into out, which must hold 2 + 2 * n + 1 bytes. */
void util_bytea_hex(const unsigned char *bytes, size_t n, char *out);

/* Case-insensitive ASCII comparison of a counted string with a C string. */
int util_ieq(const char *s, size_t len, const char *lit);

#endif
