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

#include <stddef.h>

#include "batch.h"
#include "receipt.h"
#include "report.h"
#include "router.h"

struct worker;

/*
 * One report on its way to the database, in the request's arena: its batch
 * item, the connection that waits for it, and its receipt code. render
 * (optional) writes the answer for channels that do not answer in JSON
 * (an SMS gateway's reply); it runs once the outcome (item.status 201, 409
 * or 503) is known, and the connection is then resumed.
 */
struct intake_submission {
    struct batch_item item;
    struct http_conn *conn; /* borrowed: waits in HANDLING for us */
    char receipt[RECEIPT_TEXT_SIZE];
    void (*render)(struct intake_submission *s, struct http_response *res);
    void *data; /* for render */
};

/*
 * Gives s a receipt (derived from scope, key and the request bytes when
 * there is a key, random otherwise) and queues r for the worker's group
 * commit. s->conn must be set. 0, or -1 when intake cannot take it now
 * (answer 503): nothing was queued.
 */
int intake_submit(struct worker *w, struct http_request *req,
                  struct intake_submission *s, const struct report *r,
                  const char *scope, const char *key, const char *bytes,
                  size_t len);

/* Route admission of the intake routes of gateways and staff: 0 or 503
 * (database down, or intake_max_pending reached). */
int intake_admit(void *app, struct http_conn *conn, struct http_response *res);

/* Route admission of the public routes: the client's rate limit (429),
 * then, for reports, intake's capacity (503). */
int intake_admit_public(void *app, struct http_conn *conn,
                        struct http_response *res);
int intake_admit_rate(void *app, struct http_conn *conn,
                      struct http_response *res);

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
