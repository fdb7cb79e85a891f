/*
 * intake: the HTTP side of taking a report: decode and validate, give it a
 * receipt, hand it to the worker's group commit, answer once it is
 * committed (spec/api.md).
 *
 * Order of refusals, cheapest first: admission before the body is read
 * (503 with Retry-After when the database is down or intake is full), then
 * the media type (415), then the body (400 malformed, 422 a field, named),
 * then the idempotency key's reuse for another request (409).
 */
#ifndef TIPD_INTAKE_H
#define TIPD_INTAKE_H

#include "router.h"

/* Route admission for every intake route: 0 or 503. */
int intake_admit(void *app);

/* POST /api/v1/reports: one web report as JSON. */
int intake_post_report(void *app, struct http_conn *conn,
                       struct http_request *req, struct http_response *res);

/* POST /api/v1/staff/intake: one phone, letter or visit report entered by
 * an operator (bearer token; external_id is the idempotency key within
 * the operator's unit; received_at the call or postmark time). */
int intake_post_staff(void *app, struct http_conn *conn,
                      struct http_request *req, struct http_response *res);

/* POST /api/v1/staff/intake/batch: such reports as JSON lines; 200 with one
 * answer per line, {"results":[{"line":N,"status":201,"receipt":...} or
 * {"line":N,"status":422,"error":{...}}]}; good lines are stored, bad ones
 * name their line and field. */
int intake_post_staff_batch(void *app, struct http_conn *conn,
                            struct http_request *req,
                            struct http_response *res);

#endif
