/*
 * http_client: the tests' reading of tipd's answers. It splits a byte
 * stream (everything a connection received) into responses, so a test can
 * say "exactly one answer, 400, then the connection closed" about a raw
 * exchange, whether the bytes came from a socket or a fake transport.
 */
#ifndef TIPD_TEST_HTTP_CLIENT_H
#define TIPD_TEST_HTTP_CLIENT_H

#include <stddef.h>

#define HTTP_CLIENT_MAX_HEADERS 32

struct http_client_response {
    int status;
    const char *head; /* points into the parsed stream */
    size_t head_len;
    const char *body;
    size_t body_len;
    int header_count;
    struct {
        const char *name, *value; /* not NUL-terminated */
        size_t name_len, value_len;
    } headers[HTTP_CLIENT_MAX_HEADERS];
};

/*
 * Parses up to max responses from data. Interim 1xx responses are
 * returned like any other. Returns the number parsed; *rest (optional) is
 * set to the bytes left over that do not form a complete response.
 */
int http_client_parse(const char *data, size_t len,
                      struct http_client_response *out, int max, size_t *rest);

/*
 * Copies the value of header name (case-insensitive) into value
 * (NUL-terminated); returns 1 if found, else 0.
 */
int http_client_header(const struct http_client_response *r, const char *name,
                       char *value, size_t cap);

#endif
