/*
 * routes: every route tipd serves, in one table. A route's body cap is
 * declared here beside its handler; the connection refuses a larger body
 * (413) before reading it. Later modules add their routes here.
 */
#include "ops.h"
#include "router.h"
#include "util.h"

static const struct route table[] = {
    {HTTP_METHOD_GET, "/healthz", ops_healthz, 0, "healthz"},
    {HTTP_METHOD_GET, "/readyz", ops_readyz, 0, "readyz"},
    {HTTP_METHOD_GET, "/metrics", ops_metrics, 0, "metrics"},
};

const struct router router_main = {table, ARRAY_SIZE(table)};
