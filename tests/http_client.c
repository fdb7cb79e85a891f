/*
 * http_client: a deliberately small response parser for tests: status
 * line, headers, Content-Length bodies (tipd never answers chunked).
 */
#include "http_client.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *find_crlf2(const char *p, size_t len)
{
    for (size_t i = 0; i + 3 < len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' &&
            p[i + 3] == '\n')
            return p + i;
    return NULL;
}

static int parse_one(const char *data, size_t len,
                     struct http_client_response *r, size_t *used)
{
    const char *end = find_crlf2(data, len);
    if (end == NULL || len < 12 || memcmp(data, "HTTP/1.", 7) != 0)
        return 0;
    memset(r, 0, sizeof(*r));
    r->status = (int)strtol(data + 9, NULL, 10);
    r->head = data;
    r->head_len = (size_t)(end - data) + 4;

    long length = 0;
    const char *line = memchr(data, '\n', r->head_len) + 1;
    while (line < end + 2) {
        const char *eol = memchr(line, '\r', (size_t)(end + 2 - line));
        if (eol == NULL || eol == line)
            break;
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (colon != NULL && r->header_count < HTTP_CLIENT_MAX_HEADERS) {
            const char *v = colon + 1;
            while (v < eol && *v == ' ')
                v++;
            int i = r->header_count++;
            r->headers[i].name = line;
            r->headers[i].name_len = (size_t)(colon - line);
            r->headers[i].value = v;
            r->headers[i].value_len = (size_t)(eol - v);
            if (colon - line == 14 &&
                strncasecmp(line, "Content-Length", 14) == 0)
                length = strtol(v, NULL, 10);
        }
        line = eol + 2;
    }
    if (r->status < 200)
        length = 0;
    if (length < 0 || r->head_len + (size_t)length > len)
        return 0;
    r->body = data + r->head_len;
    r->body_len = (size_t)length;
    *used = r->head_len + (size_t)length;
    return 1;
}

int http_client_parse(const char *data, size_t len,
                      struct http_client_response *out, int max, size_t *rest)
{
    int n = 0;
    size_t pos = 0;
    while (n < max) {
        size_t used = 0;
        if (!parse_one(data + pos, len - pos, &out[n], &used))
            break;
        pos += used;
        n++;
    }
    if (rest != NULL)
        *rest = len - pos;
    return n;
}

int http_client_header(const struct http_client_response *r, const char *name,
                       char *value, size_t cap)
{
    size_t n = strlen(name);
    for (int i = 0; i < r->header_count; i++) {
        if (r->headers[i].name_len != n ||
            strncasecmp(r->headers[i].name, name, n) != 0)
            continue;
        size_t m = r->headers[i].value_len < cap - 1 ? r->headers[i].value_len
                                                     : cap - 1;
        memcpy(value, r->headers[i].value, m);
        value[m] = '\0';
        return 1;
    }
    return 0;
}
