/*
 * pages: the public HTML pages (zh-CN), which work without JavaScript:
 *
 *   GET  /         the report form
 *   POST /report   the form's target (urlencoded, or multipart with
 *                  attachments); answers the receipt page, showing the code
 *                  once, or the form's errors
 *   GET  /status   the receipt-code form
 *   POST /status   the report's state and the staff's messages, or the
 *                  form again with what to fix; adds information
 *   GET  /form.js  optional improvements (server/assets/form.js)
 *
 * Field names are the JSON API's (content, region, accused_name, ...).
 * Every piece of input shown back is HTML-escaped; the pages load nothing
 * from elsewhere, set no cookie, and carry the headers of
 * spec/reliability.md E4. A refused form comes back filled in, with an
 * error summary at the top (each line a link to its field) and each
 * message next to its field, and nothing stored.
 */
#ifndef TIPD_PAGES_H
#define TIPD_PAGES_H

#include "router.h"

int pages_index(void *app, struct http_conn *conn, struct http_request *req,
                struct http_response *res);
int pages_report(void *app, struct http_conn *conn, struct http_request *req,
                 struct http_response *res);
int pages_status_form(void *app, struct http_conn *conn,
                      struct http_request *req, struct http_response *res);
int pages_status(void *app, struct http_conn *conn, struct http_request *req,
                 struct http_response *res);

/* Admission of POST /report and POST /status (intake_admit_public and
 * intake_admit_rate), answering a refusal (429, 503) as a page. */
int pages_admit_report(void *app, struct http_conn *conn,
                       struct http_response *res);
int pages_admit_status(void *app, struct http_conn *conn,
                       struct http_response *res);

int pages_form_script(void *app, struct http_conn *conn,
                      struct http_request *req, struct http_response *res);

/* Sets the headers of an HTML page of spec/reliability.md E4 (CSP,
 * Referrer-Policy, frame denial) and its Content-Type. */
void pages_headers(struct http_response *res);

/* Appends s to b with &, <, >, " and ' escaped. */
int pages_escape(struct buf *b, const char *s);

#endif
