/*
 * router: a linear scan of the table. tipd has a few dozen routes; a scan of
 * short strings costs less than a request's header parse, and keeps the table
 * in the order a reader expects.
 */
#include "router.h"

#include <stdio.h>
#include <string.h>

/* Matches path against pattern; fills params on success. */
static int match(const char *pattern, const char *path,
                 struct http_request *req)
{
    size_t count = 0;
    const char *params[HTTP_MAX_PARAMS];
    size_t lens[HTTP_MAX_PARAMS];

    while (*pattern != '\0') {
        if (*pattern == '{') {
            const char *end = strchr(pattern, '}');
            if (end == NULL || count == HTTP_MAX_PARAMS)
                return 0;
            size_t n = strcspn(path, "/");
            if (n == 0)
                return 0;
            params[count] = path;
            lens[count++] = n;
            pattern = end + 1;
            path += n;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    if (*path != '\0')
        return 0;
    for (size_t i = 0; i < count; i++)
        req->params[i] = arena_strndup(req->arena, params[i], lens[i]);
    req->param_count = count;
    return 1;
}

enum router_result router_match(const struct router *router,
                                struct http_request *req,
                                const struct route **out)
{
    const struct route *routes = router->routes;
    enum http_method m =
        req->method == HTTP_METHOD_HEAD ? HTTP_METHOD_GET : req->method;
    bool path_known = false;
    for (size_t i = 0; i < router->count; i++) {
        if (!match(routes[i].pattern, req->path, req))
            continue;
        path_known = true;
        if (routes[i].method == m) {
            *out = &routes[i];
            return ROUTER_FOUND;
        }
    }
    return path_known ? ROUTER_METHOD_NOT_ALLOWED : ROUTER_NOT_FOUND;
}

void router_allow(const struct router *router, struct http_request *req,
                  char *out, size_t cap)
{
    bool get = false, post = false;
    for (size_t i = 0; i < router->count; i++) {
        if (!match(router->routes[i].pattern, req->path, req))
            continue;
        get = get || router->routes[i].method == HTTP_METHOD_GET;
        post = post || router->routes[i].method == HTTP_METHOD_POST;
    }
    snprintf(out, cap, "%s%s%s", get ? "GET, HEAD" : "",
             get && post ? ", " : "", post ? "POST" : "");
}
