/*
 * harness: child processes, a database per test, raw sockets.
 *
 * The children are started with fork/execve from the main thread, with
 * PR_SET_PDEATHSIG so that a test killed by ctest's timeout takes its tipd
 * with it, every inherited descriptor closed, and a clean environment: the
 * caller's TIPD_* variables (a developer's TIPD_CONFIG, say) are removed so
 * only what the test sets reaches tipd.
 */
/* prctl, memmem and strcasecmp-free helpers need the Linux names. */
#define _DEFAULT_SOURCE 1

#include "harness.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

extern char **environ;

#define FAIL(...) test_failf(__FILE__, __LINE__, __VA_ARGS__)

uint64_t e2e_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void e2e_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void e2e_escape(const char *data, size_t len, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)data[i];
        if (ch == '\r') {
            out[o++] = '\\';
            out[o++] = 'r';
        } else if (ch == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (ch < 0x20 || ch >= 0x7f || ch == '\\') {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        } else {
            out[o++] = (char)ch;
        }
    }
    if (cap > 0)
        out[o < cap ? o : cap - 1] = '\0';
}

/* --- PostgreSQL --------------------------------------------------------- */

/* Appends keyword='value' (libpq quoting) to out. */
static void append_kv(char *out, size_t cap, const char *key, const char *val)
{
    size_t n = strlen(out);
    if (n + 1 >= cap)
        return;
    n += (size_t)snprintf(out + n, cap - n, "%s%s='", n ? " " : "", key);
    for (const char *p = val; *p && n + 3 < cap; p++) {
        if (*p == '\'' || *p == '\\')
            out[n++] = '\\';
        out[n++] = *p;
    }
    if (n + 2 < cap) {
        out[n++] = '\'';
        out[n] = '\0';
    }
}

/* base with its dbname replaced by db, and its user by user unless NULL.
 * 0, or -1 with the reason in out. */
static int conninfo_with_db(const char *base, const char *db, const char *user,
                            char *out, size_t cap)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(base, &err);
    if (opts == NULL) {
        snprintf(out, cap, "%s", err ? err : "cannot parse");
        PQfreemem(err);
        return -1;
    }
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (o->val != NULL && strcmp(o->keyword, "dbname") != 0 &&
            (user == NULL || strcmp(o->keyword, "user") != 0))
            append_kv(out, cap, o->keyword, o->val);
    append_kv(out, cap, "dbname", db);
    if (user != NULL)
        append_kv(out, cap, "user", user);
    PQconninfoFree(opts);
    return 0;
}

int e2e_sql(const struct e2e *e, bool admin, const char *sql, char *out,
            size_t cap)
{
    PGconn *pg = PQconnectdb(admin ? e->admin : e->conninfo);
    int rc = -1;
    if (PQstatus(pg) != CONNECTION_OK) {
        if (out != NULL)
            snprintf(out, cap, "connect: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return -1;
    }
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        rc = 0;
        if (out != NULL && cap > 0) {
            out[0] = '\0';
            if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0)
                snprintf(out, cap, "%s", PQgetvalue(r, 0, 0));
        }
    } else if (out != NULL) {
        snprintf(out, cap, "%s", PQerrorMessage(pg));
    }
    PQclear(r);
    PQfinish(pg);
    return rc;
}

/* Terminates the backends of db and drops it. */
static void drop_database(const struct e2e *e, const char *db)
{
    char sql[256], err[512];
    snprintf(sql, sizeof(sql),
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE datname = '%s' AND pid <> pg_backend_pid()"
             " AND NOT coalesce((SELECT rolsuper FROM pg_roles"
             " WHERE oid = usesysid), true)",
             db);
    e2e_sql(e, true, sql, NULL, 0);
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)",
             db);
    if (e2e_sql(e, true, sql, err, sizeof(err)) != 0)
        fprintf(stderr, "e2e: could not drop database %s: %s\n", db, err);
}

/* Drops tipd_e2e_*_PID databases whose process is gone (a crashed or
 * timed-out earlier run). */
static void drop_stale_databases(const struct e2e *e)
{
    PGconn *pg = PQconnectdb(e->admin);
    if (PQstatus(pg) != CONNECTION_OK) {
        PQfinish(pg);
        return;
    }
    PGresult *r = PQexec(pg, "SELECT datname FROM pg_database WHERE datname "
                             "LIKE 'tipd\\_e2e\\_%'");
    char names[32][64];
    int n = 0;
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        for (int i = 0; i < PQntuples(r) && n < 32; i++)
            snprintf(names[n++], sizeof(names[0]), "%s", PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(pg);
    for (int i = 0; i < n; i++) {
        const char *us = strrchr(names[i], '_');
        char *end = NULL;
        long pid = us ? strtol(us + 1, &end, 10) : 0;
        if (pid <= 0 || end == NULL || *end != '\0' || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        fprintf(stderr, "e2e: dropping stale test database %s\n", names[i]);
        drop_database(e, names[i]);
    }
}

int e2e_init(struct e2e *e, const char *test)
{
    memset(e, 0, sizeof(*e));
    e->test = test;
    e->receipt_key = E2E_RECEIPT_KEY;
    const char *base = getenv("TIPD_TEST_CONNINFO");
    if (base == NULL || base[0] == '\0') {
        FAIL("TIPD_TEST_CONNINFO is not set: the e2e tests need PostgreSQL; "
             "run them through `./dev test` (e.g. ./dev test -L e2e), which "
             "starts a private cluster and sets it");
        return -1;
    }
    if (strlen(base) >= sizeof(e->admin)) {
        FAIL("TIPD_TEST_CONNINFO is too long");
        return -1;
    }
    snprintf(e->admin, sizeof(e->admin), "%s", base);

    /* Database names: lower case, at most 63 bytes, unique per process. */
    char name[40];
    snprintf(name, sizeof(name), "%s", test);
    snprintf(e->db, sizeof(e->db), "tipd_e2e_%s_%ld", name, (long)getpid());
    char err[512];
    if (conninfo_with_db(base, e->db, NULL, e->conninfo, sizeof(e->conninfo)) !=
        0) {
        FAIL("TIPD_TEST_CONNINFO '%s': %s", base, e->conninfo);
        return -1;
    }
    /* tipd serve connects as tipd_app, the way deploy/README.md sets a node
     * up; the owner (TIPD_TEST_CONNINFO's user) migrates and administers. */
    if (conninfo_with_db(base, e->db, "tipd_app", e->app_conninfo,
                         sizeof(e->app_conninfo)) != 0) {
        FAIL("TIPD_TEST_CONNINFO '%s': %s", base, e->app_conninfo);
        return -1;
    }

    snprintf(e->dir, sizeof(e->dir), "/tmp/tipd-e2e-%s-%ld", test,
             (long)getpid());
    if (mkdir(e->dir, 0755) != 0 && errno != EEXIST) {
        FAIL("mkdir %s: %s", e->dir, strerror(errno));
        return -1;
    }

    drop_stale_databases(e);
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", e->db);
    if (e2e_sql(e, true, sql, err, sizeof(err)) != 0) {
        FAIL("creating the test database with TIPD_TEST_CONNINFO='%s' "
             "failed (is PostgreSQL running? use ./dev test): %s",
             base, err);
        return -1;
    }
    e->db_created = true;
    return 0;
}

int e2e_db_block(struct e2e *e)
{
    char sql[256], err[512];
    snprintf(sql, sizeof(sql),
             "ALTER DATABASE \"%s\" WITH ALLOW_CONNECTIONS false", e->db);
    if (e2e_sql(e, true, sql, err, sizeof(err)) != 0) {
        FAIL("%s: %s", sql, err);
        return -1;
    }
    snprintf(sql, sizeof(sql),
             "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE datname = '%s' AND NOT coalesce((SELECT rolsuper FROM"
             " pg_roles WHERE oid = usesysid), true)",
             e->db);
    if (e2e_sql(e, true, sql, err, sizeof(err)) != 0) {
        FAIL("terminating backends: %s", err);
        return -1;
    }
    return 0;
}

int e2e_db_unblock(struct e2e *e)
{
    char sql[256], err[512];
    snprintf(sql, sizeof(sql),
             "ALTER DATABASE \"%s\" WITH ALLOW_CONNECTIONS true", e->db);
    if (e2e_sql(e, true, sql, err, sizeof(err)) != 0) {
        FAIL("%s: %s", sql, err);
        return -1;
    }
    return 0;
}

/* --- child processes ------------------------------------------------------ */

int e2e_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* The environment without TIPD_*, plus TIPD_RECEIPT_KEY if set. Owned
 * array of borrowed strings; keyvar holds the added one. */
static char **child_env(const struct e2e *e, char *keyvar, size_t cap)
{
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = calloc(n + 2, sizeof(char *));
    if (env == NULL)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "TIPD_", 5) != 0)
            env[k++] = environ[i];
    if (e->receipt_key != NULL) {
        snprintf(keyvar, cap, "TIPD_RECEIPT_KEY=%s", e->receipt_key);
        env[k++] = keyvar;
    }
    env[k] = NULL;
    return env;
}

pid_t e2e_spawn_logged(const char *path, char *const argv[], char *const env[],
                       int logfd)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Only async-signal-safe calls from here to exec. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int in = open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(logfd, 1) < 0 ||
            dup2(logfd, 2) < 0)
            _exit(127);
        for (int fd = 3; fd < 4096; fd++)
            close(fd);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (env != NULL)
            execve(path, argv, env);
        else
            execv(path, argv);
        static const char msg[] = "e2e: exec failed\n";
        ssize_t w = write(2, msg, sizeof(msg) - 1);
        (void)w;
        _exit(127);
    }
    return pid;
}

/* Starts TIPD_BIN with args then the harness's --set options; stdout and
 * stderr to a new log file (e->log). pid, or -1 after failing the test. */
static pid_t spawn(struct e2e *e, const char *const *args,
                   const char *const *sets, const char *what)
{
    char db_set[1100], owner_set[1100], port_set[32];
    const char *argv[64];
    size_t n = 0;
    argv[n++] = TIPD_BIN;
    for (size_t i = 0; args[i] != NULL && n < 40; i++)
        argv[n++] = args[i];
    snprintf(db_set, sizeof(db_set), "database=%s", e->app_conninfo);
    snprintf(owner_set, sizeof(owner_set), "owner_database=%s", e->conninfo);
    snprintf(port_set, sizeof(port_set), "listen_port=%d", e->port);
    argv[n++] = "--set";
    argv[n++] = db_set;
    argv[n++] = "--set";
    argv[n++] = owner_set;
    argv[n++] = "--set";
    argv[n++] = port_set;
    for (size_t i = 0; sets != NULL && sets[i] != NULL && n < 62; i += 1) {
        argv[n++] = "--set";
        argv[n++] = sets[i];
    }
    argv[n] = NULL;

    e->runs++;
    snprintf(e->log, sizeof(e->log), "%s/%02d-%s.log", e->dir, e->runs, what);
    int logfd = open(e->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0) {
        FAIL("open %s: %s", e->log, strerror(errno));
        return -1;
    }
    char keyvar[128];
    char **env = child_env(e, keyvar, sizeof(keyvar));
    pid_t pid = e2e_spawn_logged(TIPD_BIN, (char *const *)argv, env, logfd);
    free(env);
    close(logfd);
    if (pid < 0) {
        FAIL("fork: %s", strerror(errno));
        return -1;
    }
    return pid;
}

/* Waits for pid up to timeout_ms: exit code, 128 + signal or E2E_TIMEOUT. */
static int wait_child(pid_t pid, int timeout_ms)
{
    uint64_t end = e2e_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(st))
                return WEXITSTATUS(st);
            if (WIFSIGNALED(st))
                return 128 + WTERMSIG(st);
        } else if (r < 0 && errno != EINTR) {
            return E2E_TIMEOUT;
        }
        if (e2e_now_ms() >= end)
            return E2E_TIMEOUT;
        e2e_sleep_ms(5);
    }
}

static void kill_and_reap(pid_t pid)
{
    kill(pid, SIGKILL);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
}

/* Reads the whole file at path into out (cut to cap). */
static size_t slurp(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0;
    if (f != NULL) {
        n = fread(out, 1, cap - 1, f);
        fclose(f);
    }
    out[n] = '\0';
    return n;
}

int e2e_run(struct e2e *e, const char *const *args, int timeout_ms, char *out,
            size_t cap)
{
    e->port = e2e_free_port();
    pid_t pid = spawn(e, args, NULL, args[0]);
    if (pid < 0)
        return E2E_TIMEOUT;
    int rc = wait_child(pid, timeout_ms);
    if (rc == E2E_TIMEOUT)
        kill_and_reap(pid);
    if (out != NULL && cap > 0)
        slurp(e->log, out, cap);
    return rc;
}

int e2e_migrate(struct e2e *e)
{
    static const char *const args[] = {"migrate", NULL};
    char out[4096];
    int rc = e2e_run(e, args, 30000, out, sizeof(out));
    if (rc != 0) {
        FAIL("tipd migrate exited %d:\n%s", rc, out);
        return -1;
    }
    return 0;
}

int e2e_token(struct e2e *e, const char *unit, const char *role,
              const char *name, char *out, size_t cap)
{
    const char *const args[] = {"token", "create", "--unit", unit, "--role",
                                role,    "--name", name,     NULL};
    char text[2048];
    int rc = e2e_run(e, args, 30000, text, sizeof(text));
    const char *t = rc == 0 ? strstr(text, "tipd_") : NULL;
    if (t == NULL) {
        FAIL("tipd token create exited %d:\n%s", rc, text);
        return -1;
    }
    snprintf(out, cap, "%.69s", t);
    return 0;
}

void e2e_log_tail(const struct e2e *e, int lines)
{
    if (e->log[0] == '\0')
        return;
    static char text[1 << 16];
    size_t n = slurp(e->log, text, sizeof(text));
    size_t start = n;
    int seen = 0;
    while (start > 0) {
        if (text[start - 1] == '\n' && start != n && ++seen >= lines)
            break;
        start--;
    }
    fprintf(stderr, "--- last lines of %s:\n%s%s---\n", e->log, text + start,
            n > 0 && text[n - 1] != '\n' ? "\n" : "");
}

/* Fails the test if the current log has a sanitizer report. */
static void check_log_clean(const struct e2e *e)
{
    static char text[1 << 20];
    slurp(e->log, text, sizeof(text));
    static const char *const marks[] = {"AddressSanitizer", "LeakSanitizer",
                                        "runtime error:", "ThreadSanitizer"};
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
        if (strstr(text, marks[i]) != NULL)
            FAIL("tipd's log %s has a sanitizer report (%s)", e->log, marks[i]);
}

bool e2e_alive(struct e2e *e)
{
    if (e->pid <= 0)
        return false;
    int st;
    pid_t r = waitpid(e->pid, &st, WNOHANG);
    if (r == e->pid) {
        fprintf(stderr, "e2e: tipd (pid %ld) has exited, status 0x%x\n",
                (long)e->pid, st);
        e->pid = 0;
        return false;
    }
    return true;
}

/* Whether every worker's database session is ready, per /metrics. */
static bool all_workers_ready(const struct e2e *e)
{
    long long workers = e2e_metric(e, "tipd_workers");
    long long ready = e2e_metric(e, "tipd_db_sessions_ready");
    return workers > 0 && ready == workers;
}

int e2e_start(struct e2e *e, const char *const *sets)
{
    static const char *const args[] = {"serve", "--set", "workers=2", NULL};
    for (int attempt = 0; attempt < 3; attempt++) {
        e->port = e2e_free_port();
        pid_t pid = spawn(e, args, sets, "serve");
        if (pid < 0)
            return -1;
        e->pid = pid;
        uint64_t start = e2e_now_ms(), deadline = start + 20000;
        bool answered = false;
        while (e2e_now_ms() < deadline) {
            if (!e2e_alive(e))
                break;
            struct e2e_reply r;
            e2e_reply_init(&r);
            int status = e2e_get(e, "/readyz", &r);
            e2e_reply_free(&r);
            if (status == 200 && !answered)
                answered = true;
            if (answered && all_workers_ready(e))
                return 0;
            e2e_sleep_ms(50);
        }
        if (e->pid > 0) {
            FAIL("tipd serve did not answer /readyz 200 (all workers ready) "
                 "within 20 s");
            e2e_log_tail(e, 40);
            kill_and_reap(e->pid);
            e->pid = 0;
            return -1;
        }
        /* It exited: a port taken between free_port and bind is worth
         * another try; anything else is the test's failure. */
        static char text[8192];
        slurp(e->log, text, sizeof(text));
        if (strstr(text, "listen_failed") == NULL) {
            FAIL("tipd serve exited during start-up");
            e2e_log_tail(e, 40);
            return -1;
        }
    }
    FAIL("tipd serve could not bind a free port in 3 attempts");
    e2e_log_tail(e, 40);
    return -1;
}

void e2e_terminate(struct e2e *e)
{
    if (e->pid <= 0)
        return;
    e->term_ms = e2e_now_ms();
    kill(e->pid, SIGTERM);
}

int e2e_wait(struct e2e *e, int timeout_ms, uint64_t *took_ms)
{
    if (e->pid <= 0) {
        FAIL("e2e_wait: tipd is not running");
        return E2E_TIMEOUT;
    }
    /* The time counts from the signal. */
    uint64_t spent = e2e_now_ms() - e->term_ms;
    int left = spent >= (uint64_t)timeout_ms ? 0 : timeout_ms - (int)spent;
    int rc = wait_child(e->pid, left);
    if (took_ms != NULL)
        *took_ms = e2e_now_ms() - e->term_ms;
    if (rc == E2E_TIMEOUT)
        kill_and_reap(e->pid);
    e->pid = 0;
    check_log_clean(e);
    return rc;
}

int e2e_stop(struct e2e *e, int timeout_ms, uint64_t *took_ms)
{
    if (e->pid <= 0) {
        FAIL("e2e_stop: tipd is not running");
        return E2E_TIMEOUT;
    }
    e2e_terminate(e);
    return e2e_wait(e, timeout_ms, took_ms);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    char path[600];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void block_free_all(void);

void e2e_cleanup(struct e2e *e)
{
    block_free_all();
    if (e->pid > 0) {
        kill(e->pid, SIGTERM);
        if (wait_child(e->pid, 10000) == E2E_TIMEOUT)
            kill_and_reap(e->pid);
        e->pid = 0;
    }
    if (e->db_created) {
        drop_database(e, e->db);
        e->db_created = false;
    }
    if (test_failed()) {
        e2e_log_tail(e, 40);
        if (e->dir[0] != '\0')
            fprintf(stderr, "e2e: logs kept in %s\n", e->dir);
    } else if (e->dir[0] != '\0') {
        remove_dir(e->dir);
    }
}

/* --- raw clients ---------------------------------------------------------- */

/*
 * Reply buffers are kept on a list so that e2e_cleanup frees those a test
 * left behind when a CHECK returned early: a failed test then reports its
 * failure, not a leak. Loader threads allocate too, hence the lock.
 */
struct block {
    struct block *prev, *next;
    char data[];
};

static struct block live = {&live, &live};
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

/* Grows (or allocates, if data is NULL) a reply buffer to cap bytes. */
static char *block_resize(char *data, size_t cap)
{
    pthread_mutex_lock(&live_lock);
    struct block *b = NULL;
    if (data != NULL) {
        b = (struct block *)(data - offsetof(struct block, data));
        b->prev->next = b->next;
        b->next->prev = b->prev;
    }
    b = realloc(b, sizeof(*b) + cap);
    if (b == NULL)
        abort();
    b->next = live.next;
    b->prev = &live;
    live.next->prev = b;
    live.next = b;
    pthread_mutex_unlock(&live_lock);
    return b->data;
}

static void block_free(char *data)
{
    if (data == NULL)
        return;
    pthread_mutex_lock(&live_lock);
    struct block *b = (struct block *)(data - offsetof(struct block, data));
    b->prev->next = b->next;
    b->next->prev = b->prev;
    pthread_mutex_unlock(&live_lock);
    free(b);
}

static void block_free_all(void)
{
    while (live.next != &live)
        block_free(live.next->data);
}

void e2e_reply_init(struct e2e_reply *r)
{
    memset(r, 0, sizeof(*r));
}

void e2e_reply_free(struct e2e_reply *r)
{
    block_free(r->data);
    r->data = NULL;
    r->len = r->cap = 0;
}

void e2e_reply_parse(struct e2e_reply *r)
{
    r->count = http_client_parse(r->data ? r->data : "", r->len, r->r,
                                 E2E_MAX_RESPONSES, &r->rest);
}

int e2e_connect(const struct e2e *e)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)e->port);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int e2e_send(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int e2e_sends(int fd, const char *s)
{
    return e2e_send(fd, s, strlen(s));
}

int e2e_send_slowly(int fd, const void *data, size_t len, size_t piece,
                    int delay_ms)
{
    const char *p = data;
    for (size_t off = 0; off < len; off += piece) {
        if (off > 0)
            e2e_sleep_ms(delay_ms);
        size_t n = len - off < piece ? len - off : piece;
        int rc = e2e_send(fd, p + off, n);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Room in r for one more read of up to 16 KB and a NUL. */
static void reply_reserve(struct e2e_reply *r)
{
    if (r->cap - r->len < 16384 + 1) {
        size_t cap = r->cap ? r->cap * 2 : 65536;
        r->data = block_resize(r->data, cap);
        r->cap = cap;
    }
}

int e2e_read_more(int fd, struct e2e_reply *r, int timeout_ms)
{
    if (r->eof || r->reset)
        return 0;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int p;
    do {
        p = poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms);
    } while (p < 0 && errno == EINTR);
    if (p == 0)
        return -1;
    reply_reserve(r);
    ssize_t n;
    do {
        n = recv(fd, r->data + r->len, r->cap - r->len - 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        r->len += (size_t)n;
        r->data[r->len] = '\0';
        return (int)n;
    }
    if (n == 0)
        r->eof = true;
    else
        r->reset = true;
    r->data[r->len] = '\0';
    return 0;
}

/* One read into r: > 0 bytes read, 0 when r ended (eof or reset) or
 * nothing whole came yet, -1 when timeout_ms passed with nothing to read. */
typedef int read_more_fn(void *src, struct e2e_reply *r, int timeout_ms);

/* Reads until want responses, the end of the stream or timeout_ms. */
static void read_until(struct e2e_reply *r, int want, int timeout_ms,
                       read_more_fn *more, void *src)
{
    uint64_t start = e2e_now_ms(), end = start + (uint64_t)timeout_ms;
    r->timed_out = false;
    for (;;) {
        e2e_reply_parse(r);
        if (r->eof || r->reset || (want > 0 && r->count >= want))
            break;
        uint64_t now = e2e_now_ms();
        if (now >= end || more(src, r, (int)(end - now)) < 0) {
            r->timed_out = true;
            break;
        }
    }
    if (r->data == NULL) {
        r->data = block_resize(NULL, 1);
        r->data[0] = '\0';
        r->cap = 1;
    }
    r->ms = e2e_now_ms() - start;
    e2e_reply_parse(r);
}

static int fd_read_more(void *src, struct e2e_reply *r, int timeout_ms)
{
    return e2e_read_more(*(int *)src, r, timeout_ms);
}

void e2e_read(int fd, struct e2e_reply *r, int want, int timeout_ms)
{
    read_until(r, want, timeout_ms, fd_read_more, &fd);
}

SSL *e2e_tls_start(const struct e2e *e, int fd)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_load_verify_locations(ctx, e->tls_ca, NULL);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    /* tipd's end of a connection is a close_notify, but a reset or a cut
     * must read as such, not as an error of ours. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL *ssl = SSL_new(ctx);
    SSL_CTX_free(ctx); /* the SSL holds its own reference */
    if (ssl == NULL)
        return NULL;
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_set_alpn_protos(ssl, alpn, sizeof(alpn) - 1);
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    SSL_set_fd(ssl, fd);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (SSL_connect(ssl) != 1) {
        SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    return ssl;
}

void e2e_tls_free(SSL *ssl)
{
    SSL_free(ssl);
    ERR_clear_error();
}

static int tls_read_more(void *src, struct e2e_reply *r, int timeout_ms)
{
    SSL *ssl = src;
    if (SSL_pending(ssl) == 0) {
        struct pollfd pfd = {.fd = SSL_get_fd(ssl), .events = POLLIN};
        if (poll(&pfd, 1, timeout_ms) == 0)
            return -1;
    }
    reply_reserve(r);
    int n = SSL_read(ssl, r->data + r->len, (int)(r->cap - r->len - 1));
    if (n > 0) {
        r->len += (size_t)n;
        r->data[r->len] = '\0';
        return n;
    }
    int err = SSL_get_error(ssl, n);
    if (err == SSL_ERROR_WANT_READ)
        return 0; /* a record not yet whole */
    if (err == SSL_ERROR_ZERO_RETURN)
        r->eof = true;
    else
        r->reset = true;
    ERR_clear_error();
    return 0;
}

void e2e_tls_read(SSL *ssl, struct e2e_reply *r, int want, int timeout_ms)
{
    read_until(r, want, timeout_ms, tls_read_more, ssl);
}

int e2e_exchange(const struct e2e *e, const void *req, size_t len, int want,
                 int timeout_ms, struct e2e_reply *out)
{
    int fd = e2e_connect(e);
    if (fd < 0)
        return -1;
    if (e->tls_ca != NULL) {
        SSL *ssl = e2e_tls_start(e, fd);
        if (ssl == NULL) {
            close(fd);
            return -1;
        }
        if (SSL_write(ssl, req, (int)len) == (int)len)
            e2e_tls_read(ssl, out, want, timeout_ms);
        e2e_tls_free(ssl);
        close(fd);
        return 0;
    }
    e2e_send(fd, req, len);
    e2e_read(fd, out, want, timeout_ms);
    close(fd);
    return 0;
}

int e2e_get(const struct e2e *e, const char *path, struct e2e_reply *out)
{
    char req[512];
    snprintf(req, sizeof(req),
             "GET %s HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n\r\n", path);
    if (e2e_exchange(e, req, strlen(req), 0, 5000, out) != 0)
        return 0;
    return out->count > 0 ? out->r[0].status : 0;
}

long long e2e_metric(const struct e2e *e, const char *series)
{
    struct e2e_reply r;
    e2e_reply_init(&r);
    long long value = -1;
    if (e2e_get(e, "/metrics", &r) == 200) {
        size_t n = strlen(series);
        const char *body = r.r[0].body, *end = body + r.r[0].body_len;
        value = 0;
        for (const char *line = body; line < end;) {
            const char *eol = memchr(line, '\n', (size_t)(end - line));
            if (eol == NULL)
                eol = end;
            if ((size_t)(eol - line) > n + 1 && memcmp(line, series, n) == 0 &&
                line[n] == ' ') {
                value = strtoll(line + n + 1, NULL, 10);
                break;
            }
            line = eol + 1;
        }
    }
    e2e_reply_free(&r);
    return value;
}

bool e2e_one_error(const struct e2e_reply *r, const int *statuses, char *why,
                   size_t cap)
{
    char detail[160];
    if (r->count != 1 || r->rest != 0) {
        e2e_escape(r->data, r->len, detail, sizeof(detail));
        snprintf(why, cap, "%d answers and %zu stray bytes: '%s'", r->count,
                 r->rest, detail);
        return false;
    }
    int s = r->r[0].status;
    bool allowed = false;
    for (const int *p = statuses; *p != 0; p++)
        allowed = allowed || s == *p;
    if (!allowed) {
        e2e_escape(r->data, r->len, detail, sizeof(detail));
        snprintf(why, cap, "status %d not allowed: '%s'", s, detail);
        return false;
    }
    if (!e2e_json_error(&r->r[0], detail, sizeof(detail))) {
        snprintf(why, cap, "status %d: not the JSON error format: %s", s,
                 detail);
        return false;
    }
    if (!e2e_header_is(&r->r[0], "Connection", "close")) {
        snprintf(why, cap, "status %d without Connection: close", s);
        return false;
    }
    if (!r->eof || r->reset) {
        snprintf(why, cap, "status %d, then %s instead of EOF", s,
                 r->reset ? "a reset" : "no close within the wait");
        return false;
    }
    return true;
}

bool e2e_header_is(const struct http_client_response *r, const char *name,
                   const char *value)
{
    char v[256];
    return http_client_header(r, name, v, sizeof(v)) &&
           strcasecmp(v, value) == 0;
}

bool e2e_json_error(const struct http_client_response *r, char *why, size_t cap)
{
    char type[128];
    if (!http_client_header(r, "Content-Type", type, sizeof(type)) ||
        strcmp(type, "application/json") != 0) {
        snprintf(why, cap, "Content-Type is not application/json");
        return false;
    }
    cJSON *root = cJSON_ParseWithLength(r->body, r->body_len);
    bool ok = false;
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
    if (root == NULL)
        snprintf(why, cap, "body is not JSON");
    else if (!cJSON_IsObject(err))
        snprintf(why, cap, "no \"error\" object");
    else if (!cJSON_IsString(code) || code->valuestring[0] == '\0')
        snprintf(why, cap, "error.code is not a non-empty string");
    else if (!cJSON_IsString(msg) || msg->valuestring[0] == '\0')
        snprintf(why, cap, "error.message is not a non-empty string");
    else
        ok = true;
    cJSON_Delete(root);
    return ok;
}

long long e2e_number(const struct e2e *e, const char *sql)
{
    char v[64];
    if (e2e_sql(e, false, sql, v, sizeof(v)) != 0 || v[0] == '\0')
        return -1;
    return strtoll(v, NULL, 10);
}

long long e2e_wait_number(const struct e2e *e, const char *sql, long long want,
                          int ms)
{
    uint64_t end = e2e_now_ms() + (uint64_t)ms;
    for (;;) {
        long long got = e2e_number(e, sql);
        if (got == want || e2e_now_ms() >= end)
            return got;
        e2e_sleep_ms(20);
    }
}

long long e2e_wait_metric(const struct e2e *e, const char *series,
                          long long want, int ms)
{
    uint64_t end = e2e_now_ms() + (uint64_t)ms;
    for (;;) {
        long long got = e2e_metric(e, series);
        if (got >= want || e2e_now_ms() >= end)
            return got;
        e2e_sleep_ms(20);
    }
}
