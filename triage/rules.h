/*
 * rules: the rules file of spec/triage.md (units, jurisdiction, categories,
 * channels, rules), loaded and validated into one immutable struct.
 *
 * The file is JSON. Every error names the file, the line and the key
 * ("rules.json:57: rules[2].if.max_chars: must be a positive integer"), and a
 * failed load changes nothing, so a reload on SIGHUP that fails keeps the
 * rules in force. Texts that triage compares (keywords, rank names, unit
 * place names) are stored normalised (norm.h) as well as verbatim, so the
 * decisions never normalise the rules again.
 *
 * Every key below is required unless marked optional; any other key is an
 * error, at every level:
 *
 *   version       1
 *   units         [{id, name, region (optional, default id)}], ids unique;
 *                 id and region six-digit GB/T 2260 codes
 *   jurisdiction  {rank_levels: {RANK: LEVEL}, default_level: LEVEL}
 *   categories    [{id, name, keywords: [TEXT...]}] (may be empty); ids
 *                 unique, [a-z0-9_-]{1,32}, not "unclassified"
 *   channels      {web|sms|phone|letter: {default_unit}}, all four, each
 *                 default_unit a configured unit
 *   rules         [{name, if: {CONDITIONS}, then: {ACTIONS}}] (may be
 *                 empty); names unique; every condition and action
 *                 optional, but a rule sets at least one action
 */
#ifndef TIPD_TRIAGE_RULES_H
#define TIPD_TRIAGE_RULES_H
#include <stdbool.h>
#include <stddef.h>

#include "norm.h"

/*
 * Bounds of a rules file: rules_load and rules_parse refuse a file beyond
 * any of them with an error, rather than letting a typo cost memory.
 */
#define RULES_MAX_FILE_BYTES (16u << 20) /* 16 MiB */
#define RULES_MAX_UNITS 100000
#define RULES_MAX_RANKS 10000
#define RULES_MAX_CATEGORIES 1000
#define RULES_MAX_RULES 1000
#define RULES_MAX_KEYWORDS 10000     /* in the whole file */
#define RULES_MAX_TEXT 1024          /* bytes of one name, keyword or rank */
#define RULES_MAX_NUMBER 1000000000L /* max_chars, min_cluster_size, ... */
#define RULES_MAX_QUEUE 32           /* bytes of a queue name */

#define RULES_LEVEL_MAP(X)                                                     \
    X(PROVINCE, "province")                                                    \
    X(CITY, "city")                                                            \
    X(COUNTY, "county")

enum rules_level {
#define X(name, text) RULES_LEVEL_##name,
    RULES_LEVEL_MAP(X)
#undef X
};

#define RULES_PRIORITY_MAP(X)                                                  \
    X(LOW, "low")                                                              \
    X(NORMAL, "normal")                                                        \
    X(HIGH, "high")                                                            \
    X(URGENT, "urgent")

enum rules_priority {
#define X(name, text) RULES_PRIORITY_##name,
    RULES_PRIORITY_MAP(X)
#undef X
};

#define RULES_CHANNEL_MAP(X)                                                   \
    X(WEB, "web")                                                              \
    X(SMS, "sms")                                                              \
    X(PHONE, "phone")                                                          \
    X(LETTER, "letter")

enum rules_channel {
#define X(name, text) RULES_CHANNEL_##name,
    RULES_CHANNEL_MAP(X)
#undef X
        RULES_CHANNEL_COUNT
};

/* A list of strings, each verbatim and normalised. */
struct rules_words {
    char **text; /* owned */
    char **norm; /* owned; norm_text() of text[i] */
    size_t count;
};

struct rules_unit {
    char id[7]; /* six digits, GB/T 2260 */
    char *name; /* owned, verbatim ("郑州市纪委监委") */
    char *place; /* owned, normalised name without "纪委监委" ("郑州市") */
    char region[7];         /* six digits; usually id */
    enum rules_level level; /* from region: XX0000 province, XXYY00 city */
};

struct rules_rank {
    char *rank; /* owned, verbatim ("正处级") */
    char *norm; /* owned, normalised */
    enum rules_level level;
};

struct rules_category {
    char *id;   /* owned ("lianjie") */
    char *name; /* owned ("廉洁纪律") */
    struct rules_words keywords;
};

/* One rule: every condition present must hold; has_* say which are. */
struct rules_rule {
    char *name;                     /* owned */
    struct rules_words any_keyword; /* count 0: no keyword condition */
    bool has_channel;
    enum rules_channel channel;
    bool has_max_chars;
    long max_chars;           /* normalised length in characters, at most */
    char *category;           /* owned; NULL: no category condition */
    long min_cluster_size;    /* 0: no condition */
    long min_accused_reports; /* 0: no condition */
    /* Actions; has_* say which are set. */
    bool has_priority;
    enum rules_priority priority;
    char *queue;      /* owned; NULL: not set */
    bool copy_parent; /* copy_to: "parent" */
};

struct rules {
    int version;
    struct rules_unit *units; /* owned, sorted by id for rules_unit_find */
    size_t unit_count;
    struct rules_rank *ranks; /* owned */
    size_t rank_count;
    enum rules_level default_level;
    struct rules_category *categories; /* owned, file order */
    size_t category_count;
    char default_unit[RULES_CHANNEL_COUNT][7]; /* per channel */
    struct rules_rule *rules;                  /* owned, file order */
    size_t rule_count;
};

/*
 * Reads and validates the rules file at path. Returns owned rules (free
 * with rules_free), or NULL with err naming file, line and key. norm is
 * borrowed for the call.
 */
struct rules *rules_load(const char *path, const struct norm *norm, char *err,
                         size_t errlen);

/* The same from memory; name is what errors call the file. */
struct rules *rules_parse(const char *text, size_t len, const char *name,
                          const struct norm *norm, char *err, size_t errlen);

void rules_free(struct rules *r);

/* The configured unit with this six-digit id, or NULL. */
const struct rules_unit *rules_unit_find(const struct rules *r, const char *id);

/* Level and channel names, for decisions and errors. */
const char *rules_level_name(enum rules_level level);
const char *rules_priority_name(enum rules_priority p);
const char *rules_channel_name(enum rules_channel c);
/* 0 and *out set, or -1 if name is not a channel. */
int rules_channel_parse(const char *name, enum rules_channel *out);
/* The same for level and priority names. */
int rules_level_parse(const char *name, enum rules_level *out);
int rules_priority_parse(const char *name, enum rules_priority *out);

/* The level of a six-digit region code: XX0000 province, XXYY00 city, any
 * other county (spec/triage.md section 4). */
enum rules_level rules_region_level(const char *region);

#endif
