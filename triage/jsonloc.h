/*
 * jsonloc: the line a JSON value sits on, for error messages.
 *
 * cJSON keeps no positions. Once cJSON has accepted a text, jsonloc walks
 * the raw bytes again along a path of positions (the n-th member of an
 * object, the n-th element of an array) and says where the key or element
 * at its end starts. Positions rather than key names, because the caller
 * iterates cJSON's children in file order anyway and a position tells apart
 * two members with the same key.
 */
#ifndef TIPD_TRIAGE_JSONLOC_H
#define TIPD_TRIAGE_JSONLOC_H
#include <stddef.h>

/*
 * The byte offset in text (len bytes, borrowed) of what path names: each
 * path[i] is a 0-based position in the object or array reached so far,
 * starting from the top-level value. For an object member the offset is that
 * of its key; for an array element, of its value; for depth 0, of the
 * top-level value. A path that leaves the text (it does not match) stops at
 * the deepest step that was found.
 */
size_t jsonloc_find(const char *text, size_t len, const size_t *path,
                    size_t depth);

/* The 1-based line of offset in text (clamped to len). */
unsigned long jsonloc_line(const char *text, size_t len, size_t offset);

#endif
