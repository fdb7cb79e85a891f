/*
 * console: the staff console (GET /staff/ and its script), a page over the
 * staff JSON API of casework.h.
 *
 * The console is a static page and a script: the member of staff pastes
 * their token, the script keeps it in sessionStorage (gone with the tab)
 * and calls the API with fetch and an `Authorization: Bearer` header. No
 * cookie is involved, so a forged cross-site request carries no
 * credentials: the console is not CSRF-able by construction (a browser
 * never attaches that header on its own). As defence in depth, auth_start
 * refuses a state-changing request that a browser marks as cross-site
 * (Sec-Fetch-Site, Origin). Everything the API returns is written into
 * the page with textContent, never as HTML.
 */
#ifndef TIPD_CONSOLE_H
#define TIPD_CONSOLE_H

#include "router.h"

/* GET /staff/: the console's page; GET /staff/console.js: its script;
 * GET /staff: a permanent redirect to /staff/ (the address people type). */
int console_page(void *app, struct http_conn *conn, struct http_request *req,
                 struct http_response *res);
int console_script(void *app, struct http_conn *conn, struct http_request *req,
                   struct http_response *res);
int console_redirect(void *app, struct http_conn *conn,
                     struct http_request *req, struct http_response *res);

#endif
