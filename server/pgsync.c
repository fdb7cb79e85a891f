/*
 * pgsync: poll(2) on the connection's socket and the owner's wake pipe,
 * between libpq's non-blocking calls. libpq may replace its socket inside
 * PQconnectPoll (notes/platform.md), so the socket is asked for before
 * every wait. Results are read up to the sync; PQgetResult's NULL between
 * two statements' results is only a separator there.
 */
#include "pgsync.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

void pgsync_init(struct pgsync *s, int wake_fd, const atomic_bool *stop,
                 const atomic_bool *nudge)
{
    memset(s, 0, sizeof(*s));
    s->wake_fd = wake_fd;
    s->stop = stop;
    s->nudge = nudge;
}

bool pgsync_stopping(const struct pgsync *s)
{
    return atomic_load(s->stop);
}

static void drain(int fd)
{
    char tmp[64];
    while (read(fd, tmp, sizeof(tmp)) > 0)
        ;
}

/*
 * Waits for events on fd (-1: none) until deadline_ms (0: none). 1 when
 * fd is ready; 0 at the deadline, or when nudged if nudgeable; -1 when the
 * owner stops.
 */
static int wait_for(struct pgsync *s, int fd, short events,
                    uint64_t deadline_ms, bool nudgeable)
{
    for (;;) {
        if (pgsync_stopping(s))
            return -1;
        if (nudgeable && s->nudge != NULL && atomic_load(s->nudge))
            return 0;
        int timeout = -1;
        if (deadline_ms != 0) {
            uint64_t now = util_now_ms();
            if (now >= deadline_ms)
                return 0;
            uint64_t left = deadline_ms - now;
            timeout = left > 60000 ? 60000 : (int)left;
        }
        struct pollfd pfd[2] = {{.fd = s->wake_fd, .events = POLLIN},
                                {.fd = fd, .events = events}};
        int n = poll(pfd, fd >= 0 ? 2 : 1, timeout);
        if (n < 0 && errno != EINTR)
            return -1;
        if (n <= 0)
            continue;
        if (pfd[0].revents != 0)
            drain(s->wake_fd);
        if (fd >= 0 && pfd[1].revents != 0)
            return 1;
    }
}

void pgsync_nap(struct pgsync *s, uint64_t ms)
{
    uint64_t deadline = ms == PGSYNC_FOREVER ? 0 : util_now_ms() + ms;
    wait_for(s, -1, 0, deadline, true);
}

void pgsync_close(struct pgsync *s, const char *why)
{
    if (s->pg != NULL) {
        PQfinish(s->pg);
        s->pg = NULL;
    }
    util_copy(s->why, sizeof(s->why), why);
}

/* Closes after a failed wait: ready 0 is the deadline, -1 a stop. */
static int lost(struct pgsync *s, int ready, const char *otherwise)
{
    pgsync_close(s, ready == 0  ? "timeout"
                    : ready < 0 ? "stopping"
                                : otherwise);
    return PGSYNC_LOST;
}

int pgsync_connect(struct pgsync *s, const char *conninfo, uint64_t timeout_ms)
{
    pgsync_close(s, "reconnecting");
    s->pg = PQconnectStart(conninfo);
    if (s->pg == NULL || PQstatus(s->pg) == CONNECTION_BAD) {
        char why[160];
        snprintf(why, sizeof(why), "%s",
                 s->pg != NULL ? PQerrorMessage(s->pg) : "out of memory");
        pgsync_close(s, why);
        return PGSYNC_LOST;
    }
    uint64_t deadline = util_now_ms() + timeout_ms;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) {
            char why[160];
            snprintf(why, sizeof(why), "%s", PQerrorMessage(s->pg));
            pgsync_close(s, why);
            return PGSYNC_LOST;
        }
        short ev = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        int ready = wait_for(s, PQsocket(s->pg), ev, deadline, false);
        if (ready <= 0)
            return lost(s, ready, "connect");
        st = PQconnectPoll(s->pg);
    }
    if (PQsetnonblocking(s->pg, 1) != 0 || PQenterPipelineMode(s->pg) != 1) {
        pgsync_close(s, "pipeline mode refused");
        return PGSYNC_LOST;
    }
    return PGSYNC_OK;
}

/* Sends what libpq holds. */
static int flush(struct pgsync *s, uint64_t deadline)
{
    for (;;) {
        int f = PQflush(s->pg);
        if (f == 0)
            return PGSYNC_OK;
        if (f < 0)
            return lost(s, 1, "write failed");
        int ready =
            wait_for(s, PQsocket(s->pg), POLLIN | POLLOUT, deadline, false);
        if (ready <= 0)
            return lost(s, ready, "write");
        if (PQconsumeInput(s->pg) != 1)
            return lost(s, 1, "connection lost");
    }
}

int pgsync_run(struct pgsync *s, const struct pgsync_stmt *st, size_t n,
               PGresult **res, uint64_t timeout_ms)
{
    for (size_t i = 0; i < n; i++)
        res[i] = NULL;
    if (s->pg == NULL)
        return PGSYNC_LOST;
    uint64_t deadline = util_now_ms() + timeout_ms;
    for (size_t i = 0; i < n; i++)
        if (PQsendQueryParams(s->pg, st[i].sql, st[i].n, NULL, st[i].params,
                              NULL, NULL, 0) != 1)
            return lost(s, 1, "statement not sent");
    if (PQpipelineSync(s->pg) != 1)
        return lost(s, 1, "statement not sent");
    if (flush(s, deadline) != PGSYNC_OK)
        return PGSYNC_LOST;
    size_t k = 0;
    int rc = PGSYNC_OK;
    for (;;) {
        while (PQisBusy(s->pg)) {
            int ready = wait_for(s, PQsocket(s->pg), POLLIN, deadline, false);
            if (ready <= 0)
                return lost(s, ready, "read");
            if (PQconsumeInput(s->pg) != 1)
                return lost(s, 1, "connection lost");
        }
        PGresult *x = PQgetResult(s->pg);
        if (x == NULL) {
            if (PQstatus(s->pg) == CONNECTION_BAD)
                return lost(s, 1, "connection lost");
            continue; /* the separator between two statements' results */
        }
        ExecStatusType status = PQresultStatus(x);
        if (status == PGRES_PIPELINE_SYNC) {
            PQclear(x);
            return rc;
        }
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
            rc == PGSYNC_OK) {
            rc = PGSYNC_ERROR;
            s->failed = k;
        }
        if (k < n)
            res[k++] = x;
        else
            PQclear(x);
    }
}

void pgsync_clear(PGresult **res, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        PQclear(res[i]);
        res[i] = NULL;
    }
}

int64_t pgsync_i64(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return 0;
    const char *v = PQgetvalue(res, row, col);
    bool neg = v[0] == '-';
    uint64_t u = 0;
    if (util_parse_u64(v + neg, strlen(v + neg), &u) != 0 || u > INT64_MAX)
        return 0;
    return neg ? -(int64_t)u : (int64_t)u;
}

double pgsync_f64(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return 0;
    return strtod(PQgetvalue(res, row, col), NULL);
}

const char *pgsync_str(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}
