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

#include "router.h"

int status_post_lookup(void *app, struct http_conn *conn,
                       struct http_request *req, struct http_response *res);
int status_post_message(void *app, struct http_conn *conn,
                        struct http_request *req, struct http_response *res);

#endif
