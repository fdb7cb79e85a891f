/*
 * console: serves two embedded files with the headers of
 * spec/reliability.md E4 (http_conn adds Cache-Control: no-store and
 * nosniff to every answer). The CSP lets the page run its own script and
 * talk to its own origin, nothing else.
 */
#include "console.h"

#include "assets.h"
#include "http.h"

static const char csp[] =
    "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; "
    "base-uri 'none'";

static int serve(struct http_response *res, const char *name, const char *type)
{
    const struct asset *a = assets_find(name);
    if (a == NULL)
        return http_response_error(res, 404, "no such file", NULL);
    res->status = 200;
    res->content_type = type;
    http_response_header(res, "Content-Security-Policy", csp);
    http_response_header(res, "Referrer-Policy", "no-referrer");
    http_response_header(res, "X-Frame-Options", "DENY");
    buf_append(&res->body, a->data, a->len);
    return 200;
}

int console_page(void *app, struct http_conn *conn, struct http_request *req,
                 struct http_response *res)
{
    return serve(res, "console.html", "text/html; charset=utf-8");
}

int console_script(void *app, struct http_conn *conn, struct http_request *req,
                   struct http_response *res)
{
    return serve(res, "console.js", "text/javascript; charset=utf-8");
}

int console_redirect(void *app, struct http_conn *conn,
                     struct http_request *req, struct http_response *res)
{
    res->status = 301;
    res->content_type = "text/plain; charset=utf-8";
    http_response_header(res, "Location", "/staff/");
    http_response_header(res, "Referrer-Policy", "no-referrer");
    buf_appends(&res->body, "/staff/\n");
    return 301;
}
