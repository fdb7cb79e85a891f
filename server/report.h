/*
 * report: one report as intake receives it, decoded from JSON (or from the
 * web form's fields) and validated field by field.
 *
 * Validation is complete before anything reaches the database: every
 * string is valid UTF-8 within the length the schema allows (counted in
 * characters, as PostgreSQL's length() counts), free of control characters,
 * and every enum and code is checked, so a batch of validated reports
 * cannot fail a CHECK constraint and take its neighbours down with it. A
 * refusal names the field and says what to fix (spec/api.md error format).
 */
#ifndef TIPD_REPORT_H
#define TIPD_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

#define REPORT_CHANNEL_MAP(X)                                                  \
    X(WEB, "web")                                                              \
    X(SMS, "sms")                                                              \
    X(PHONE, "phone")                                                          \
    X(LETTER, "letter")                                                        \
    X(VISIT, "visit")

enum report_channel {
#define X(name, text) REPORT_##name,
    REPORT_CHANNEL_MAP(X)
#undef X
};

const char *report_channel_name(enum report_channel c);

/* Schema limits, in characters (migrations/0001_init.sql). */
#define REPORT_CONTENT_MAX 20000
#define REPORT_NAME_MAX 100
#define REPORT_UNIT_MAX 200
#define REPORT_POSITION_MAX 100
#define REPORT_RANK_MAX 50
#define REPORT_CATEGORY_MAX 50
#define REPORT_CONTACT_MAX 200
#define REPORT_EXTERNAL_ID_MAX 200

/* A file sent with a web report; bytes in the request's arena. */
struct report_attachment {
    const char *filename;     /* basename, UTF-8 */
    const char *content_type; /* as declared, or NULL */
    const char *data;
    size_t len;
};

/* Strings are NUL-terminated in the request's arena, NULL when absent. */
struct report {
    enum report_channel channel;
    const char *content;
    const char *region; /* six digits (GB/T 2260) */
    const char *accused_name;
    const char *accused_unit;
    const char *accused_position;
    const char *accused_rank;
    const char *category_hint;
    bool real_name;
    const char *reporter_name;    /* real-name reports only */
    const char *reporter_contact; /* real-name reports only */
    const char *external_id;      /* staff intake: call id, letter number */
    bool has_received_at;
    double received_at; /* Unix seconds, when has_received_at */
    bool has_sender_hash;
    unsigned char sender_hash[32]; /* SMS: keyed hash of the number */
    const struct report_attachment *attachments; /* web form only */
    size_t attachment_count;
};

/* Where a report came from decides which fields and channels it may use. */
enum report_source {
    REPORT_SOURCE_PUBLIC, /* POST /api/v1/reports: channel web */
    REPORT_SOURCE_STAFF,  /* staff intake: phone, letter, visit */
};

struct report_error {
    int status;         /* 400 malformed, 422 invalid field */
    const char *field;  /* static field name, or NULL */
    const char *reason; /* static, user-safe */
    bool hostile;       /* a shape only an attack sends (nesting beyond
                           the limit): answer and close the connection
                           (spec/reliability.md C4) */
};

/*
 * Decodes and validates a JSON report body of len bytes. Returns 0, or -1
 * with err filled. max_depth bounds JSON nesting (checked before parsing).
 */
int report_from_json(struct arena *a, const char *body, size_t len,
                     enum report_source source, int max_depth, struct report *r,
                     struct report_error *err);

/*
 * Checks every field of r (for reports built from other inputs, such as
 * the web form). 0, or -1 with err filled.
 */
int report_validate(const struct report *r, enum report_source source,
                    struct report_error *err);

/* Parses an RFC 3339 time ("2026-11-22T09:30:00+08:00") to Unix seconds.
 * 0, or -1 if it is not one. */
int report_parse_time(const char *s, double *out);

#endif
