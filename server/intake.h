/*
 * intake: the HTTP side of taking a report: decode and validate, give it a
 * receipt, hand it to the worker's group commit, answer once it is
 * committed (spec/api.md). Today: POST /api/v1/reports (JSON).
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

int intake_post_report(void *app, struct http_conn *conn,
                       struct http_request *req, struct http_response *res);

#endif
