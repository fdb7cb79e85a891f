/*
 * http: the request and response as handlers see them, the status table,
 * and the one JSON error format of spec/api.md:
 *
 *     {"error": {"code": "...", "message": "...", "field": "..."}}
 *
 * A request's strings live in its arena (or the connection's buffers) and
 * are valid until its response is done. A response is built into bounded
 * buffers owned by the connection.
 */
#ifndef TIPD_HTTP_H
#define TIPD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"

/* X(code, symbol, reason phrase, machine-readable error code) */
#define HTTP_STATUS_TABLE(X)                                                   \
    X(100, CONTINUE, "Continue", "continue")                                   \
    X(200, OK, "OK", "ok")                                                     \
    X(201, CREATED, "Created", "created")                                      \
    X(204, NO_CONTENT, "No Content", "no_content")                             \
    X(301, MOVED_PERMANENTLY, "Moved Permanently", "moved_permanently")        \
    X(400, BAD_REQUEST, "Bad Request", "bad_request")                          \
    X(401, UNAUTHORIZED, "Unauthorized", "unauthorized")                       \
    X(403, FORBIDDEN, "Forbidden", "forbidden")                                \
    X(404, NOT_FOUND, "Not Found", "not_found")                                \
    X(405, METHOD_NOT_ALLOWED, "Method Not Allowed", "method_not_allowed")     \
    X(408, REQUEST_TIMEOUT, "Request Timeout", "request_timeout")              \
    X(409, CONFLICT, "Conflict", "conflict")                                   \
    X(411, LENGTH_REQUIRED, "Length Required", "length_required")              \
    X(413, PAYLOAD_TOO_LARGE, "Payload Too Large", "payload_too_large")        \
    X(414, URI_TOO_LONG, "URI Too Long", "uri_too_long")                       \
    X(415, UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type",                   \
      "unsupported_media_type")                                                \
    X(417, EXPECTATION_FAILED, "Expectation Failed", "expectation_failed")     \
    X(422, UNPROCESSABLE, "Unprocessable Content", "invalid_field")            \
    X(429, TOO_MANY_REQUESTS, "Too Many Requests", "rate_limited")             \
    X(431, HEADERS_TOO_LARGE, "Request Header Fields Too Large",               \
      "headers_too_large")                                                     \
    X(500, INTERNAL, "Internal Server Error", "internal")                      \
    X(501, NOT_IMPLEMENTED, "Not Implemented", "not_implemented")              \
    X(503, UNAVAILABLE, "Service Unavailable", "overloaded")

enum http_status {
#define X(code, sym, reason, err) HTTP_##sym = code,
    HTTP_STATUS_TABLE(X)
#undef X
};

/* A handler returns this instead of a status when it answers later. */
#define HTTP_ASYNC 0

/* "Bad Request" for 400; "Unknown" for a code not in the table. */
const char *http_status_reason(int status);
/* "bad_request" for 400; "error" for a code not in the table. */
const char *http_status_error_code(int status);

enum http_method {
    HTTP_METHOD_OTHER,
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_POST,
};

struct http_header {
    const char *name; /* as received */
    size_t name_len;
    const char *value; /* leading/trailing blanks removed */
    size_t value_len;
};

#define HTTP_MAX_PARAMS 4

struct http_request {
    enum http_method method;
    const char *method_name; /* NUL-terminated */
    const char *target;      /* NUL-terminated, as received */
    const char *path;        /* target before '?' */
    const char *query;       /* after '?', or "" */
    int version_minor;       /* 0 or 1 */
    struct http_header *headers;
    size_t header_count;
    struct buf body;                     /* bounded by the route's body cap */
    bool keep_alive;                     /* the client allows another request */
    const char *params[HTTP_MAX_PARAMS]; /* {name} segments of the route */
    size_t param_count;
    uint64_t started_ms; /* first byte of the request */
    struct arena *arena; /* borrowed: per-request memory */
};

/* Returns the first header with this name (case-insensitive), or NULL. */
const struct http_header *http_request_header(const struct http_request *r,
                                              const char *name);

struct http_response {
    int status;
    const char *content_type; /* static; NULL for no body */
    struct buf headers;       /* extra "Name: value\r\n" lines */
    struct buf body;
    bool close; /* close the connection after sending */
};

/* Appends one header line; -1 when the header buffer is full. */
int http_response_header(struct http_response *res, const char *name,
                         const char *value);

/*
 * Makes res an error in the JSON format. message is a static, user-safe
 * text (never client input); field may be NULL. Returns status.
 */
int http_response_error(struct http_response *res, int status,
                        const char *message, const char *field);

/*
 * The request's body as a JSON object (caller cJSON_Deletes it), or NULL
 * with res made the error: 400 when it is not a JSON object, 422 when a
 * string holds \u0000 (cJSON would cut the string there without a word;
 * the sender is told instead).
 */
struct cJSON *http_json_object(const struct http_request *req,
                               struct http_response *res);

/* Appends s to b as a JSON string literal, quotes included. */
int http_json_string(struct buf *b, const char *s);

#endif
