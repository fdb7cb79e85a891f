/*
 * ops: health, readiness and metrics. Readiness is per worker on purpose:
 * a load balancer's probe lands on one worker, and that worker is the one
 * whose database session would carry the next request on that connection.
 */
#include "ops.h"

#include "db.h"
#include "server.h"
#include "worker.h"

int ops_healthz(void *app, struct http_conn *conn, struct http_request *req,
                struct http_response *res)
{
    res->content_type = "application/json";
    buf_appends(&res->body, "{\"status\":\"ok\"}\n");
    return HTTP_OK;
}

int ops_readyz(void *app, struct http_conn *conn, struct http_request *req,
               struct http_response *res)
{
    struct worker *w = app;
    if (atomic_load(&w->server->stopping))
        return http_response_error(res, HTTP_UNAVAILABLE,
                                   "the server is shutting down", NULL);
    if (!db_session_ready(&w->db))
        return http_response_error(res, HTTP_UNAVAILABLE,
                                   "the database is not reachable", NULL);
    res->content_type = "application/json";
    buf_appends(&res->body, "{\"status\":\"ready\"}\n");
    return HTTP_OK;
}

int ops_metrics(void *app, struct http_conn *conn, struct http_request *req,
                struct http_response *res)
{
    struct worker *w = app;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
    if (metrics_render(&res->body, w->server->metrics,
                       w->server->worker_count) != 0 ||
        metrics_render_triage(&res->body, &w->server->triage_metrics) != 0 ||
        metrics_render_tls(&res->body, &w->server->tls_metrics) != 0)
        return http_response_error(res, HTTP_INTERNAL,
                                   "metrics exceed max_response_bytes", NULL);
    return HTTP_OK;
}
