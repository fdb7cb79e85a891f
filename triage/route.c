/*
 * route: management levels over GB/T 2260 codes.
 *
 * A region code's ancestors are found by zeroing digits: county 410105,
 * city 410100, province 410000. Going up from a candidate skips levels
 * whose code is not a configured unit, which is how municipalities (no
 * city level) and any unit an administrator left out are handled.
 */
#include "route.h"

#include <stdlib.h>
#include <string.h>

#include "oom.h"

bool route_is_region(const char *s)
{
    if (s == NULL)
        return false;
    for (int i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return s[6] == '\0';
}

enum rules_level route_region_level(const char *region)
{
    if (memcmp(region + 2, "0000", 4) == 0)
        return RULES_LEVEL_PROVINCE;
    if (memcmp(region + 4, "00", 2) == 0)
        return RULES_LEVEL_CITY;
    return RULES_LEVEL_COUNTY;
}

/* The code of region at level (which must not be below region's own). */
static void at_level(const char *region, enum rules_level level, char out[7])
{
    memcpy(out, region, 7);
    if (level == RULES_LEVEL_PROVINCE)
        memcpy(out + 2, "0000", 4);
    else if (level == RULES_LEVEL_CITY)
        memcpy(out + 4, "00", 2);
}

/* The nearest configured unit at or above code, or false. */
static bool nearest_configured(const struct rules *r, const char *code,
                               char unit[7])
{
    char c[7];
    memcpy(c, code, 7);
    enum rules_level level = route_region_level(c);
    for (;;) {
        if (rules_unit_find(r, c) != NULL) {
            memcpy(unit, c, 7);
            return true;
        }
        if (level == RULES_LEVEL_PROVINCE)
            return false;
        level = level == RULES_LEVEL_COUNTY ? RULES_LEVEL_CITY
                                            : RULES_LEVEL_PROVINCE;
        at_level(code, level, c);
    }
}

bool route_unit(const struct rules *r, const char *region,
                const char *rank_normalised, char unit[7])
{
    enum rules_level level = r->default_level;
    if (rank_normalised != NULL) {
        for (size_t i = 0; i < r->rank_count; i++) {
            if (strcmp(r->ranks[i].norm, rank_normalised) == 0) {
                level = r->ranks[i].level;
                break;
            }
        }
    }
    /* Levels are ordered province < city < county: the candidate is the
     * higher (smaller) of the rank's level and the region's own. */
    enum rules_level own = route_region_level(region);
    if (level > own)
        level = own;
    char candidate[7];
    at_level(region, level, candidate);
    return nearest_configured(r, candidate, unit);
}

bool route_parent(const struct rules *r, const char *unit, char parent[7])
{
    enum rules_level level = route_region_level(unit);
    if (level == RULES_LEVEL_PROVINCE)
        return false;
    char up[7];
    at_level(unit,
             level == RULES_LEVEL_COUNTY ? RULES_LEVEL_CITY
                                         : RULES_LEVEL_PROVINCE,
             up);
    return nearest_configured(r, up, parent);
}

/*
 * Rule 4. Matches are collected per level; at the deepest level with a
 * match, one match wins; several are narrowed to those whose city or
 * province is also named; otherwise the next level up is tried. A place is
 * named wherever its name occurs, even inside a longer place name: the text
 * "卫东区" names both 卫东区 and 东区, which the spec leaves ambiguous (the
 * report then goes to the channel's default unit, whose staff route it).
 */
bool route_region_from_text(const struct rules *r, const char *normalised,
                            char out[7])
{
    size_t n = r->unit_count;
    if (n == 0)
        return false;
    bool *named = calloc(n, sizeof(*named));
    if (named == NULL)
        oom_abort();
    for (size_t i = 0; i < n; i++) {
        const char *place = r->units[i].place;
        named[i] = place != NULL && place[0] != '\0' &&
                   strstr(normalised, place) != NULL;
    }
    bool found = false;
    const enum rules_level order[3] = {RULES_LEVEL_COUNTY, RULES_LEVEL_CITY,
                                       RULES_LEVEL_PROVINCE};
    for (int l = 0; l < 3 && !found; l++) {
        size_t matches = 0, last = 0, narrowed = 0, last_narrowed = 0;
        for (size_t i = 0; i < n; i++) {
            if (!named[i] || r->units[i].level != order[l])
                continue;
            matches++;
            last = i;
            /* Is an ancestor (city or province) of this unit named too? */
            char up[7];
            bool ancestor = false;
            for (enum rules_level a = RULES_LEVEL_PROVINCE;
                 a < r->units[i].level && !ancestor; a++) {
                at_level(r->units[i].region, a, up);
                const struct rules_unit *u = rules_unit_find(r, up);
                if (u != NULL && u != &r->units[i] && u->place != NULL &&
                    u->place[0] != '\0' && strstr(normalised, u->place))
                    ancestor = true;
            }
            if (ancestor) {
                narrowed++;
                last_narrowed = i;
            }
        }
        if (matches == 1) {
            memcpy(out, r->units[last].region, 7);
            found = true;
        } else if (matches > 1 && narrowed == 1) {
            memcpy(out, r->units[last_narrowed].region, 7);
            found = true;
        }
    }
    free(named);
    return found;
}
