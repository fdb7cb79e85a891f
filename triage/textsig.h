/*
 * textsig: what duplicate detection compares, computed once per report
 * from its normalised text (spec/triage.md sections 1-2).
 *
 * The similarity form drops whitespace and punctuation and writes every
 * amount one way (`5万`, `50,000` and `５００００` are all `50000`), so that
 * retyping, punctuation and another way of writing a sum change nothing. Its
 * character 3-grams, hashed and sorted, are the report's shingle set: two
 * reports are near-duplicates when most of the shorter one's shingles occur
 * in the other (an overlap, not a Jaccard index, so that a report cut short
 * by an SMS limit or padded with a greeting still matches its original).
 * The amounts themselves are kept apart too: look-alike reports that name
 * different sums are different incidents.
 */
#ifndef TIPD_TRIAGE_TEXTSIG_H
#define TIPD_TRIAGE_TEXTSIG_H
#include <stddef.h>
#include <stdint.h>

#include "norm.h"

#define TEXTSIG_MAX_AMOUNTS 16

struct textsig {
    uint32_t *grams; /* owned; sorted, unique 3-gram hashes */
    size_t gram_count;
    size_t chars; /* characters of the similarity form */
    int64_t amounts[TEXTSIG_MAX_AMOUNTS]; /* sorted, unique; in yuan or
                                              counts, as written */
    size_t amount_count;
};

/* Computes f from normalised text (norm_text()). norm is borrowed. */
void textsig_init(struct textsig *f, const struct norm *norm,
                  const char *normalised);
void textsig_cleanup(struct textsig *f);

/* The share (0..1) of the smaller shingle set found in the other. */
double textsig_overlap(const struct textsig *a, const struct textsig *b);

/* Whether the amounts contradict: both name amounts and share none. */
int textsig_amounts_conflict(const struct textsig *a, const struct textsig *b);

#endif
