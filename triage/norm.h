/*
 * norm: the normalised text every triage comparison works on
 * (spec/triage.md section 1): Unicode NFKC with case folding, then
 * traditional -> simplified Chinese.
 *
 * Calling ICU and OpenCC per report costs ~80 us (spec/performance.md), so
 * norm_new() asks them once, at start-up, what each code point of the Basic
 * Multilingual Plane becomes, and keeps the answers in a flat table: a report
 * is then normalised by one table lookup per character. The table is only
 * exact where normalisation works character by character; a text holding a
 * character that can combine with the one before it (a combining accent, a
 * Hangul jamo) or one outside the BMP takes the slow path through ICU, whose
 * result is then mapped through the same traditional -> simplified table.
 *
 * A built table is immutable: one is shared by every thread.
 */
#ifndef TIPD_TRIAGE_NORM_H
#define TIPD_TRIAGE_NORM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct norm;

/* Builds the tables (~0.1 s). Returns owned (free with norm_free), or NULL
 * with err saying what is missing (OpenCC's t2s.json, ICU's data). */
struct norm *norm_new(char *err, size_t errlen);
void norm_free(struct norm *n);

/*
 * The normalised form of the UTF-8 text s (len bytes; invalid sequences are
 * dropped). Returns owned (free()), NUL-terminated; *out_len gets its
 * length in bytes.
 */
char *norm_text(const struct norm *n, const char *s, size_t len,
                size_t *out_len);

/* Whether cp (of normalised text) is whitespace, punctuation or a symbol:
 * what the similarity form (spec/triage.md section 1, step 4) leaves out. */
bool norm_is_separator(const struct norm *n, uint32_t cp);

/* Decodes one UTF-8 character of normalised (so valid) text at *p, moving
 * *p past it. */
uint32_t norm_next(const char **p);

/* Appends cp as UTF-8 to out (room for 4 bytes); returns the bytes added. */
size_t norm_put(char *out, uint32_t cp);

#endif
