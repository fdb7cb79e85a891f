/*
 * status: what an anonymous reporter can do with a receipt code and nothing
 * else (spec/api.md): read the report's state and the messages exchanged
 * with staff (POST /api/v1/status), and add information
 * (POST /api/v1/status/messages).
 *
 * The code is only ever compared as its keyed hash. An unknown code, a
 * malformed one and a known one answer through the same path: normalise,
 * hash, one indexed lookup, so the answer's timing does not tell which
 * (spec/reliability.md E3); unknown is 404.
 */
#ifndef TIPD_STATUS_H
#define TIPD_STATUS_H

#include <stdbool.h>

#include "router.h"

struct worker;

/*
 * Writes the answer of a lookup: outcome 200 (row is the report's state
 * and messages as a JSON document), 201 (message added), 404 (unknown
 * code) or 503 (database). res is always the waiting connection's own
 * (conn->res), so a render may find the connection with container_of.
 */
typedef void (*status_render_cb)(struct http_response *res, int outcome,
                                 const char *row, void *data);

/*
 * Looks up receipt (as typed), or with message adds it as the reporter's;
 * render writes the answer (given data, borrowed). Returns HTTP_ASYNC, or a
 * status with res filled through render. Strings must live in req's arena.
 */
int status_start(struct worker *w, struct http_conn *conn,
                 struct http_request *req, struct http_response *res,
                 const char *receipt, const char *message,
                 status_render_cb render, void *data);

/* Whether m is an acceptable reporter message (1..5000 characters). */
bool status_message_ok(const char *m);

int status_post_lookup(void *app, struct http_conn *conn,
                       struct http_request *req, struct http_response *res);
int status_post_message(void *app, struct http_conn *conn,
                        struct http_request *req, struct http_response *res);

#endif
