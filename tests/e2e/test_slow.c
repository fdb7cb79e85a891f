/*
 * e2e slow and greedy clients (spec/reliability.md D1, D2, D4), small
 * versions: one slow client, timed against the configured deadline, while
 * other connections are measured to be served normally.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"

/* /healthz on fresh connections every 100 ms until told to stop. */
struct prober {
    struct e2e *e;
    pthread_t thread;
    atomic_bool stop;
    int probes, failures;
    uint64_t max_ms;
};

static void *probe_run(void *arg)
{
    struct prober *p = arg;
    while (!atomic_load(&p->stop)) {
        uint64_t t = e2e_now_ms();
        struct e2e_reply r;
        e2e_reply_init(&r);
        int status = e2e_get(p->e, "/healthz", &r);
        e2e_reply_free(&r);
        uint64_t ms = e2e_now_ms() - t;
        p->probes++;
        if (status != 200)
            p->failures++;
        if (ms > p->max_ms)
            p->max_ms = ms;
        e2e_sleep_ms(100);
    }
    return NULL;
}

static void slow_header_deadline(struct e2e *e)
{
    static const char *const sets[] = {"header_timeout_ms=1000", NULL};
    static const int c408[] = {408, 0};
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);

    struct prober p = {.e = e};
    atomic_init(&p.stop, false);
    CHECK_INT(pthread_create(&p.thread, NULL, probe_run, &p), 0);

    /* One byte every 100 ms: far more than the deadline's worth. */
    char head[160];
    int len = snprintf(head, sizeof(head),
                       "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: %s",
                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    int fd = e2e_connect(e);
    struct e2e_reply r;
    e2e_reply_init(&r);
    uint64_t t0 = e2e_now_ms();
    int sent = 0;
    while (fd >= 0 && sent < len && r.len == 0 && !r.eof && !r.reset) {
        if (e2e_send(fd, head + sent, 1) != 0)
            break;
        sent++;
        e2e_read_more(fd, &r, 100);
    }
    if (fd >= 0)
        e2e_read(fd, &r, 0, 3000);
    uint64_t took = e2e_now_ms() - t0;
    if (fd >= 0)
        close(fd);

    atomic_store(&p.stop, true);
    pthread_join(p.thread, NULL);

    char why[400];
    bool ok = fd >= 0 && e2e_one_error(&r, c408, why, sizeof(why));
    e2e_reply_free(&r);
    printf("slow header: 408 and closed %llu ms after the first byte, %d "
           "bytes trickled; %d probes, slowest %llu ms\n",
           (unsigned long long)took, sent, p.probes,
           (unsigned long long)p.max_ms);
    if (!ok) {
        test_failf(__FILE__, __LINE__, "trickling client: %s", why);
        return;
    }
    /* The deadline is total: closed at 1 s (plus the 100 ms sweep), not
     * kept alive by the trickle, and not before. */
    CHECK(took >= 980);
    CHECK(took <= 1300);
    CHECK(sent < len);
    CHECK(p.probes >= 5);
    CHECK_INT(p.failures, 0);
    CHECK(p.max_ms < 200);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_slow_header_deadline(void)
{
    struct e2e e;
    if (e2e_init(&e, "slow_header_deadline") == 0)
        slow_header_deadline(&e);
    e2e_cleanup(&e);
}

#define RPT                                                                    \
    "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\n"                             \
    "Content-Type: application/json\r\n"

/* A valid report body of exactly len bytes. */
static void report_body(char *out, size_t len)
{
    size_t fixed = strlen("{\"content\":\"\"}");
    memcpy(out, "{\"content\":\"", 12);
    memset(out + 12, 's', len - fixed);
    memcpy(out + 12 + (len - fixed), "\"}", 2);
}

/* Sessions of the test database inside a transaction that is waiting
 * (idle in transaction): -1 if the query failed. */
static int idle_in_transaction(const struct e2e *e)
{
    char sql[256], v[32];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' "
             "AND state LIKE 'idle in transaction%%'",
             e->db);
    if (e2e_sql(e, true, sql, v, sizeof(v)) != 0)
        return -1;
    return (int)strtol(v, NULL, 10);
}

/* Samples idle_in_transaction every 100 ms on its own thread until told
 * to stop, so that its database round trips never delay the sender. */
struct tx_sampler {
    const struct e2e *e;
    pthread_t thread;
    atomic_bool stop;
    int worst; /* most sessions seen idle in a transaction; -1: failed */
    int samples;
};

static void *tx_sample_run(void *arg)
{
    struct tx_sampler *s = arg;
    do { /* at least once, however soon the stop comes */
        int n = idle_in_transaction(s->e);
        s->samples++;
        if (n < 0 || (s->worst >= 0 && n > s->worst))
            s->worst = n;
        e2e_sleep_ms(100);
    } while (!atomic_load(&s->stop));
    return NULL;
}

/*
 * Sends a report head announcing len body bytes, then the body in pieces
 * of piece bytes every delay_ms until tipd answers or closes. Returns the
 * milliseconds from the end of the head to the end of the answer (EOF
 * unless the whole body went out); r gets the answer; *sent the body bytes
 * sent. With tx (may be NULL), samples open transactions meanwhile.
 */
static uint64_t trickle_report(struct e2e *e, size_t len, size_t piece,
                               int delay_ms, struct e2e_reply *r, size_t *sent,
                               struct tx_sampler *tx)
{
    static char body[200000];
    char head[256];
    report_body(body, len);
    int hn =
        snprintf(head, sizeof(head), RPT "Content-Length: %zu\r\n\r\n", len);
    *sent = 0;
    int fd = e2e_connect(e);
    if (fd < 0)
        return 0;
    e2e_send(fd, head, (size_t)hn);
    uint64_t t0 = e2e_now_ms();
    bool sampling = false;
    if (tx != NULL) {
        tx->e = e;
        tx->worst = 0;
        tx->samples = 0;
        atomic_init(&tx->stop, false);
        sampling = pthread_create(&tx->thread, NULL, tx_sample_run, tx) == 0;
        if (!sampling)
            tx->worst = -1;
    }
    while (*sent < len && r->len == 0 && !r->eof && !r->reset) {
        size_t k = len - *sent < piece ? len - *sent : piece;
        if (e2e_send(fd, body + *sent, k) != 0)
            break;
        *sent += k;
        e2e_read_more(fd, r, delay_ms);
    }
    /* All sent: one answer is due; else read the answer to EOF. */
    e2e_read(fd, r, *sent == len ? 1 : 0, 4000);
    uint64_t took = e2e_now_ms() - t0;
    close(fd);
    if (sampling) {
        atomic_store(&tx->stop, true);
        pthread_join(tx->thread, NULL);
    }
    return took;
}

static void slow_body_min_rate(struct e2e *e)
{
    static const char *const sets[] = {
        "body_min_rate_bytes=100", "body_rate_window_ms=500",
        "body_timeout_ms=2000", "rate_limit_per_minute=0", NULL};
    static const int c408[] = {408, 0};
    struct e2e_reply r;
    char why[400], v[32];
    size_t sent;
    struct tx_sampler tx;
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);

    /* Too slow: a byte every 100 ms (10 B/s, the minimum is 100 B/s over
     * 500 ms windows): 408 at the end of the first window. */
    e2e_reply_init(&r);
    uint64_t slow_ms = trickle_report(e, 300, 1, 100, &r, &sent, &tx);
    bool ok = e2e_one_error(&r, c408, why, sizeof(why));
    e2e_reply_free(&r);
    printf("slow body: 408 and closed %llu ms into the body, after %zu "
           "bytes\n",
           (unsigned long long)slow_ms, sent);
    if (!ok) {
        test_failf(__FILE__, __LINE__, "10 B/s body: %s", why);
        return;
    }
    CHECK(slow_ms >= 480);
    CHECK(slow_ms <= 1300);
    CHECK(sent < 300);
    CHECK(tx.samples >= 1);
    CHECK_INT(tx.worst, 0); /* no transaction waits on a body */

    /* Fast enough but endless: 50 bytes every 50 ms (1,000 B/s, ten times
     * the minimum, so a loaded machine's scheduling jitter cannot make it
     * look slow) of a body that would take 100 s: cut by body_timeout_ms
     * (2 s) in total. */
    e2e_reply_init(&r);
    uint64_t long_ms = trickle_report(e, 100000, 50, 50, &r, &sent, NULL);
    ok = e2e_one_error(&r, c408, why, sizeof(why));
    e2e_reply_free(&r);
    printf("endless body: 408 and closed %llu ms into the body, after %zu "
           "bytes\n",
           (unsigned long long)long_ms, sent);
    if (!ok) {
        test_failf(__FILE__, __LINE__, "1,000 B/s endless body: %s", why);
        return;
    }
    CHECK(long_ms >= 1950);
    CHECK(long_ms <= 2600);

    /* The control: the same rate for 1,500 bytes (three windows) is not
     * cut, and the report is stored. */
    e2e_reply_init(&r);
    uint64_t ok_ms = trickle_report(e, 1500, 50, 50, &r, &sent, NULL);
    bool stored = r.count == 1 && r.r[0].status == 201;
    e2e_escape(r.data, r.len, why, sizeof(why));
    e2e_reply_free(&r);
    if (!stored) {
        test_failf(__FILE__, __LINE__,
                   "a 1,000 B/s body was not stored (%llu ms): '%s'",
                   (unsigned long long)ok_ms, why);
        return;
    }
    CHECK(ok_ms >= 1000); /* it spanned several windows */
    CHECK_INT(e2e_sql(e, false, "SELECT count(*) FROM reports", v, sizeof(v)),
              0);
    CHECK_STR(v, "1"); /* only the control's */
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_slow_body_min_rate(void)
{
    struct e2e e;
    if (e2e_init(&e, "slow_body_min_rate") == 0)
        slow_body_min_rate(&e);
    e2e_cleanup(&e);
}

/* --- connection cap (D4) ------------------------------------------------ */

static const char keep[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

/* A request on an open connection: its status, or 0. */
static int ask(int fd)
{
    struct e2e_reply r;
    e2e_reply_init(&r);
    if (e2e_send(fd, keep, sizeof(keep) - 1) != 0)
        return 0;
    e2e_read(fd, &r, 1, 3000);
    int status = r.count == 1 ? r.r[0].status : 0;
    e2e_reply_free(&r);
    return status;
}

/* Waits until tipd counts n open connections (the /metrics one among
 * them); true if it did within 5 s. */
static bool wait_open(struct e2e *e, long long n)
{
    for (int i = 0; i < 100; i++) {
        if (e2e_metric(e, "tipd_connections_open") == n)
            return true;
        e2e_sleep_ms(50);
    }
    return false;
}

static void connection_cap(struct e2e *e)
{
    static const char *const sets[] = {"max_connections=4", NULL};
    int fds[4] = {-1, -1, -1, -1};
    struct e2e_reply r;
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, sets), 0);
    CHECK(wait_open(e, 1)); /* only the /metrics request's own */

    /* Four connections, each proven accepted by an answer, then idle. */
    for (int i = 0; i < 4; i++) {
        fds[i] = e2e_connect(e);
        CHECK(fds[i] >= 0);
        CHECK_INT(ask(fds[i]), 200);
    }

    /* The fifth: closed at once, with no answer. */
    int extra = e2e_connect(e);
    CHECK(extra >= 0);
    e2e_reply_init(&r);
    e2e_send(extra, keep, sizeof(keep) - 1);
    e2e_read(extra, &r, 0, 2000);
    close(extra);
    bool refused = (r.eof || r.reset) && r.len == 0 && r.ms < 1000;
    uint64_t ms = r.ms;
    size_t got = r.len;
    bool eof = r.eof, reset = r.reset;
    e2e_reply_free(&r);
    if (!refused) {
        test_failf(__FILE__, __LINE__,
                   "5th connection: want a close with no answer within 1 s; "
                   "got %zu bytes, eof=%d reset=%d after %llu ms",
                   got, eof, reset, (unsigned long long)ms);
        goto done;
    }

    /* The four are still served. */
    for (int i = 0; i < 4; i++) {
        if (ask(fds[i]) != 200) {
            test_failf(__FILE__, __LINE__, "connection %d lost its service", i);
            goto done;
        }
    }

    /* One closes: a new connection is served (once tipd has seen the
     * close, so allow a few tries). */
    close(fds[0]);
    fds[0] = -1;
    int status = 0, tries = 0;
    for (; tries < 40 && status != 200; tries++) {
        int fd = e2e_connect(e);
        status = fd >= 0 ? ask(fd) : 0;
        if (status == 200)
            fds[0] = fd;
        else if (fd >= 0)
            close(fd);
        if (status != 200)
            e2e_sleep_ms(50);
    }
    if (status != 200) {
        test_failf(__FILE__, __LINE__,
                   "after closing one of 4, a new connection was not served");
        goto done;
    }
    printf("connection cap: 5th refused in %llu ms; a slot reused after %d "
           "tries\n",
           (unsigned long long)ms, tries);

done:
    for (int i = 0; i < 4; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (test_failed())
        return;
    CHECK(wait_open(e, 1));
    CHECK(e2e_metric(e, "tipd_connections_refused_total") >= 1);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_connection_cap(void)
{
    struct e2e e;
    if (e2e_init(&e, "connection_cap") == 0)
        connection_cap(&e);
    e2e_cleanup(&e);
}
