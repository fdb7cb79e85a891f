/*
 * casework: the staff API over cases (spec/api.md, staff section; issue 5):
 * queue listings, claims with leases, the case view, dispositions,
 * transfers, messages to reporters, releases.
 *
 * Every route authenticates its bearer token (auth.h), then runs one
 * transaction on the worker's database session: the action, and its audit
 * row (audit_append in migrations/0005_casework.sql) in the same statement,
 * then COMMIT, whose tag is checked. Every statement is bounded to the
 * caller's unit: another unit's case answers 404, exactly like a missing
 * one. The admin role manages units, staff and tokens and reads no case
 * content; operators enter reports only.
 */
#ifndef TIPD_CASEWORK_H
#define TIPD_CASEWORK_H

#include "http.h"

struct http_conn;

/* Route handlers (app is the worker). */
int casework_get_queues(void *app, struct http_conn *conn,
                        struct http_request *req, struct http_response *res);
int casework_post_claim(void *app, struct http_conn *conn,
                        struct http_request *req, struct http_response *res);
int casework_get_case(void *app, struct http_conn *conn,
                      struct http_request *req, struct http_response *res);
int casework_post_disposition(void *app, struct http_conn *conn,
                              struct http_request *req,
                              struct http_response *res);
int casework_post_transfer(void *app, struct http_conn *conn,
                           struct http_request *req, struct http_response *res);
int casework_post_message(void *app, struct http_conn *conn,
                          struct http_request *req, struct http_response *res);
int casework_post_release(void *app, struct http_conn *conn,
                          struct http_request *req, struct http_response *res);
/* A supervisor assigns a case to a member of the unit (承办人). */
int casework_post_assign(void *app, struct http_conn *conn,
                         struct http_request *req, struct http_response *res);
/* The caller's own queue: the open cases assigned to them. Claimed with
 * POST /api/v1/staff/queues/mine/claim. */
int casework_get_assigned(void *app, struct http_conn *conn,
                          struct http_request *req, struct http_response *res);
/* A supervisor's view of the unit's audit trail, newest first, 200 at a
 * time (?before=ID for the page before). */
int casework_get_audit(void *app, struct http_conn *conn,
                       struct http_request *req, struct http_response *res);

#endif
