/*
 * route: which commission handles a report (spec/triage.md section 4).
 *
 * The accused's rank gives a management level; the report's region at that
 * level is the candidate unit, never below the region's own level; a
 * candidate that is not configured gives way to its nearest configured
 * ancestor (a municipality's districts have no city level: 500101's city
 * 500100 is not a unit, so a city-level report goes to 500000). A report
 * without a region takes one from the place names in its text.
 */
#ifndef TIPD_TRIAGE_ROUTE_H
#define TIPD_TRIAGE_ROUTE_H
#include <stdbool.h>

#include "rules.h"

/* The level of a six-digit region code: XX0000 province, XXYY00 city, else
 * county. */
enum rules_level route_region_level(const char *region);

/* Whether s is six ASCII digits. */
bool route_is_region(const char *s);

/*
 * The region named by the normalised text, by the place names of the
 * configured units (rule 4), into out (7 bytes). Returns false, out
 * untouched, when no unit or no single one is named.
 */
bool route_region_from_text(const struct rules *r, const char *normalised,
                            char out[7]);

/*
 * The handling unit, into unit (7 bytes): region (six digits) and the
 * normalised rank (NULL or unknown: the default level). Returns false when
 * no ancestor of the candidate is configured.
 */
bool route_unit(const struct rules *r, const char *region,
                const char *rank_normalised, char unit[7]);

/* The configured unit above unit (copy_to "parent"), into parent; false at
 * the top. */
bool route_parent(const struct rules *r, const char *unit, char parent[7]);

#endif
