/*
 * server: tipd serve's running state shared by every worker, and the
 * main thread's life cycle: bind, start one worker per core, wait for
 * SIGTERM/SIGINT, drain, join, exit. SIGHUP reloads the triage rules and
 * the TLS certificate.
 *
 * Each worker is an event loop on its own thread with its own listening
 * socket on the same port (SO_REUSEPORT), its own database session and its
 * own metrics; workers share nothing mutable but the connection count and
 * the stopping flag, both atomics. The kernel spreads new connections
 * across the listeners, so all cores serve without a hand-off.
 */
#ifndef TIPD_SERVER_H
#define TIPD_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "batch.h"
#include "db.h"
#include "http_conn.h"
#include "metrics.h"
#include "sms_repeat.h"
#include "tls.h"
#include "triage_worker.h"

struct worker;

struct server {
    const struct config *config;   /* borrowed */
    const struct router *router;   /* borrowed */
    struct http_limits limits;     /* derived from config */
    struct db_options db;          /* derived from config */
    struct db_options staff_db;    /* the same, as the role tipd_staff */
    char *staff_conninfo;          /* owned: staff_db's connection string */
    struct batch_options batch;    /* derived from config */
    unsigned char receipt_key[32]; /* HMAC key of receipt codes */
    char sms_kannel_key[256];      /* "" when not configured */
    char sms_twilio_token[256];    /* "" when not configured */
    char sms_generic_key[256];     /* "" when not configured */
    char sms_aliyun_key[256];      /* "" when not configured */
    struct worker *workers;        /* owned: worker_count of them */
    size_t worker_count;
    struct metrics **metrics;    /* owned array; each worker's metrics */
    _Atomic size_t connections;  /* open client connections */
    atomic_bool stopping;        /* SIGTERM/SIGINT received */
    struct triage_worker triage; /* started with a rules_file */
    struct triage_metrics triage_metrics; /* its figures, for /metrics */
    struct tls_context tls;               /* HTTPS, when configured */
    struct tls_metrics tls_metrics;       /* its reloads, for /metrics */

    /* SMS without a message id: first sightings, shared by the workers. */
    struct sms_repeats sms_repeats;
};

/*
 * Runs until SIGTERM or SIGINT, then drains and returns 0; or returns 1
 * after logging why the server could not start.
 */
/* The secrets serve reads at start, owned by the caller. */
struct server_secrets {
    unsigned char receipt_key[32];
    char sms_kannel_key[256];
    char sms_twilio_token[256];
    char sms_generic_key[256];
    char sms_aliyun_key[256];
};

int server_run(const struct config *config, const struct router *router,
               const struct server_secrets *secrets);

#endif
