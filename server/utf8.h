/*
 * utf8: checks of text that arrives from outside: strict UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF, no cut
 * sequences), length in code points (as PostgreSQL's length() counts), and
 * control characters (C0 but tab, DEL, and C1 U+0080..U+009F).
 *
 * Every function borrows s for the call and keeps nothing; s need not be
 * NUL-terminated, and a NUL byte inside it is an ordinary (control)
 * character.
 */
#ifndef TIPD_UTF8_H
#define TIPD_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether s[0..len) is strict UTF-8. The empty string is. */
bool utf8_valid(const char *s, size_t len);

/* Code points in s, which must be valid UTF-8 (otherwise: the bytes that
 * are not continuation bytes). */
size_t utf8_count(const char *s, size_t len);

/*
 * Whether s has a control character: C0 (U+0000..U+001F) but tab, DEL
 * (U+007F), or C1 (U+0080..U+009F). \n and \r are allowed only when
 * allow_newlines (report texts), never in names. s should be valid UTF-8.
 */
bool utf8_has_controls(const char *s, size_t len, bool allow_newlines);

/* Writes code point cp (at most 0x10FFFF, no surrogate) as UTF-8 into out;
 * returns the bytes written (1 to 4). */
size_t utf8_encode(uint32_t cp, char out[4]);

#endif
