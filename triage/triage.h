/*
 * triage: one report in, one decision out (spec/triage.md), with the memory
 * of every report decided before it: the duplicate clusters and the reports
 * per accused person.
 *
 * A report is a duplicate of an earlier one when both name the same accused
 * person (the entity check: look-alike reports about different people stay
 * apart), most of the shorter one's 3-gram shingles occur in the other, and
 * their amounts do not contradict. Reports naming the same person are found
 * through the accused index; reports naming nobody through MinHash LSH
 * buckets over their shingles. Either way a lookup costs what the
 * candidates cost, not what the number of stored reports does.
 *
 * The server's triage worker and `tipd triage` (offline) drive the same
 * struct: the worker feeds it the stored reports at start-up (triage_learn)
 * and then decides new ones as they commit.
 */
#ifndef TIPD_TRIAGE_TRIAGE_H
#define TIPD_TRIAGE_TRIAGE_H
#include <stdbool.h>
#include <stddef.h>

#include "norm.h"
#include "rules.h"

/* A report as triage reads it; every pointer borrowed, NULL when absent. */
struct triage_report {
    const char *id; /* the report's id (offline: the input's "id") */
    enum rules_channel channel;
    const char *content;
    const char *region;
    const char *accused_name;
    const char *accused_unit;
    const char *accused_position;
    const char *accused_rank;
};

#define TRIAGE_MAX_COPIES 4
#define TRIAGE_MAX_RULES 32

struct triage_decision {
    char *cluster;        /* owned; id of the cluster's first report */
    char *accused_key;    /* owned; "<region>/<name>", or NULL */
    char unit[7];         /* "" when no unit could be found */
    const char *category; /* borrowed from the rules, or "unclassified" */
    const char *queue;    /* borrowed from the rules, or "default" */
    enum rules_priority priority;
    char copies[TRIAGE_MAX_COPIES][7];
    size_t copy_count;
    const char *rules[TRIAGE_MAX_RULES]; /* borrowed names of rules applied */
    size_t rule_count;
    size_t cluster_size;    /* reports in the cluster, this one included */
    size_t accused_reports; /* reports on the accused, this one included */
    bool duplicate;         /* joins an earlier report's cluster */
};

struct triage;

/* norm and rules are borrowed and must outlive the triage (or be replaced
 * with triage_set_rules). Returns owned (free with triage_free). */
struct triage *triage_new(const struct norm *norm, const struct rules *rules);
void triage_free(struct triage *t);

/* Swaps the rules (a reload); the memory of earlier reports stays. */
void triage_set_rules(struct triage *t, const struct rules *rules);

/*
 * Decides r and remembers it. d is caller storage, filled; release it with
 * triage_decision_cleanup.
 */
void triage_decide(struct triage *t, const struct triage_report *r,
                   struct triage_decision *d);
void triage_decision_cleanup(struct triage_decision *d);

/*
 * Learns a structured report's accused name and position before deciding
 * anything (the offline mode's first pass; the server's start-up), so that
 * names in free text are read as the structured reports wrote them.
 */
void triage_learn(struct triage *t, const struct triage_report *r);

/*
 * Remembers a report decided before (the server's start-up, from the
 * stored decisions) without deciding it again: it joins the cluster whose
 * first report has the id cluster (a cluster of its own when that is its
 * own id, NULL, or not remembered) under the accused key stored then
 * (NULL: none), and its structured name is learnt. Restore in the order the
 * reports were decided.
 */
void triage_restore(struct triage *t, const struct triage_report *r,
                    const char *cluster, const char *accused_key);

/* How many reports the triage remembers (decided and restored). */
size_t triage_remembered(const struct triage *t);

/* The decision as one JSON object (spec/triage.md section 7), without a
 * newline. Returns owned (free()). */
char *triage_decision_json(const struct triage_report *r,
                           const struct triage_decision *d);

#endif
