/*
 * form: the bodies of HTML forms and form-style callbacks, decoded in
 * memory: application/x-www-form-urlencoded (the public report form
 * without attachments, Twilio callbacks, query strings) and
 * multipart/form-data (RFC 7578; the report form with attachments).
 *
 * The body is already bounded by its route's cap; these decoders bound
 * what it may hold (fields, name and value sizes, files) and refuse, with
 * a status and a static reason that never echoes input, anything
 * malformed. Every decoded string is NUL-terminated in the arena; names
 * and text values must be UTF-8, file contents are bytes.
 */
#ifndef TIPD_FORM_H
#define TIPD_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

struct form_limits {
    size_t max_fields;      /* name/value pairs, files included */
    size_t max_name_bytes;  /* one field name */
    size_t max_value_bytes; /* one non-file value, decoded */
    size_t max_files;       /* parts with a filename */
    size_t max_file_bytes;  /* one file's content */
    bool raw_values;        /* urlencoded values may be any bytes (the
                               caller decodes them, e.g. UTF-16) */
};

struct form_field {
    const char *name; /* decoded; in the arena */
    size_t name_len;
    const char *value; /* decoded; files may hold NULs: use value_len */
    size_t value_len;
    const char *filename;     /* file parts only (basename), else NULL */
    const char *content_type; /* the part's declared type, else NULL */
};

struct form {
    struct form_field *fields; /* in the arena */
    size_t count;
};

/*
 * Each returns 0, or an HTTP status (400 malformed, 413 over a limit, 415
 * not this media type) with *reason set to a static, user-safe text.
 */
int form_parse_urlencoded(struct arena *a, const char *body, size_t len,
                          const struct form_limits *lim, struct form *out,
                          const char **reason);

/* content_type: the whole Content-Type value, with its boundary. */
int form_parse_multipart(struct arena *a, const char *content_type,
                         size_t ct_len, const char *body, size_t len,
                         const struct form_limits *lim, struct form *out,
                         const char **reason);

/* The first field named name, or NULL. */
const struct form_field *form_get(const struct form *f, const char *name);

#endif
