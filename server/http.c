/*
 * http: status table lookups, header lookup and the error body.
 */
#include "http.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

const char *http_status_reason(int status)
{
    switch (status) {
#define X(code, sym, reason, err)                                              \
    case code:                                                                 \
        return reason;
        HTTP_STATUS_TABLE(X)
#undef X
    }
    return "Unknown";
}

const char *http_status_error_code(int status)
{
    switch (status) {
#define X(code, sym, reason, err)                                              \
    case code:                                                                 \
        return err;
        HTTP_STATUS_TABLE(X)
#undef X
    }
    return "error";
}

const struct http_header *http_request_header(const struct http_request *r,
                                              const char *name)
{
    for (size_t i = 0; i < r->header_count; i++)
        if (util_ieq(r->headers[i].name, r->headers[i].name_len, name))
            return &r->headers[i];
    return NULL;
}

int http_response_header(struct http_response *res, const char *name,
                         const char *value)
{
    return buf_printf(&res->headers, "%s: %s\r\n", name, value);
}

int http_json_string(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (buf_append(b, "\"", 1) != 0)
        return -1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[7];
        size_t n = 0;
        switch (*p) {
        case '"':
            memcpy(esc, "\\\"", n = 2);
            break;
        case '\\':
            memcpy(esc, "\\\\", n = 2);
            break;
        case '\n':
            memcpy(esc, "\\n", n = 2);
            break;
        case '\r':
            memcpy(esc, "\\r", n = 2);
            break;
        case '\t':
            memcpy(esc, "\\t", n = 2);
            break;
        default:
            if (*p < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[*p >> 4];
                esc[5] = hex[*p & 15];
                n = 6;
            } else {
                esc[0] = (char)*p;
                n = 1;
            }
        }
        if (buf_append(b, esc, n) != 0)
            return -1;
    }
    return buf_append(b, "\"", 1);
}

int http_response_error(struct http_response *res, int status,
                        const char *message, const char *field)
{
    res->status = status;
    res->content_type = "application/json";
    buf_reset(&res->body);
    /* The error texts are short and static: they always fit. */
    buf_printf(&res->body, "{\"error\":{\"code\":\"%s\",\"message\":",
               http_status_error_code(status));
    http_json_string(&res->body, message);
    if (field != NULL) {
        buf_appends(&res->body, ",\"field\":");
        http_json_string(&res->body, field);
    }
    buf_appends(&res->body, "}}\n");
    if (status == HTTP_UNAVAILABLE)
        http_response_header(res, "Retry-After", "1");
    return status;
}

cJSON *http_json_object(const struct http_request *req,
                        struct http_response *res)
{
    const char *body = req->body.data != NULL ? req->body.data : "";
    if (util_json_nul_escape(body, req->body.len, 0) < req->body.len) {
        http_response_error(res, 422,
                            "a string holds \\u0000 (a NUL character): "
                            "remove it",
                            NULL);
        return NULL;
    }
    cJSON *root = cJSON_ParseWithLength(body, req->body.len);
    if (root == NULL || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        http_response_error(res, 400, "the body is not a JSON object", NULL);
        return NULL;
    }
    return root;
}
