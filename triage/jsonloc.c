/*
 * jsonloc: a second, position-only walk over JSON text (see jsonloc.h).
 *
 * The walk trusts that the text is JSON (cJSON has said so) and only skips:
 * strings to their closing quote, containers to their matching bracket,
 * scalars to the next delimiter. On text that is not JSON it still ends,
 * because every step moves forward and stops at len.
 */
#include "jsonloc.h"

static size_t skip_ws(const char *t, size_t len, size_t i)
{
    while (i < len &&
           (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
        i++;
    return i;
}

/* t[i] is the opening quote; returns the offset past the closing one. */
static size_t skip_string(const char *t, size_t len, size_t i)
{
    for (i++; i < len && t[i] != '"'; i++) {
        if (t[i] == '\\')
            i++;
    }
    return i < len ? i + 1 : len;
}

static size_t skip_value(const char *t, size_t len, size_t i)
{
    if (i >= len)
        return len;
    if (t[i] == '"')
        return skip_string(t, len, i);
    if (t[i] == '{' || t[i] == '[') {
        size_t depth = 0;
        while (i < len) {
            char ch = t[i];
            if (ch == '"') {
                i = skip_string(t, len, i);
                continue;
            }
            if (ch == '{' || ch == '[')
                depth++;
            else if ((ch == '}' || ch == ']') && --depth == 0)
                return i + 1;
            i++;
        }
        return len;
    }
    while (i < len && t[i] != ',' && t[i] != ']' && t[i] != '}' &&
           t[i] != ' ' && t[i] != '\t' && t[i] != '\n' && t[i] != '\r')
        i++;
    return i;
}

/*
 * Moves *pos (at '{' or '[') to the value of the index-th member or element
 * and returns where that member's key or element starts, or returns len if
 * the container has fewer.
 */
static size_t enter(const char *t, size_t len, size_t *pos, size_t index)
{
    int object = t[*pos] == '{';
    size_t i = *pos + 1;
    for (size_t k = 0;; k++) {
        i = skip_ws(t, len, i);
        if (i >= len || t[i] == '}' || t[i] == ']')
            return len;
        size_t start = i;
        if (object) {
            i = skip_ws(t, len, skip_string(t, len, i));
            if (i < len && t[i] == ':')
                i++;
            i = skip_ws(t, len, i);
        }
        if (k == index) {
            *pos = i;
            return start;
        }
        i = skip_ws(t, len, skip_value(t, len, i));
        if (i < len && t[i] == ',')
            i++;
    }
}

size_t jsonloc_find(const char *text, size_t len, const size_t *path,
                    size_t depth)
{
    size_t pos = 0;
    if (len >= 3 && (unsigned char)text[0] == 0xEF &&
        (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF)
        pos = 3;
    pos = skip_ws(text, len, pos);
    size_t found = pos;
    for (size_t d = 0; d < depth; d++) {
        pos = skip_ws(text, len, pos);
        if (pos >= len || (text[pos] != '{' && text[pos] != '['))
            break;
        size_t start = enter(text, len, &pos, path[d]);
        if (start >= len)
            break;
        found = start;
    }
    return found;
}

unsigned long jsonloc_line(const char *text, size_t len, size_t offset)
{
    unsigned long line = 1;
    if (offset > len)
        offset = len;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n')
            line++;
    }
    return line;
}
