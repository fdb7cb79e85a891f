/*
 * harness: what every end-to-end test needs to drive a real tipd against a
 * real PostgreSQL (style.md 26, the e2e layer).
 *
 * A test gets a fresh database of its own (named from the test and the
 * process id, dropped at the end), runs `tipd migrate` and `tipd serve` as
 * child processes with their stderr in log files, and talks to tipd over
 * raw sockets. The raw client reports exactly what a user would see: the
 * bytes that came back, whether tipd closed the connection (FIN) or reset
 * it, and how long that took; tests/http_client.h splits the bytes into
 * responses. Nothing here interprets an answer for the test.
 *
 * Usage: e2e_init, then the test body (which may return early on a failed
 * CHECK), then e2e_cleanup, which stops a tipd still running, drops the
 * database and, if the test failed, prints the tail of tipd's log.
 * e2e_init fails the test (never skips it) when TIPD_TEST_CONNINFO is unset.
 */
#ifndef TIPD_TEST_E2E_HARNESS_H
#define TIPD_TEST_E2E_HARNESS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http_client.h"

/* The receipt key of every e2e tipd: 64 hex digits, a test value. */
#define E2E_RECEIPT_KEY                                                        \
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* e2e_run and e2e_stop: the child did not exit in the time given. */
#define E2E_TIMEOUT (-1)
/* Most responses one e2e_reply splits out. */
#define E2E_MAX_RESPONSES 8

struct e2e {
    const char *test;        /* borrowed: the test's name */
    char db[64];             /* the test's database */
    char admin[1024];        /* conninfo of the maintenance database */
    char conninfo[1024];     /* conninfo of the test's database (owner) */
    char app_conninfo[1024]; /* the same as tipd_app, tipd serve's role */
    char dir[256];           /* logs: /tmp/tipd-e2e-TEST-PID */
    char log[320];           /* the last started child's stderr */
    const char *receipt_key; /* borrowed; NULL: no TIPD_RECEIPT_KEY */
    pid_t pid;               /* the running `tipd serve`, or 0 */
    int port;                /* its listen port */
    int runs;                /* children started, for log names */
    uint64_t term_ms;        /* when SIGTERM was sent (e2e_now_ms) */
    bool db_created;
    /* Borrowed; set by a test whose tipd serves HTTPS: e2e_exchange,
     * e2e_get and e2e_metric (so e2e_start's readiness checks) speak TLS,
     * trusting this CA file for the name "localhost". e2e_connect and
     * e2e_send stay raw. */
    const char *tls_ca;
};

/*
 * Creates the test's database (dropping databases that earlier, crashed
 * runs left behind). 0, or -1 after failing the test with the reason.
 */
int e2e_init(struct e2e *e, const char *test);

/* Stops a running tipd, drops the database, prints logs if the test
 * failed, removes the log folder if it passed. Safe after a failed init. */
void e2e_cleanup(struct e2e *e);

/*
 * Runs `tipd ARGS... --set owner_database=<test db> --set
 * database=<test db as tipd_app> --set listen_port=<free>`
 * to completion (at most timeout_ms, then it is killed). Returns its exit
 * code, 128 + the signal that ended it, or E2E_TIMEOUT. out (optional)
 * gets its stdout and stderr, NUL-terminated and cut to cap.
 */
int e2e_run(struct e2e *e, const char *const *args, int timeout_ms, char *out,
            size_t cap);

/* `tipd migrate` on the test's database; fails the test unless it exits
 * 0. Returns 0 or -1. */
int e2e_migrate(struct e2e *e);

/*
 * Starts `tipd serve` on a free loopback port with --set workers=2, then
 * --set for each "key=value" of sets (NULL-terminated, may be NULL; later
 * settings win), and waits (20 s at most) until /readyz answers 200 and
 * every worker's database session is ready. 0, or -1 after failing the
 * test and printing the log tail.
 */
int e2e_start(struct e2e *e, const char *const *sets);

/*
 * SIGTERM to the running tipd, then waits up to timeout_ms. Returns its
 * exit code, 128 + signal, or E2E_TIMEOUT (it is then killed). Fails the
 * test if its log shows a sanitizer report. took_ms (optional) is the time
 * from the signal to the exit.
 */
int e2e_stop(struct e2e *e, int timeout_ms, uint64_t *took_ms);

/* e2e_stop in two halves, for a test that acts between them: the signal
 * (once), then the wait, timed from the signal. */
void e2e_terminate(struct e2e *e);
int e2e_wait(struct e2e *e, int timeout_ms, uint64_t *took_ms);

/* Whether the running tipd is still alive (not exited). */
bool e2e_alive(struct e2e *e);

/* `tipd token create --unit UNIT --role ROLE --name NAME`; the token it
 * printed (tipd_ and 64 hex digits) to out. 0, or -1 after failing the
 * test. */
int e2e_token(struct e2e *e, const char *unit, const char *role,
              const char *name, char *out, size_t cap);

/* Prints the last lines of the current log to stderr. */
void e2e_log_tail(const struct e2e *e, int lines);

/*
 * Runs one SQL statement on the test's database (admin = false) or the
 * maintenance database (admin = true). The first column of the first row,
 * if any, goes to out (may be NULL). 0, or -1 with the error in out.
 */
int e2e_sql(const struct e2e *e, bool admin, const char *sql, char *out,
            size_t cap);

/* The first column of sql's first row (run as the test's owner role) as a
 * number; -1 on any error or an empty answer. */
long long e2e_number(const struct e2e *e, const char *sql);
/* Asks sql every 20 ms for up to ms until it returns want; returns what it
 * last returned. */
long long e2e_wait_number(const struct e2e *e, const char *sql, long long want,
                          int ms);

/*
 * Makes the test's database refuse tipd (ALLOW_CONNECTIONS false, then
 * every session of a role that is no superuser terminated: autovacuum
 * workers are the server's own), or lets it back in.
 * 0, or -1 after failing the test.
 */
int e2e_db_block(struct e2e *e);
int e2e_db_unblock(struct e2e *e);

/* --- raw clients ------------------------------------------------------ */

/* Everything one connection received, and how it ended. */
struct e2e_reply {
    /* Owned, NUL-terminated: e2e_reply_free frees it (e2e_cleanup frees
     * what a test that failed early left). */
    char *data;
    size_t len;
    size_t cap;
    bool eof;       /* tipd closed the connection (FIN) */
    bool reset;     /* the connection was reset */
    bool timed_out; /* the wait ended before EOF */
    uint64_t ms;    /* from the start of the wait to its end */
    int count;      /* complete responses in data */
    size_t rest;    /* bytes after the last complete response */
    struct http_client_response r[E2E_MAX_RESPONSES];
};

void e2e_reply_init(struct e2e_reply *r);
void e2e_reply_free(struct e2e_reply *r);
/* Splits data into responses again (count, rest, r). */
void e2e_reply_parse(struct e2e_reply *r);

/* A free loopback port: bind port 0, read it back, release it; -1 if
 * none. */
int e2e_free_port(void);

/* Starts path (argv; env, or NULL for this process's) with stdin from
 * /dev/null and stdout and stderr to logfd, killed if the test dies.
 * pid, or -1 (errno). The caller closes logfd. */
pid_t e2e_spawn_logged(const char *path, char *const argv[], char *const env[],
                       int logfd);

/* A blocking TCP connection to tipd (TCP_NODELAY). fd, or -1 (errno). */
int e2e_connect(const struct e2e *e);

/* Sends all of data. 0, or -errno (EPIPE and ECONNRESET when tipd has
 * closed; never SIGPIPE). */
int e2e_send(int fd, const void *data, size_t len);
int e2e_sends(int fd, const char *s);

/* Sends data in pieces of piece bytes with delay_ms between them. */
int e2e_send_slowly(int fd, const void *data, size_t len, size_t piece,
                    int delay_ms);

/*
 * Waits up to timeout_ms for more bytes and appends what arrives. Returns
 * the bytes read (> 0), 0 at EOF or reset (flags set), -1 on timeout.
 */
int e2e_read_more(int fd, struct e2e_reply *r, int timeout_ms);

/*
 * Reads until EOF or reset, until want complete responses have arrived
 * (want > 0), or for timeout_ms; then parses. Sets timed_out if the time
 * ran out first.
 */
void e2e_read(int fd, struct e2e_reply *r, int want, int timeout_ms);

/*
 * TLS on fd (from e2e_connect) as a client trusting e->tls_ca for the name
 * "localhost", offering ALPN http/1.1. The SSL after a verified handshake
 * (free it with e2e_tls_free; fd stays the caller's), or NULL.
 */
SSL *e2e_tls_start(const struct e2e *e, int fd);
void e2e_tls_free(SSL *ssl);

/* e2e_read over TLS: the plaintext received, until the server's
 * close_notify or EOF (eof), a reset or TLS error (reset), want responses
 * or timeout_ms. */
void e2e_tls_read(SSL *ssl, struct e2e_reply *r, int want, int timeout_ms);

/*
 * Connects, sends req, and reads as e2e_read does (over TLS when
 * e->tls_ca is set); closes. 0, or -1 if the connection (or the TLS
 * handshake) failed.
 */
int e2e_exchange(const struct e2e *e, const void *req, size_t len, int want,
                 int timeout_ms, struct e2e_reply *out);

/* GET path with Connection: close on a new connection, read to EOF
 * (5 s at most). Returns the first response's status, or 0. */
int e2e_get(const struct e2e *e, const char *path, struct e2e_reply *out);

/*
 * The value of one Prometheus series from GET /metrics, e.g.
 * `tipd_http_requests_total{route="healthz",status="200"}`; 0 if the
 * series is absent (a counter that never moved), -1 if /metrics failed.
 */
long long e2e_metric(const struct e2e *e, const char *series);
/* Reads series every 20 ms for up to ms until it reaches at least want;
 * returns what it last read. */
long long e2e_wait_metric(const struct e2e *e, const char *series,
                          long long want, int ms);

/*
 * Whether r is tipd's JSON error: Content-Type application/json and a body
 * {"error":{"code":"<non-empty>","message":"<non-empty>"[,"field":...]}}.
 * If not, why (cap bytes) says what is wrong.
 */
bool e2e_json_error(const struct http_client_response *r, char *why,
                    size_t cap);

/*
 * Whether r holds exactly one answer, with a status from statuses
 * (0-terminated), in the JSON error format, with Connection: close, then
 * EOF, and no other byte. If not, why says what was seen instead.
 */
bool e2e_one_error(const struct e2e_reply *r, const int *statuses, char *why,
                   size_t cap);

/* Whether header name of r equals value (case-insensitive value). */
bool e2e_header_is(const struct http_client_response *r, const char *name,
                   const char *value);

/* Writes data printable (\r \n \xHH), cut to cap, for messages. */
void e2e_escape(const char *data, size_t len, char *out, size_t cap);

uint64_t e2e_now_ms(void);
void e2e_sleep_ms(int ms);

#endif
