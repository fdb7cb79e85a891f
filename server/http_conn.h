/*
 * http_conn: one HTTP/1.1 connection's protocol state machine, independent
 * of sockets.
 *
 * The owner (worker.c over libuv, or a test's fake transport) feeds it the
 * bytes that arrive and tells it when writes finish; the connection calls
 * back through struct http_conn_ops to write, pause reading, half-close and
 * close. Because nothing here touches a socket, the loopback tests and the
 * fuzzers drive exactly the code that serves real clients.
 *
 * States (change_state() in http_conn.c is the only writer):
 *
 *            bytes                head ok               message end
 *   IDLE ------------> HEAD -----------------> BODY ------------------+
 *    ^  \               | head ok, no body                            |
 *    |   \              +-----------------------------> HANDLING <----+
 *    |    \                                                |  handler answers
 *    |     \ deadline, EOF, drain              WRITING <---+
 *    |      \                                   |     \ written, must close
 *    +-------\---------- written, keep-alive ---+      +------> LINGER
 *             \                                                  | EOF/deadline
 *              +-------------------------------------------> CLOSED
 *
 * Any protocol violation in HEAD or BODY is answered with its status in the
 * JSON error format, then LINGER and CLOSED: a connection that sent one bad
 * request is never trusted with a second (the pipelined bytes after it are
 * discarded unread). While HANDLING, reading is paused, which bounds what a
 * pipelining client can make tipd buffer; a connection is never closed by
 * this module while a handler holds its request.
 *
 * A route's admission check (503 overloaded, 429 rate limited) runs when
 * the head is complete. A refused request whose body is still to come is
 * answered at once and the connection closes with the body unread; one
 * whose body arrived with its head is answered after skipping it, and the
 * connection stays open.
 */
#ifndef TIPD_HTTP_CONN_H
#define TIPD_HTTP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "arena.h"
#include "buf.h"
#include "headscan.h"
#include "http.h"
#include "http_parse.h"
#include "router.h"

struct http_conn;

/* What the owner of a connection provides. */
struct http_conn_ops {
    /* Sends iov[0..n); the memory stays valid until written is called. */
    void (*write)(struct http_conn *c, const struct iovec *iov, int n);
    void (*read_start)(struct http_conn *c);
    void (*read_stop)(struct http_conn *c);
    /* Half-closes the sending side once queued writes are done. */
    void (*shutdown)(struct http_conn *c);
    /* Closes the connection; the owner later calls http_conn_cleanup and
     * frees it. Never called twice. */
    void (*close)(struct http_conn *c);
    /* A request was answered (for metrics and the request log). route is
     * NULL when the request never matched one. */
    void (*request_done)(struct http_conn *c, const struct route *route,
                         int status, uint64_t duration_ms);
};

struct http_limits {
    struct headscan_limits head;
    uint64_t body_max;     /* bytes, the cap on every route's body_max */
    uint64_t response_max; /* bytes of a response body */
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t body_min_rate;  /* bytes per second; 0 = off */
    uint64_t body_window_ms; /* rate measured over this window */
    uint64_t idle_timeout_ms;
    uint64_t send_timeout_ms;
    uint64_t linger_ms;
};

#define HTTP_CONN_STATE_MAP(X)                                                 \
    X(IDLE, "idle")                                                            \
    X(HEAD, "head")                                                            \
    X(BODY, "body")                                                            \
    X(HANDLING, "handling")                                                    \
    X(WRITING, "writing")                                                      \
    X(LINGER, "linger")                                                        \
    X(CLOSED, "closed")

enum http_conn_state {
#define X(name, text) HTTP_CONN_##name,
    HTTP_CONN_STATE_MAP(X)
#undef X
};

struct http_conn {
    enum http_conn_state state;
    const struct http_conn_ops *ops;  /* borrowed */
    const struct http_limits *limits; /* borrowed */
    const struct router *router;      /* borrowed */
    void *app;                        /* borrowed: passed to handlers */
    uint64_t client;      /* keyed hash of the peer address prefix; 0 unknown */
    struct buf in;        /* received, not yet parsed; bounded */
    struct headscan scan; /* of the head being received */
    struct http_parse parse; /* llhttp and framing rules */
    struct arena arena;      /* per-request memory */
    struct http_request req;
    struct http_response res;
    struct buf head;           /* serialized response head */
    const struct route *route; /* matched route, or NULL */
    int early_status;          /* answer without calling a handler */
    bool send_continue;        /* client expects 100 Continue */
    bool close_after;          /* close once the response is sent */
    bool peer_eof;             /* the client closed its sending side */
    bool draining;             /* server shutting down */
    int writes_pending;        /* writes handed to ops->write */
    uint64_t requests;         /* answered on this connection */
    uint64_t since_ms;         /* when the current state began */
    uint64_t window_start_ms;  /* BODY: rate window start */
    uint64_t window_bytes;     /* BODY: bytes in the window */
    uint64_t opened_ms;        /* when http_conn_init ran: the first
                                * head's deadline counts from it */
};

/* Caller storage. Starts in IDLE; the owner then starts reading. */
void http_conn_init(struct http_conn *c, const struct http_conn_ops *ops,
                    const struct http_limits *limits,
                    const struct router *router, void *app, uint64_t now_ms);
void http_conn_cleanup(struct http_conn *c);

/* Bytes received from the client. */
void http_conn_on_read(struct http_conn *c, const char *data, size_t len,
                       uint64_t now_ms);
/* The client will send nothing more. */
void http_conn_on_eof(struct http_conn *c, uint64_t now_ms);
/* A write finished; status < 0 is a failed write (the client is gone). */
void http_conn_on_written(struct http_conn *c, int status, uint64_t now_ms);
/* An asynchronous handler has filled c->res (status set). */
void http_conn_respond(struct http_conn *c, uint64_t now_ms);
/* Applies the deadline of the current state; may close the connection. */
void http_conn_tick(struct http_conn *c, uint64_t now_ms);
/* The server is stopping: close if idle, else close after this answer. */
void http_conn_drain(struct http_conn *c);

const char *http_conn_state_name(enum http_conn_state s);

#endif
