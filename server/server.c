/*
 * server: binding, the worker threads, and the signals. Binding happens on
 * the main thread before any worker starts so that a bad address or a port
 * in use is reported once, clearly, and tipd exits non-zero.
 */
/* SO_REUSEPORT is a Linux extension that strict POSIX mode hides. */
#define _DEFAULT_SOURCE 1

#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "failinject.h"
#include "log.h"
#include "util.h"
#include "worker.h"

static int make_addr(const struct config *c, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    int port = (int)c->listen_port;
    if (uv_ip4_addr(c->listen_address, port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(c->listen_address, port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return -1;
}

static socklen_t addr_len(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                     : sizeof(struct sockaddr_in);
}

/* One listening socket; reuseport lets every worker bind the same port. */
static int bind_socket(const struct sockaddr_storage *ss, bool reuseport)
{
    int fd = socket(ss->ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (bind(fd, (const struct sockaddr *)ss, addr_len(ss)) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

static size_t cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

static void derive(struct server *s, const struct config *c)
{
    struct http_limits *l = &s->limits;
    l->head.request_line = c->max_request_line_bytes;
    l->head.header_line = c->max_header_line_bytes;
    l->head.header_count = c->max_header_count;
    l->head.head = c->max_head_bytes;
    l->body_max = c->max_body_bytes;
    l->response_max = c->max_response_bytes;
    l->header_timeout_ms = c->header_timeout_ms;
    l->body_timeout_ms = c->body_timeout_ms;
    l->body_min_rate = c->body_min_rate_bytes;
    l->body_window_ms = c->body_rate_window_ms;
    l->idle_timeout_ms = c->idle_timeout_ms;
    l->send_timeout_ms = c->send_timeout_ms;
    l->linger_ms = c->linger_timeout_ms;

    s->db.conninfo = c->database;
    s->db.connect_timeout_ms = c->db_connect_timeout_ms;
    s->db.probe_interval_ms = c->db_probe_interval_ms;
    s->db.probe_timeout_ms = c->db_probe_timeout_ms;
    s->db.reconnect_max_ms = c->db_reconnect_max_ms;
    s->db.job_timeout_ms = c->db_job_timeout_ms;
    s->batch.max_batch = c->intake_batch_max;
    s->batch.max_pending = c->intake_max_pending;
    s->batch.queue_timeout_ms = c->intake_queue_timeout_ms;
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct server *s = h->data;
    if (atomic_exchange(&s->stopping, true))
        return;
    log_info("stopping", "signal=%s workers=%zu",
             signum == SIGINT ? "SIGINT" : "SIGTERM", s->worker_count);
    for (size_t i = 0; i < s->worker_count; i++)
        worker_stop(&s->workers[i]);
    triage_worker_stop(&s->triage);
    uv_stop(h->loop);
}

/* SIGHUP: the TLS certificate and key are read again (here, on the main
 * thread: a file read never stalls a worker), and the triage worker reads
 * its rules and calendar again. */
static void on_hangup(uv_signal_t *h, int signum)
{
    struct server *s = h->data;
    if (tls_context_enabled(&s->tls))
        tls_context_reload(&s->tls);
    if (!s->triage.started) {
        log_info("reload_ignored", "signal=SIGHUP reason=\"triage is not "
                                   "running (triage_enabled, rules_file)\"");
        return;
    }
    triage_worker_reload(&s->triage);
}

/* The triage worker, when enabled with a rules file. A failure to start it
 * is logged; intake serves regardless. */
static void start_triage(struct server *s)
{
    const struct config *c = s->config;
    if (!c->triage_enabled)
        return;
    if (c->rules_file[0] == '\0') {
        log_warn("triage_off", "reason=\"rules_file is not set\"");
        return;
    }
    int rc = triage_worker_start(&s->triage, c, &s->triage_metrics);
    if (rc != 0)
        log_error("triage_failed", "error=%s", strerror(-rc));
}

/* Binds every worker's socket, first checking that no one else has the
 * port: SO_REUSEPORT would otherwise silently share it with a stale tipd. */
static int bind_all(const struct config *c, int *fds, size_t n)
{
    struct sockaddr_storage ss;
    if (make_addr(c, &ss) != 0) {
        log_error("config", "key=listen_address reason=\"not an IPv4 or "
                            "IPv6 address\"");
        return -1;
    }
    int probe = bind_socket(&ss, false);
    if (probe < 0) {
        log_error("listen_failed", "address=%s port=%llu error=\"%s\"",
                  c->listen_address, (unsigned long long)c->listen_port,
                  strerror(-probe));
        return -1;
    }
    close(probe);
    for (size_t i = 0; i < n; i++) {
        fds[i] = bind_socket(&ss, true);
        if (fds[i] < 0) {
            log_error("listen_failed", "address=%s port=%llu error=\"%s\"",
                      c->listen_address, (unsigned long long)c->listen_port,
                      strerror(-fds[i]));
            while (i-- > 0)
                close(fds[i]);
            return -1;
        }
    }
    return 0;
}

int server_run(const struct config *config, const struct router *router,
               const struct server_secrets *secrets)
{
    struct server s;
    memset(&s, 0, sizeof(s));
    s.config = config;
    s.router = router;
    derive(&s, config);
    char err[512];
    s.staff_conninfo =
        config->staff_database[0] != '\0'
            ? xstrdup(config->staff_database)
            : db_conninfo_with_user(config->database, "tipd_staff", err,
                                    sizeof(err));
    if (s.staff_conninfo == NULL) {
        log_error("config", "key=staff_database reason=\"%s\"", err);
        return 1;
    }
    s.staff_db = s.db;
    s.staff_db.conninfo = s.staff_conninfo;
    memcpy(s.receipt_key, secrets->receipt_key, sizeof(s.receipt_key));
    memcpy(s.sms_kannel_key, secrets->sms_kannel_key, sizeof(s.sms_kannel_key));
    memcpy(s.sms_twilio_token, secrets->sms_twilio_token,
           sizeof(s.sms_twilio_token));
    memcpy(s.sms_generic_key, secrets->sms_generic_key,
           sizeof(s.sms_generic_key));
    memcpy(s.sms_aliyun_key, secrets->sms_aliyun_key, sizeof(s.sms_aliyun_key));
    atomic_init(&s.connections, 0);
    atomic_init(&s.stopping, false);
    metrics_triage_init(&s.triage_metrics);
    s.worker_count = config->workers ? config->workers : cpu_count();
    if (sms_repeats_init(&s.sms_repeats, config->sms_repeat_slots) != 0) {
        log_error("sms_repeats_failed", "reason=\"no mutex\"");
        return 1;
    }

    metrics_tls_init(&s.tls_metrics);
    if (tls_context_init(&s.tls, config, &s.tls_metrics, err, sizeof(err)) !=
        0) {
        log_error("tls_failed", "reason=\"%s\"", err);
        tls_context_cleanup(&s.tls);
        free(s.staff_conninfo);
        sms_repeats_cleanup(&s.sms_repeats);
        return 1;
    }

    int *fds = xcalloc(s.worker_count, sizeof(int));
    if (bind_all(config, fds, s.worker_count) != 0) {
        free(fds);
        free(s.staff_conninfo);
        sms_repeats_cleanup(&s.sms_repeats);
        tls_context_cleanup(&s.tls);
        return 1;
    }
    s.workers = xcalloc(s.worker_count, sizeof(struct worker));
    s.metrics = xcalloc(s.worker_count, sizeof(struct metrics *));
    size_t started = 0;
    int rc = 0;
    for (size_t i = 0; i < s.worker_count; i++) {
        rc = worker_init(&s.workers[i], &s, (int)i, fds[i]);
        if (rc != 0) {
            log_error("worker_failed", "worker=%zu error=%s", i,
                      uv_err_name(rc));
            for (size_t j = i + 1; j < s.worker_count; j++)
                close(fds[j]);
            break;
        }
        s.metrics[i] = &s.workers[i].metrics;
    }
    free(fds);

    uv_loop_t main_loop;
    uv_signal_t sigterm, sigint, sighup;
    uv_loop_init(&main_loop);
    uv_signal_init(&main_loop, &sigterm);
    uv_signal_init(&main_loop, &sigint);
    uv_signal_init(&main_loop, &sighup);
    sigterm.data = sigint.data = sighup.data = &s;
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sighup, on_hangup, SIGHUP);

    if (rc == 0) {
        for (; started < s.worker_count; started++) {
            rc = worker_start(&s.workers[started]);
            if (rc != 0)
                break;
        }
    }
    if (rc == 0) {
        log_info("listening", "address=%s port=%llu workers=%zu tls=%d",
                 config->listen_address,
                 (unsigned long long)config->listen_port, s.worker_count,
                 tls_context_enabled(&s.tls) ? 1 : 0);
        failinject_arm();
        start_triage(&s);
        uv_run(&main_loop, UV_RUN_DEFAULT);
    } else {
        atomic_store(&s.stopping, true);
        for (size_t i = 0; i < started; i++)
            worker_stop(&s.workers[i]);
    }
    for (size_t i = 0; i < started; i++)
        worker_join(&s.workers[i]);
    for (size_t i = 0; i < started; i++)
        worker_cleanup(&s.workers[i]);
    triage_worker_stop(&s.triage);
    triage_worker_join(&s.triage);

    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
    uv_close((uv_handle_t *)&sighup, NULL);
    uv_run(&main_loop, UV_RUN_DEFAULT);
    uv_loop_close(&main_loop);
    free(s.workers);
    free(s.metrics);
    free(s.staff_conninfo);
    sms_repeats_cleanup(&s.sms_repeats);
    tls_context_cleanup(&s.tls);
    if (rc != 0)
        return 1;
    log_info("stopped", "clean=1");
    return 0;
}
