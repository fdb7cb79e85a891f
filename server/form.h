/*
 * form: the bodies of HTML forms and form-style callbacks, decoded in
 * memory: application/x-www-form-urlencoded (the public report form
 * without attachments, Twilio callbacks, query strings) and
 * multipart/form-data (RFC 7578; the report form with attachments, which
 * must work with JavaScript off, so it is decoded as browsers send it).
 *
 * The body is already bounded by its route's cap; these decoders bound
 * what it may hold (fields, name and value sizes, files) and refuse, with
 * a status and a static reason that never echoes input, anything
 * malformed. Every decoded string is NUL-terminated in the arena; names
 * must be UTF-8 (matched by length), text values UTF-8 without NUL bytes
 * (one would end the C string early), file contents are bytes.
 *
 * Memory: the decoders borrow every pointer they take for the call and
 * keep none of them; everything they return (out->fields and every string
 * a field points to) is carved from the arena and lives until its next
 * reset. Nothing else is allocated.
 */
#ifndef TIPD_FORM_H
#define TIPD_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

/*
 * Each limit allows exactly its value; one more is 413. Sizes are bytes
 * after decoding (%XX and '+' in urlencoded bodies; quoted-string escapes
 * in multipart names). A limit of 0 allows none.
 */
struct form_limits {
    size_t max_fields;      /* name/value pairs, files included; in
                               multipart every part counts, also an empty
                               file input that is not returned */
    size_t max_name_bytes;  /* one field name */
    size_t max_value_bytes; /* one non-file value, decoded */
    size_t max_files;       /* parts with a filename */
    size_t max_file_bytes;  /* one file's content */
    bool raw_values;        /* urlencoded values may be any bytes (the
                               caller decodes them, e.g. UTF-16); names
                               must still be UTF-8 */
};

struct form_field {
    const char *name; /* decoded, valid UTF-8; in the arena */
    size_t name_len;
    const char *value; /* decoded; in the arena, NUL-terminated; files may
                          hold NULs: use value_len */
    size_t value_len;
    const char *filename;     /* file parts only, else NULL: the basename
                                 (nothing up to the last '/' or '\'),
                                 non-empty UTF-8 without controls */
    const char *content_type; /* the part's declared type, blanks trimmed,
                                 else NULL (urlencoded: always NULL) */
};

struct form {
    struct form_field *fields; /* in the arena, in body order */
    size_t count;
};

/*
 * Each returns 0, or an HTTP status (400 malformed, 413 over a limit, 415
 * not this media type) with *reason set to a static, user-safe text; on
 * success *reason is NULL. On an error *out is empty (count 0).
 *
 * urlencoded: '&' separates pairs, empty pairs are skipped, a pair without
 * '=' is a name with an empty value, '+' is a space and %XX a byte (any
 * other '%' is 400). Decoded names and values must be UTF-8 (400).
 */
int form_parse_urlencoded(struct arena *a, const char *body, size_t len,
                          const struct form_limits *lim, struct form *out,
                          const char **reason);

/*
 * content_type: the whole Content-Type value (ct_len bytes, need not be
 * NUL-terminated), e.g. `multipart/form-data; boundary="x"`. Another media
 * type is 415; a missing or invalid boundary (not 1..70 printable ASCII
 * characters) is 400.
 *
 * Malformed is 400: no delimiter line, no closing delimiter, a part's
 * header block over 8 KiB, a part without `Content-Disposition: form-data`
 * or without a non-empty name, a filename empty after reduction to its
 * basename or holding controls (tab included), a name or text value that
 * is not UTF-8. A delimiter-like line that does not end as a delimiter
 * (`--boundary` followed by more than blanks and CRLF, or "--") is content.
 * `filename*=UTF-8''...` (RFC 5987) is decoded and preferred to filename.
 * A part with `filename=""` and no content (a file input left empty, as
 * browsers send it) is dropped, not returned.
 */
int form_parse_multipart(struct arena *a, const char *content_type,
                         size_t ct_len, const char *body, size_t len,
                         const struct form_limits *lim, struct form *out,
                         const char **reason);

/* The first field whose name is exactly name, or NULL. Borrows both; the
 * result points into f. */
const struct form_field *form_get(const struct form *f, const char *name);

#endif
