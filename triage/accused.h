/*
 * accused: the person a report names, for same-accused links
 * (spec/triage.md section 3).
 *
 * A report with structured accused fields names its person directly. One
 * without (an SMS, mostly) is read for the shapes people write: "<unit>
 * <position><name>", "<name>(<unit><position>)", "关于...<name>问题的反映".
 * Where a position is followed by a name of two or three characters, the
 * names already seen (from structured reports) decide first, then whether
 * the text after two characters reads as the start of what the person did.
 * The position words are a built-in list plus every position a structured
 * report has given. A mistyped position hides the name from both shapes;
 * then any name already known is looked for in the text.
 */
#ifndef TIPD_TRIAGE_ACCUSED_H
#define TIPD_TRIAGE_ACCUSED_H
#include <stdbool.h>
#include <stddef.h>

struct accused_index;

/* Returns owned (free with accused_index_free). */
struct accused_index *accused_index_new(void);
void accused_index_free(struct accused_index *x);

/* Learns a structured report's normalised name and position, and the
 * region (six digits, or NULL) it was named in. */
void accused_index_learn(struct accused_index *x, const char *name,
                         const char *position, const char *region);

/* The one region name was learnt in, into region; false when unknown or
 * named in several regions. */
bool accused_index_region(const struct accused_index *x, const char *name,
                          char region[7]);

/* Whether name (normalised) has been learnt. */
bool accused_index_knows(const struct accused_index *x, const char *name);

/*
 * The name the normalised text names, or NULL. Returns owned (free()).
 */
char *accused_from_text(const struct accused_index *x, const char *normalised);

#endif
