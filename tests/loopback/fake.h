/*
 * fake: a transport for http_conn with no socket (style.md 26, the
 * loopback layer). Bytes the test feeds reach the connection only while it
 * reads; writes complete when the test pumps; the clock is the test's.
 */
#ifndef TIPD_TEST_FAKE_H
#define TIPD_TEST_FAKE_H

#include <stdbool.h>

#include "buf.h"
#include "http_conn.h"

struct fake {
    struct http_conn conn;
    struct http_limits limits;
    struct buf inbox;  /* fed, not yet delivered (reading paused) */
    struct buf out;    /* everything the connection wrote */
    int writes_queued; /* writes not yet completed */
    bool hold_writes;  /* a client that does not read */
    bool reading, shut, closed;
    uint64_t now;
    int handled; /* requests that reached a handler */
};

/* The routes the loopback tests serve. */
extern const struct router fake_router;

/* Small limits so tests are quick; the caller may adjust before start. */
void fake_init(struct fake *f);
/* Starts the connection (after limits are final). */
void fake_start(struct fake *f);
void fake_cleanup(struct fake *f);

/* Queues bytes from the client and delivers what the state allows. */
void fake_feed(struct fake *f, const char *data, size_t len);
void fake_feeds(struct fake *f, const char *s);
/* Delivers input and completes writes until nothing moves. */
void fake_pump(struct fake *f);
/* Moves the clock and applies deadlines. */
void fake_advance(struct fake *f, uint64_t ms);

#endif
