/*
 * sms_sweep: the SMS channel's housekeeping, run by worker 0 of each node
 * about once a second on its database session: long messages still
 * missing parts sms_parts_window_s after their first part become fragment
 * reports, the gaps marked (sms_parts.h, spec/reliability.md B4). The
 * statement locks the groups it takes with SKIP LOCKED, so nodes never
 * sweep one message twice.
 */
#ifndef TIPD_SMS_SWEEP_H
#define TIPD_SMS_SWEEP_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

struct config;

/* Caller storage (the worker), zeroed; at most one job in flight. */
struct sms_sweep {
    struct db_job job;
    bool busy;
    uint64_t last_ms;      /* when it last ran */
    char parts_window[24]; /* seconds, as a text parameter */
    int result_index;      /* results of the job in flight */
    long long fragments;   /* fragment reports stored, for the log */
};

/* Starts a round if a second passed since the last one and the session
 * is up; call from the worker's timer. */
void sms_sweep_tick(struct sms_sweep *s, struct db_session *db,
                    const struct config *c, uint64_t now_ms);

#endif
