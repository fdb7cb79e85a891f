/*
 * status_page: the reporter's follow-up pages (zh-CN, no JavaScript
 * needed), over status.h:
 *
 *   GET  /status   the receipt-code form (fields receipt and message)
 *   POST /status   the report's state and the staff's messages with a form
 *                  to add information; with a message, adds it; an unknown
 *                  code or a bad message: the form again, what to fix at
 *                  its field (404, 422)
 */
#ifndef TIPD_STATUS_PAGE_H
#define TIPD_STATUS_PAGE_H

#include "router.h"

int status_page_get(void *app, struct http_conn *conn, struct http_request *req,
                    struct http_response *res);
int status_page_post(void *app, struct http_conn *conn,
                     struct http_request *req, struct http_response *res);

/* Admission of POST /status (intake_admit_rate), a refusal as a page. */
int status_page_admit(void *app, struct http_conn *conn,
                      struct http_response *res);

#endif
