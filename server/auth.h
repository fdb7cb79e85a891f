/*
 * auth: who is calling a staff route. The bearer token of the
 * Authorization header is hashed (SHA-256, as `tipd token create` stored
 * it) and looked up on the worker's database session, with its staff
 * member's unit and role; a revoked or unknown token is 401.
 *
 * The lookup is a job on the session: auth_start returns HTTP_ASYNC and
 * calls done when the answer is known, with the connection still waiting.
 * This is the lookup of the intake routes for operators (phone and letter
 * reports); the case-work routes look tokens up on their own walled
 * session (staffdb.h).
 */
#ifndef TIPD_AUTH_H
#define TIPD_AUTH_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "db.h"
#include "http.h"

struct http_conn;
struct worker;

struct staff_identity {
    long long staff_id;
    char unit[7]; /* six digits */
    char role[16];
};

struct auth_request;
/* status: 0 (who is set), 401 (unknown or revoked token), 503 (database). */
typedef void (*auth_done_cb)(struct auth_request *a, int status);

/* Caller storage (the request's arena), valid until done. */
struct auth_request {
    struct db_job job;
    struct worker *worker;  /* borrowed */
    struct http_conn *conn; /* borrowed: waits in HANDLING */
    char hash_hex[2 + 64 + 1];
    struct staff_identity who;
    bool found;
    auth_done_cb done;
    void *data; /* for the caller */
};

/*
 * The bearer token of req's Authorization header (borrowed from req, not
 * NUL-ended): 0, or 401 with res filled when there is none, or 403 for a
 * state-changing request a browser marks as cross-site (Sec-Fetch-Site,
 * or an Origin other than Host): defence in depth behind the console's
 * token in a header no browser adds by itself.
 */
int auth_bearer(struct http_request *req, struct http_response *res,
                const char **token, size_t *len);

/*
 * Starts the lookup for req's bearer token. Returns HTTP_ASYNC (done will
 * be called), or 401/503 at once with res filled (done is not called).
 */
int auth_start(struct auth_request *a, struct worker *w, struct http_conn *conn,
               struct http_request *req, struct http_response *res,
               auth_done_cb done);

/* A lookup's answer (staff id, unit, role: one row) into who; false when
 * it is not one. */
bool auth_identity(const PGresult *res, struct staff_identity *who);

/* Whether role may do what needs one of the listed roles (NULL-ended). */
bool auth_role_in(const struct staff_identity *who, const char *const *roles);

#endif
