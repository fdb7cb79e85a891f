/*
 * ops: the operations endpoints of spec/api.md: GET /healthz (the process
 * answers), GET /readyz (this worker's database session answers its probe
 * and the server is not stopping), GET /metrics (Prometheus text).
 * Handlers take the worker as app (see router.h).
 */
#ifndef TIPD_OPS_H
#define TIPD_OPS_H

#include "router.h"

int ops_healthz(void *app, struct http_conn *conn, struct http_request *req,
                struct http_response *res);
int ops_readyz(void *app, struct http_conn *conn, struct http_request *req,
               struct http_response *res);
int ops_metrics(void *app, struct http_conn *conn, struct http_request *req,
                struct http_response *res);

#endif
