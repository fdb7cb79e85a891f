/*
 * router: the table of every route tipd serves, and matching a request to
 * one. The table is data (routes.c) so that tests can list every route
 * (spec/reliability.md F1 generates its access matrix from it) and so that
 * each route's body cap is declared next to its handler.
 *
 * Patterns are literal paths with optional {name} segments, e.g.
 * "/api/v1/staff/cases/{id}"; a segment parameter never contains '/'.
 */
#ifndef TIPD_ROUTER_H
#define TIPD_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

struct http_conn;

/*
 * Returns a status to answer now (the response filled through res or, for
 * an error, by the router), or HTTP_ASYNC if it will call
 * http_conn_respond later. app is the worker that owns the connection.
 */
typedef int (*route_handler)(void *app, struct http_conn *conn,
                             struct http_request *req,
                             struct http_response *res);

/*
 * Decides, before the body is read, whether the request can be taken now:
 * 0, or a status (429 over the client's rate, 503 when the database is down
 * or intake is full) answered at once with res filled, so an overloaded
 * server never spends a read on a body it would refuse.
 */
typedef int (*route_admit)(void *app, struct http_conn *conn,
                           struct http_response *res);

struct route {
    enum http_method method;
    const char *pattern;
    route_handler handler;
    uint64_t body_max; /* bytes; 0 = no body; capped by max_body_bytes */
    const char *name;  /* metric label; stable */
    route_admit admit; /* NULL: always admitted */
};

struct router {
    const struct route *routes; /* borrowed, static */
    size_t count;
};

/* tipd's table, defined in routes.c. Tests may build their own. */
extern const struct router router_main;

enum router_result {
    ROUTER_FOUND,
    ROUTER_NOT_FOUND,
    ROUTER_METHOD_NOT_ALLOWED,
};

/*
 * Finds the route for req's method and path (HEAD matches GET routes) and
 * stores its {name} parameters in req (copied into req's arena).
 */
enum router_result router_match(const struct router *router,
                                struct http_request *req,
                                const struct route **out);

/*
 * Writes the methods that req's path allows ("GET, HEAD, POST"), for the
 * Allow header of a 405, into out (cap bytes, NUL-terminated).
 */
void router_allow(const struct router *router, struct http_request *req,
                  char *out, size_t cap);

#endif
