/*
 * utf8: checks of text that arrives from outside: strict UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF, no cut
 * sequences), length in code points (as PostgreSQL's length() counts), and
 * control characters (C0 but tab, DEL, and C1 U+0080..U+009F).
 */
#ifndef TIPD_UTF8_H
#define TIPD_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool utf8_valid(const char *s, size_t len);

/* Code points in s, which must be valid UTF-8. */
size_t utf8_count(const char *s, size_t len);

/* Whether s has control characters; \n and \r are allowed when
 * allow_newlines (report texts), never in names. */
bool utf8_has_controls(const char *s, size_t len, bool allow_newlines);

#endif
