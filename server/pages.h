/*
 * pages: the public HTML pages (zh-CN), which work without JavaScript:
 *
 *   GET  /         the report form
 *   POST /report   the form's target (urlencoded, or multipart with
 *                  attachments); answers the receipt page, showing the code
 *                  once, or the form's errors
 *   GET  /status   the receipt-code form
 *   POST /status   the report's state and the staff's messages
 *
 * Field names are the JSON API's (content, region, accused_name, ...).
 * Every piece of input shown back is HTML-escaped; the pages load nothing
 * from elsewhere, set no cookie, and carry the headers of
 * spec/reliability.md E4. (Issue 6 gives them their final design.)
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

/* Appends s to b with &, <, >, " and ' escaped. */
int pages_escape(struct buf *b, const char *s);

#endif
