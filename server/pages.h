/*
 * pages: the public report form (zh-CN), which works without JavaScript,
 * and the page frame every public page shares:
 *
 *   GET  /         the report form
 *   POST /report   the form's target (urlencoded, or multipart with
 *                  attachments); answers the receipt page, showing the code
 *                  once, or the form again with what to fix
 *   GET  /form.js  optional improvements (server/assets/form.js)
 *
 * (/status is status_page.h, on this frame.) Field names are the JSON
 * API's (content, region, accused_name, ...). Every piece of input shown
 * back is HTML-escaped; the pages load nothing from elsewhere, set no
 * cookie, and carry the headers of spec/reliability.md E4. A refused form
 * comes back filled in, with an error summary at the top (each line a link
 * to its field) and each message next to its field, and nothing stored.
 */
#ifndef TIPD_PAGES_H
#define TIPD_PAGES_H

#include <stdbool.h>

#include "router.h"

struct form;

int pages_index(void *app, struct http_conn *conn, struct http_request *req,
                struct http_response *res);
int pages_report(void *app, struct http_conn *conn, struct http_request *req,
                 struct http_response *res);
int pages_form_script(void *app, struct http_conn *conn,
                      struct http_request *req, struct http_response *res);

/* Admission of POST /report (intake_admit_public), answering a refusal
 * (429, 503) as a page. */
int pages_admit_report(void *app, struct http_conn *conn,
                       struct http_response *res);

/* --- the frame of every public page ----------------------------------- */

/* Sets the headers of an HTML page of spec/reliability.md E4 (CSP,
 * Referrer-Policy, frame denial) and its Content-Type. */
void pages_headers(struct http_response *res);

/* Appends s to b with &, <, >, " and ' escaped. */
int pages_escape(struct buf *b, const char *s);

/* Starts a page in res (headers, style, the title, escaped; "错误：" before
 * it when has_errors), and ends it (with form.js when with_script). */
void pages_begin(struct http_response *res, const char *title, bool has_errors);
void pages_end(struct http_response *res, bool with_script);

/* Makes res a whole page saying what to fix (field may be NULL; reason is
 * shown escaped). Returns status. */
int pages_refusal(struct http_response *res, int status, const char *field,
                  const char *reason);

/* status (429 or 503 from an admission check) as such a page; 0 stays 0.
 * The status and Retry-After stay. Returns status. */
int pages_refused(struct http_response *res, int status);

/* The non-empty value of field name of f, or NULL (borrowed from f). */
const char *pages_form_value(const struct form *f, const char *name);

#endif
