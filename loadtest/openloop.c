/*
 * openloop: an open-loop HTTP load generator for tipd's intake benchmark.
 *
 * wrk is closed-loop: each connection sends its next request only after the
 * previous answer, so when the server stalls the generator stalls with it,
 * and the stall is recorded once instead of for every request that should
 * have gone out meanwhile (coordinated omission). openloop keeps a fixed
 * schedule instead: request i is due at t0 + i / rate whatever the server
 * does, and its latency runs from that due time to the last byte of its
 * answer. A stall therefore shows as latency of every request that fell due
 * during it.
 *
 * Requests go over keep-alive connections, one request at a time per
 * connection (no pipelining): -c of them are opened before the clock starts.
 * A due request takes any idle connection. When none is idle it WAITS, in
 * order, for the first connection to free up, with its latency clock
 * already running; meanwhile, like the new clients of a real burst, more
 * connections are opened for the waiting requests, up to -C in all. So the
 * cap bounds the requests in flight, never the rate: a server slower than
 * the rate shows as growing latency or as refusals (503), and the send lag
 * (send time minus due time) says how long requests waited for a
 * connection. Requests still unsent or unanswered when the drain time is
 * over count as unanswered, with their wait so far as a lower bound of
 * their latency.
 *
 * One thread: non-blocking sockets, edge-triggered epoll, and a timerfd
 * armed at the next due time (nanosecond resolution, 1 us timer slack).
 * Answers are parsed just enough to frame them: the status line,
 * Content-Length, Connection: close and Retry-After. A connection the server
 * closes (tipd closes after a 503 given before the body arrived) is opened
 * again at once.
 *
 * usage: openloop -r RATE -d SECONDS -c CONNECTIONS [-C MAX_CONNECTIONS]
 *                 -b BODIES [-k PREFIX] [-w DRAIN_SECONDS]
 * http://HOST:PORT/PATH BODIES holds one request body per line, sent in turn as
 * application/json; with -k every request carries "Idempotency-Key: PREFIX-i".
 * The last line of the output, "RESULT key=value...", is for scripts.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define IN_MAX 16384          /* largest answer taken (head and body) */
#define HEAD_MAX 1024         /* request line and headers */
#define BODY_MAX (1u << 20)   /* largest request body in BODIES */
#define MAX_CONNECTIONS 10000 /* -c and -C bound */
#define MAX_REQUESTS 100000000ull
#define REOPEN_BACKOFF_NS 10000000 /* after a failed connect: 10 ms */
#define NS 1000000000LL

/* Outcome of one scheduled request; also the index of the counters. */
enum outcome {
    OUT_NONE,  /* not answered (yet) */
    OUT_2XX,   /* any 2xx status */
    OUT_503,   /* 503 Service Unavailable */
    OUT_OTHER, /* any other status */
    OUT_ERROR, /* connection failed or answer malformed */
    OUT_COUNT
};

/*
 * A connection's states:
 *
 *   CLOSED --open--> CONNECTING --connected--> IDLE --send--> SENDING
 *     ^                  |                      ^                |
 *     |                  | failed               |                | written
 *     +------------------+                      |                v
 *     +-------- error, EOF or Connection: close-+---answer--- WAITING
 */
enum conn_state {
    CONN_CLOSED,     /* no socket; opened again at reopen_ns */
    CONN_CONNECTING, /* non-blocking connect in progress */
    CONN_IDLE,       /* open, no request */
    CONN_SENDING,    /* request partly written */
    CONN_WAITING,    /* request written, answer not complete */
};

struct conn {
    int fd;
    enum conn_state state;
    uint64_t req;      /* SENDING, WAITING: index of the request */
    char *out;         /* owned: the request's bytes */
    size_t out_len;    /* bytes in out */
    size_t out_off;    /* bytes of out written */
    size_t in_len;     /* bytes in in */
    int64_t reopen_ns; /* CLOSED: earliest time to open again */
    struct conn *idle_prev, *idle_next; /* IDLE: in gen's idle list */
    char in[IN_MAX];
};

/* What parse_answer found in a complete answer. */
struct answer {
    int status;
    size_t len; /* head and body */
    bool close; /* Connection: close, or HTTP/1.0 */
    bool retry_after;
};

struct body {
    const char *data; /* borrowed from the file buffer */
    size_t len;
};

struct gen {
    /* Options. */
    double rate;         /* requests per second */
    double duration;     /* seconds of schedule */
    double drain;        /* seconds to wait for answers after it */
    int connections;     /* opened before the clock starts */
    int max_connections; /* opened at most (for waiting requests) */
    const char *prefix;  /* Idempotency-Key prefix, or NULL */
    char host[256];      /* Host header value */
    char path[1024];
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char *body_data;     /* owned: the BODIES file */
    struct body *bodies; /* owned: lines of body_data */
    size_t nbodies;
    /* Run state. */
    int ep;     /* epoll */
    int tfd;    /* timerfd */
    int64_t t0; /* schedule start, CLOCK_MONOTONIC ns */
    uint64_t total;
    uint64_t next; /* next request to send */
    int64_t armed_ns;
    struct conn *conns; /* owned, max_connections of them */
    int nconns;         /* conns in use (any state) */
    struct conn *idle;  /* list of the idle connections, newest first */
    int nidle, nclosed, nconnecting;
    int peak_open; /* most connections open or connecting at once */
    /* Results, per request. */
    int64_t *latency; /* owned: ns from due time to answer */
    uint32_t *lag_us; /* owned: send time minus due time */
    uint8_t *outcome; /* owned: enum outcome */
    /* Counters. */
    uint64_t count[OUT_COUNT];
    uint64_t sent, answered, connects, connect_failures, closes_by_server;
    uint64_t no_retry_after; /* 503 answers without Retry-After */
    int64_t last_send_ns, last_answer_ns;
};

static void die(const char *what)
{
    fprintf(stderr, "openloop: %s\n", what);
    exit(2);
}

static void die_errno(const char *what)
{
    fprintf(stderr, "openloop: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL)
        die("out of memory");
    return p;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static int64_t due_ns(const struct gen *g, uint64_t i)
{
    return g->t0 + (int64_t)((double)i * 1e9 / g->rate);
}

static double parse_double(const char *s, const char *opt, double min,
                           double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
        fprintf(stderr, "openloop: %s wants a number in [%g, %g], not '%s'\n",
                opt, min, max, s);
        exit(2);
    }
    return v;
}

/* Reads BODIES: one body per non-empty line. */
static void load_bodies(struct gen *g, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        die_errno(path);
    size_t cap = 1 << 16, len = 0;
    char *data = xcalloc(1, cap);
    size_t n;
    while ((n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            if (cap >= 64u * BODY_MAX)
                die("BODIES file too large");
            char *bigger = realloc(data, cap * 2);
            if (bigger == NULL)
                die("out of memory");
            data = bigger;
            cap *= 2;
        }
    }
    if (ferror(f))
        die_errno(path);
    fclose(f);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    g->bodies = xcalloc(lines, sizeof(*g->bodies));
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && data[i] != '\n')
            continue;
        size_t end = i;
        if (end > start && data[end - 1] == '\r')
            end--;
        if (end > start) {
            if (end - start > BODY_MAX)
                die("a body in BODIES is over 1 MiB");
            g->bodies[g->nbodies].data = data + start;
            g->bodies[g->nbodies].len = end - start;
            g->nbodies++;
        }
        start = i + 1;
    }
    if (g->nbodies == 0)
        die("BODIES holds no body");
    g->body_data = data;
}

/* Splits http://HOST:PORT/PATH and resolves HOST once. */
static void parse_url(struct gen *g, const char *url)
{
    const char *p = url;
    if (strncmp(p, "http://", 7) != 0)
        die("the URL must start with http://");
    p += 7;
    const char *slash = strchr(p, '/');
    size_t hostport = slash != NULL ? (size_t)(slash - p) : strlen(p);
    if (hostport == 0 || hostport >= sizeof(g->host))
        die("bad host in the URL");
    memcpy(g->host, p, hostport);
    g->host[hostport] = '\0';
    const char *path = slash != NULL ? slash : "/";
    if (strlen(path) >= sizeof(g->path))
        die("URL path too long");
    memcpy(g->path, path, strlen(path) + 1);

    char name[256], port[16] = "80";
    const char *colon = strrchr(g->host, ':');
    size_t namelen = colon != NULL ? (size_t)(colon - g->host) : hostport;
    if (colon != NULL) {
        size_t plen = strlen(colon + 1);
        if (plen == 0 || plen >= sizeof(port))
            die("bad port in the URL");
        memcpy(port, colon + 1, plen + 1);
    }
    if (namelen >= 2 && g->host[0] == '[' && g->host[namelen - 1] == ']') {
        memcpy(name, g->host + 1, namelen - 2);
        name[namelen - 2] = '\0';
    } else {
        memcpy(name, g->host, namelen);
        name[namelen] = '\0';
    }
    struct addrinfo hints = {0}, *res;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(name, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "openloop: %s: %s\n", name, gai_strerror(rc));
        exit(2);
    }
    memcpy(&g->addr, res->ai_addr, res->ai_addrlen);
    g->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
}

static void idle_remove(struct gen *g, struct conn *c)
{
    if (c->idle_prev != NULL)
        c->idle_prev->idle_next = c->idle_next;
    else
        g->idle = c->idle_next;
    if (c->idle_next != NULL)
        c->idle_next->idle_prev = c->idle_prev;
    c->idle_prev = c->idle_next = NULL;
    g->nidle--;
}

/* Closes c's socket; with request_failed, its request in flight failed. */
static void conn_drop(struct gen *g, struct conn *c, int64_t now,
                      bool request_failed)
{
    if (c->state == CONN_IDLE)
        idle_remove(g, c);
    if (c->state == CONN_CONNECTING)
        g->nconnecting--;
    if ((c->state == CONN_SENDING || c->state == CONN_WAITING) &&
        request_failed) {
        g->outcome[c->req] = OUT_ERROR;
        g->count[OUT_ERROR]++;
        g->answered++;
        g->last_answer_ns = now;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = CONN_CLOSED;
    c->in_len = 0;
    c->reopen_ns = now;
    g->nclosed++;
}

static void conn_make_idle(struct gen *g, struct conn *c)
{
    c->state = CONN_IDLE;
    c->in_len = 0;
    c->idle_prev = NULL;
    c->idle_next = g->idle;
    if (g->idle != NULL)
        g->idle->idle_prev = c;
    g->idle = c;
    g->nidle++;
}

static void conn_open(struct gen *g, struct conn *c)
{
    g->nclosed--;
    g->connects++;
    c->fd = socket(g->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        die_errno("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct epoll_event ev = {0};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    if (epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        die_errno("epoll_ctl");
    c->state = CONN_CONNECTING;
    g->nconnecting++;
    if (g->nconns - g->nclosed > g->peak_open)
        g->peak_open = g->nconns - g->nclosed;
    if (connect(c->fd, (struct sockaddr *)&g->addr, g->addrlen) == 0) {
        g->nconnecting--;
        conn_make_idle(g, c);
    } else if (errno != EINPROGRESS) {
        g->connect_failures++;
        conn_drop(g, c, now_ns(), false);
        c->reopen_ns += REOPEN_BACKOFF_NS;
    }
}

/* Writes what is left of c's request. */
static void conn_flush(struct gen *g, struct conn *c, int64_t now)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* EPOLLOUT resumes */
        if (n < 0) {
            conn_drop(g, c, now, true);
            return;
        }
        c->out_off += (size_t)n;
    }
    c->state = CONN_WAITING;
}

/* Sends request i on idle connection c. */
static void send_request(struct gen *g, struct conn *c, uint64_t i, int64_t now)
{
    const struct body *b = &g->bodies[i % g->nbodies];
    int n;
    if (g->prefix != NULL)
        n = snprintf(c->out, HEAD_MAX,
                     "POST %s HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Type: application/json\r\n"
                     "Idempotency-Key: %s-%" PRIu64 "\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     g->path, g->host, g->prefix, i, b->len);
    else
        n = snprintf(c->out, HEAD_MAX,
                     "POST %s HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     g->path, g->host, b->len);
    if (n < 0 || n >= HEAD_MAX)
        die("request head too long");
    memcpy(c->out + n, b->data, b->len);
    c->out_len = (size_t)n + b->len;
    c->out_off = 0;
    c->req = i;
    c->state = CONN_SENDING;
    int64_t lag_us = (now - due_ns(g, i)) / 1000;
    if (lag_us < 0)
        lag_us = 0;
    g->lag_us[i] = lag_us > UINT32_MAX ? UINT32_MAX : (uint32_t)lag_us;
    g->sent++;
    g->last_send_ns = now;
    conn_flush(g, c, now);
}

static bool header_is(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

/* The value of a header line, without surrounding blanks. */
static const char *header_value(const char *line, size_t len, size_t namelen,
                                size_t *vlen)
{
    const char *v = line + namelen + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *vlen = (size_t)(end - v);
    return v;
}

/*
 * Frames an answer in p[0..n). 1 when complete (a filled), 0 when more
 * bytes are needed, -1 when it is no HTTP/1.x answer with a Content-Length.
 */
static int parse_answer(const char *p, size_t n, struct answer *a)
{
    size_t head = 0;
    for (size_t i = 3; i < n; i++) {
        if (p[i] == '\n' && p[i - 1] == '\r' && p[i - 2] == '\n' &&
            p[i - 3] == '\r') {
            head = i + 1;
            break;
        }
    }
    if (head == 0)
        return n >= IN_MAX ? -1 : 0;
    if (head < 14 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
        return -1;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        status = status * 10 + (p[i] - '0');
    }
    memset(a, 0, sizeof(*a));
    a->status = status;
    a->close = p[7] == '0';
    bool has_length = false;
    uint64_t length = 0;
    const char *line = (const char *)memchr(p, '\n', head) + 1;
    while (line < p + head - 2) {
        const char *eol = memchr(line, '\n', (size_t)(p + head - line));
        size_t len = (size_t)(eol - line);
        if (len > 0 && line[len - 1] == '\r')
            len--;
        size_t vlen;
        const char *v;
        if (header_is(line, len, "content-length")) {
            v = header_value(line, len, 14, &vlen);
            if (vlen == 0 || vlen > 12 || has_length)
                return -1;
            for (size_t i = 0; i < vlen; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return -1;
                length = length * 10 + (uint64_t)(v[i] - '0');
            }
            has_length = true;
        } else if (header_is(line, len, "connection")) {
            v = header_value(line, len, 10, &vlen);
            if (vlen == 5 && strncasecmp(v, "close", 5) == 0)
                a->close = true;
            else if (vlen == 10 && strncasecmp(v, "keep-alive", 10) == 0)
                a->close = false;
        } else if (header_is(line, len, "retry-after")) {
            a->retry_after = true;
        } else if (header_is(line, len, "transfer-encoding")) {
            return -1; /* tipd frames its answers with Content-Length */
        }
        line = eol + 1;
    }
    bool bodiless = status == 204 || status == 304 || status / 100 == 1;
    if (!has_length && !bodiless)
        return -1;
    if (head + length > IN_MAX)
        return -1;
    if (n < head + length)
        return 0;
    a->len = head + (size_t)length;
    return 1;
}

/* Records c's complete answer; c goes back to idle or closes. */
static void on_answer(struct gen *g, struct conn *c, const struct answer *a,
                      int64_t now)
{
    uint64_t i = c->req;
    enum outcome o = a->status / 100 == 2 ? OUT_2XX
                     : a->status == 503   ? OUT_503
                                          : OUT_OTHER;
    g->outcome[i] = (uint8_t)o;
    g->latency[i] = now - due_ns(g, i);
    g->count[o]++;
    g->answered++;
    g->last_answer_ns = now;
    if (o == OUT_503 && !a->retry_after)
        g->no_retry_after++;
    /*
     * An answer given before the whole request was written (tipd's early
     * 503) leaves the connection in no reusable state; neither does one
     * followed by bytes nobody asked for.
     */
    if (a->close || c->state == CONN_SENDING || c->in_len != a->len) {
        if (a->close)
            g->closes_by_server++;
        conn_drop(g, c, now, false);
        return;
    }
    conn_make_idle(g, c);
}

static void conn_read(struct gen *g, struct conn *c, int64_t now)
{
    for (;;) {
        if (c->in_len == IN_MAX) {
            conn_drop(g, c, now, true);
            return;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, IN_MAX - c->in_len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            /* EOF or reset: a request in flight failed. */
            conn_drop(g, c, now, true);
            return;
        }
        c->in_len += (size_t)n;
        if (c->state != CONN_SENDING && c->state != CONN_WAITING) {
            conn_drop(g, c, now, false); /* bytes nobody asked for */
            return;
        }
        struct answer a;
        int rc = parse_answer(c->in, c->in_len, &a);
        if (rc < 0) {
            conn_drop(g, c, now, true);
            return;
        }
        if (rc > 0) {
            /*
             * No pipelining, so nothing else is due on c; a later EOF or
             * answer raises a new edge.
             */
            on_answer(g, c, &a, now);
            return;
        }
    }
}

static void on_event(struct gen *g, struct conn *c, uint32_t events,
                     int64_t now)
{
    if (c->state == CONN_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
            g->connect_failures++;
            conn_drop(g, c, now, false);
            c->reopen_ns = now + REOPEN_BACKOFF_NS;
            return;
        }
        if (!(events & EPOLLOUT))
            return;
        g->nconnecting--;
        conn_make_idle(g, c);
        return;
    }
    if (c->state == CONN_SENDING && (events & EPOLLOUT))
        conn_flush(g, c, now);
    if (c->state != CONN_CLOSED &&
        (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
        conn_read(g, c, now);
}

/* Opens the closed connections whose back-off has passed. */
static int64_t reopen_closed(struct gen *g, int64_t now)
{
    int64_t earliest = INT64_MAX;
    for (int k = 0; k < g->nconns && g->nclosed > 0; k++) {
        struct conn *c = &g->conns[k];
        if (c->state != CONN_CLOSED)
            continue;
        if (c->reopen_ns <= now)
            conn_open(g, c);
        if (c->state == CONN_CLOSED && c->reopen_ns < earliest)
            earliest = c->reopen_ns;
    }
    return earliest;
}

/* Takes one more connection slot into use and opens it. */
static void add_conn(struct gen *g, size_t outmax)
{
    struct conn *c = &g->conns[g->nconns++];
    c->fd = -1;
    c->state = CONN_CLOSED;
    c->out = xcalloc(1, outmax);
    g->nclosed++;
    conn_open(g, c);
}

/*
 * Opens connections for due requests that no idle or coming connection
 * will take, within max_connections.
 */
static void add_conns_for_backlog(struct gen *g, int64_t now, size_t outmax)
{
    if (g->next >= g->total || g->idle != NULL ||
        g->nconns >= g->max_connections)
        return;
    double due = floor((double)(now - g->t0) * g->rate / 1e9) + 1;
    uint64_t last = due > (double)g->total ? g->total : (uint64_t)due;
    uint64_t waiting = last > g->next ? last - g->next : 0;
    while (waiting > (uint64_t)g->nconnecting && g->nconns < g->max_connections)
        add_conn(g, outmax);
}

static void arm_timer(struct gen *g, int64_t at)
{
    if (at == g->armed_ns)
        return;
    struct itimerspec its = {0};
    its.it_value.tv_sec = at / NS;
    its.it_value.tv_nsec = at % NS;
    if (timerfd_settime(g->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
        die_errno("timerfd_settime");
    g->armed_ns = at;
}

/* Waits for events until `until` at the latest and handles them. */
static void poll_once(struct gen *g, int64_t until)
{
    struct epoll_event evs[256];
    arm_timer(g, until);
    int n = epoll_wait(g->ep, evs, 256, -1);
    if (n < 0 && errno != EINTR)
        die_errno("epoll_wait");
    int64_t now = now_ns();
    for (int k = 0; k < n; k++) {
        if (evs[k].data.ptr == NULL) {
            /* The timer fired: it must be set again even to the same time
             * (edge-triggered and never read; setting it clears it). */
            g->armed_ns = 0;
            continue;
        }
        on_event(g, evs[k].data.ptr, evs[k].events, now);
    }
}

static void run(struct gen *g)
{
    g->ep = epoll_create1(EPOLL_CLOEXEC);
    if (g->ep < 0)
        die_errno("epoll_create1");
    g->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (g->tfd < 0)
        die_errno("timerfd_create");
    struct epoll_event ev = {0};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.ptr = NULL;
    if (epoll_ctl(g->ep, EPOLL_CTL_ADD, g->tfd, &ev) != 0)
        die_errno("epoll_ctl");

    size_t maxlen = 0;
    for (size_t k = 0; k < g->nbodies; k++)
        if (g->bodies[k].len > maxlen)
            maxlen = g->bodies[k].len;
    size_t outmax = HEAD_MAX + maxlen;
    g->conns = xcalloc((size_t)g->max_connections, sizeof(*g->conns));

    /* Open the first connections before the clock starts (3 s at most). */
    int64_t limit = now_ns() + 3 * NS;
    while (g->nconns < g->connections)
        add_conn(g, outmax);
    for (;;) {
        int64_t now = now_ns();
        if (g->nidle == g->connections || now >= limit)
            break;
        int64_t next_open = reopen_closed(g, now);
        poll_once(g, next_open < limit ? next_open : limit);
    }
    if (g->idle == NULL)
        die("could not connect to the server");

    g->t0 = now_ns() + NS / 1000;
    int64_t end = g->t0 + (int64_t)(g->duration * 1e9);
    int64_t deadline = end + (int64_t)(g->drain * 1e9);
    for (;;) {
        int64_t now = now_ns();
        int64_t reopen_at = g->nclosed > 0 ? reopen_closed(g, now) : INT64_MAX;
        while (g->next < g->total && g->idle != NULL &&
               due_ns(g, g->next) <= now) {
            struct conn *c = g->idle;
            idle_remove(g, c);
            send_request(g, c, g->next++, now);
        }
        add_conns_for_backlog(g, now, outmax);
        if (g->answered == g->total || now >= deadline)
            break;
        int64_t until = deadline;
        if (g->next < g->total && g->idle != NULL && due_ns(g, g->next) < until)
            until = due_ns(g, g->next);
        if (reopen_at < until)
            until = reopen_at;
        poll_once(g, until);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The p-th percentile (nearest rank) of sorted v[0..n), in ms. */
static double pct_ms(const int64_t *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1] / 1e6;
}

struct dist {
    int64_t *v; /* owned, sorted */
    size_t n;
};

static void dist_print(const char *name, const struct dist *d)
{
    if (d->n == 0) {
        printf("  %-12s      none\n", name);
        return;
    }
    printf("  %-12s %9zu %9.3f %9.3f %9.3f %9.3f %9.3f\n", name, d->n,
           pct_ms(d->v, d->n, 50), pct_ms(d->v, d->n, 90),
           pct_ms(d->v, d->n, 99), pct_ms(d->v, d->n, 99.9),
           pct_ms(d->v, d->n, 100));
}

/* The latency distributions report prints. */
enum dist_name {
    D_ALL,
    D_2XX,
    D_503,
    D_2XX_SERVICE,
    D_503_SERVICE,
    D_LAG,
    D_N
};

static void report(struct gen *g)
{
    static const char *const names[D_N] = {
        "all", "2xx", "503", "2xx service", "503 service", "send lag"};
    struct dist d[D_N];
    for (int k = 0; k < D_N; k++) {
        d[k].v = xcalloc(g->total + 1, sizeof(int64_t));
        d[k].n = 0;
    }
    /* Unanswered requests: their wait so far is a lower bound. */
    int64_t stop = now_ns();
    uint64_t unanswered = 0;
    for (uint64_t i = 0; i < g->total; i++) {
        int64_t lag = (int64_t)g->lag_us[i] * 1000;
        if (i < g->next)
            d[D_LAG].v[d[D_LAG].n++] = lag;
        switch (g->outcome[i]) {
        case OUT_NONE:
            unanswered++;
            d[D_ALL].v[d[D_ALL].n++] = stop - due_ns(g, i);
            break;
        case OUT_2XX:
            d[D_2XX].v[d[D_2XX].n++] = g->latency[i];
            d[D_2XX_SERVICE].v[d[D_2XX_SERVICE].n++] = g->latency[i] - lag;
            d[D_ALL].v[d[D_ALL].n++] = g->latency[i];
            break;
        case OUT_503:
            d[D_503].v[d[D_503].n++] = g->latency[i];
            d[D_503_SERVICE].v[d[D_503_SERVICE].n++] = g->latency[i] - lag;
            d[D_ALL].v[d[D_ALL].n++] = g->latency[i];
            break;
        case OUT_OTHER:
            d[D_ALL].v[d[D_ALL].n++] = g->latency[i];
            break;
        default:
            break; /* errors have no latency */
        }
    }
    for (int k = 0; k < D_N; k++)
        qsort(d[k].v, d[k].n, sizeof(int64_t), cmp_i64);

    /*
     * Rates over the schedule, or over the time the sending and answering
     * really took when that was longer (the generator or the server fell
     * behind).
     */
    double send_s = (double)(g->last_send_ns - g->t0) / 1e9;
    double answer_s = (double)(g->last_answer_ns - g->t0) / 1e9;
    double sent_rate = (double)g->sent / fmax(send_s, g->duration);
    double ok_rate = (double)g->count[OUT_2XX] / fmax(answer_s, g->duration);
    printf("openloop: %.0f requests/s for %.1f s to http://%s%s\n", g->rate,
           g->duration, g->host, g->path);
    printf("  scheduled %" PRIu64 ", sent %" PRIu64 " (%.0f/s), answered "
           "%" PRIu64 " in %.2f s\n",
           g->total, g->sent, sent_rate, g->answered - g->count[OUT_ERROR],
           answer_s);
    printf("  2xx %" PRIu64 " (%.0f/s), 503 %" PRIu64 " (%" PRIu64
           " without Retry-After), other %" PRIu64 ", errors %" PRIu64
           ", unanswered %" PRIu64 "\n",
           g->count[OUT_2XX], ok_rate, g->count[OUT_503], g->no_retry_after,
           g->count[OUT_OTHER], g->count[OUT_ERROR], unanswered);
    printf("  connections: %d at the start, at most %d at once (cap %d); "
           "opened %" PRIu64 " times (failed %" PRIu64
           ", closed by the server after an answer %" PRIu64 ")\n",
           g->connections, g->peak_open, g->max_connections, g->connects,
           g->connect_failures, g->closes_by_server);
    printf("  latency in ms from the scheduled send time; \"service\" from "
           "the real send time:\n");
    printf("  %-12s %9s %9s %9s %9s %9s %9s\n", "", "count", "p50", "p90",
           "p99", "p99.9", "max");
    for (int k = 0; k < D_N; k++)
        dist_print(names[k], &d[k]);
    if (unanswered > 0)
        printf("  (\"all\" counts unanswered requests with their wait so "
               "far)\n");
    printf("RESULT rate=%.0f duration=%.3f connections=%d scheduled=%" PRIu64
           " sent=%" PRIu64 " sent_per_s=%.1f ok=%" PRIu64
           " ok_per_s=%.1f s503=%" PRIu64 " s503_no_retry_after=%" PRIu64
           " other=%" PRIu64 " errors=%" PRIu64 " unanswered=%" PRIu64,
           g->rate, g->duration, g->connections, g->total, g->sent, sent_rate,
           g->count[OUT_2XX], ok_rate, g->count[OUT_503], g->no_retry_after,
           g->count[OUT_OTHER], g->count[OUT_ERROR], unanswered);
    static const char *const keys[D_N] = {
        "", "ok_", "s503_", "ok_service_", "s503_service_", "lag_"};
    for (int k = 0; k < D_N; k++)
        printf(" %sp50_ms=%.3f %sp99_ms=%.3f %sp999_ms=%.3f %smax_ms=%.3f",
               keys[k], pct_ms(d[k].v, d[k].n, 50), keys[k],
               pct_ms(d[k].v, d[k].n, 99), keys[k],
               pct_ms(d[k].v, d[k].n, 99.9), keys[k],
               pct_ms(d[k].v, d[k].n, 100));
    printf(" connects=%" PRIu64 " peak_connections=%d\n", g->connects,
           g->peak_open);
    for (int k = 0; k < D_N; k++)
        free(d[k].v);
}

static void gen_cleanup(struct gen *g)
{
    for (int k = 0; k < g->nconns; k++) {
        if (g->conns[k].fd >= 0)
            close(g->conns[k].fd);
        free(g->conns[k].out);
    }
    free(g->conns);
    close(g->tfd);
    close(g->ep);
    free(g->latency);
    free(g->lag_us);
    free(g->outcome);
    free(g->bodies);
    free(g->body_data);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: openloop -r RATE -d SECONDS -c CONNECTIONS "
            "[-C MAX_CONNECTIONS] -b BODIES [-k PREFIX] [-w DRAIN_SECONDS] "
            "http://HOST:PORT/PATH\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct gen g;
    memset(&g, 0, sizeof(g));
    g.rate = 1000;
    g.duration = 10;
    g.drain = 5;
    g.connections = 64;
    const char *bodies = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "r:d:c:C:b:k:w:")) != -1) {
        switch (opt) {
        case 'r':
            g.rate = parse_double(optarg, "-r", 1, 1e7);
            break;
        case 'd':
            g.duration = parse_double(optarg, "-d", 0.001, 86400);
            break;
        case 'c':
            g.connections = (int)parse_double(optarg, "-c", 1, MAX_CONNECTIONS);
            break;
        case 'C':
            g.max_connections =
                (int)parse_double(optarg, "-C", 1, MAX_CONNECTIONS);
            break;
        case 'b':
            bodies = optarg;
            break;
        case 'k':
            g.prefix = optarg;
            break;
        case 'w':
            g.drain = parse_double(optarg, "-w", 0, 3600);
            break;
        default:
            usage();
        }
    }
    if (optind != argc - 1 || bodies == NULL)
        usage();
    if (g.max_connections < g.connections)
        g.max_connections = g.connections;
    if (g.prefix != NULL && strlen(g.prefix) > 150)
        die("the key prefix is over 150 characters");
    parse_url(&g, argv[optind]);
    load_bodies(&g, bodies);

    double total = floor(g.rate * g.duration);
    if (total < 1 || total > (double)MAX_REQUESTS)
        die("rate x duration must be between 1 and 1e8 requests");
    g.total = (uint64_t)total;
    g.latency = xcalloc(g.total, sizeof(*g.latency));
    g.lag_us = xcalloc(g.total, sizeof(*g.lag_us));
    g.outcome = xcalloc(g.total, sizeof(*g.outcome));

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    /* Room for every connection: the soft limit is often 1024. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* Timers fire within 1 us of the due time instead of the default 50. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

    run(&g);
    report(&g);
    gen_cleanup(&g);
    return fflush(stdout) == 0 ? 0 : 1;
}
