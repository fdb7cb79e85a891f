/*
 * burst: the fault suite's client. It sends reports with idempotency keys
 * over several keep-alive connections and records, for every request, the
 * key, the status (0 when the connection failed before an answer), the
 * receipt and how long the answer took, one line each:
 *
 *     KEY STATUS RECEIPT MILLISECONDS
 *
 * The body of key K is a function of K alone, so a retry is byte-identical
 * and tipd must answer it with the first answer. A checker joins the log
 * against the database (tests/fault/lib.sh).
 *
 *     burst --port P --prefix X --count N [--conns C] [--copies D]
 *           [--keys FILE] [--seconds S] > LOG
 *
 * --copies D sends every key on D connections at once (each connection
 * walks the same key list): the same key in flight D times (reliability
 * A7). --keys FILE sends only the keys listed (one per line): the retry of
 * what went unanswered. --seconds stops early.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"

struct options {
    int port;
    const char *prefix;
    long count;
    int conns;
    int copies;
    const char *keys_file;
    double seconds;
};

static struct options opt = {0, "k", 1000, 8, 1, NULL, 0};
static char **keys;
static long nkeys;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static double deadline;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)opt.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends one request for key; returns the status (0 on failure) and the
 * receipt. *fd is reconnected as needed. */
static int one(int *fd, const char *key, char *receipt, size_t cap)
{
    char body[512], req[1024];
    int blen = snprintf(body, sizeof(body),
                        "{\"content\":\"故障测试 %s：某局长收受贿赂\","
                        "\"region\":\"410105\"}",
                        key);
    int rlen = snprintf(req, sizeof(req),
                        "POST /api/v1/reports HTTP/1.1\r\nHost: t\r\n"
                        "Content-Type: application/json\r\n"
                        "Idempotency-Key: %s\r\nContent-Length: %d\r\n\r\n%s",
                        key, blen, body);
    receipt[0] = '\0';
    if (*fd < 0)
        *fd = dial();
    if (*fd < 0)
        return 0;
    if (send(*fd, req, (size_t)rlen, MSG_NOSIGNAL) != rlen)
        goto broken;
    char in[8192];
    size_t len = 0;
    for (;;) {
        ssize_t n = recv(*fd, in + len, sizeof(in) - len - 1, 0);
        if (n <= 0)
            goto broken;
        len += (size_t)n;
        struct http_client_response r;
        size_t rest = 0;
        if (http_client_parse(in, len, &r, 1, &rest) == 1) {
            char conn[32];
            if (r.status == 201) {
                const char *p = strstr(r.body, "\"receipt\":\"");
                if (p != NULL && cap > 24) {
                    memcpy(receipt, p + 11, 23);
                    receipt[23] = '\0';
                }
            }
            if (http_client_header(&r, "Connection", conn, sizeof(conn)) &&
                strcmp(conn, "close") == 0) {
                close(*fd);
                *fd = -1;
            }
            return r.status;
        }
        if (len >= sizeof(in) - 1)
            goto broken;
    }
broken:
    close(*fd);
    *fd = -1;
    return 0;
}

static void *run(void *arg)
{
    long t = (long)arg;
    int fd = -1;
    long step = opt.copies > 1 ? 1 : opt.conns;
    long first = opt.copies > 1 ? 0 : t;
    for (long i = first; i < nkeys; i += step) {
        if (deadline > 0 && now() > deadline)
            break;
        char receipt[32];
        double t0 = now();
        int status = one(&fd, keys[i], receipt, sizeof(receipt));
        long ms = (long)((now() - t0) * 1000);
        pthread_mutex_lock(&out_lock);
        printf("%s %d %s %ld\n", keys[i], status, receipt[0] ? receipt : "-",
               ms);
        pthread_mutex_unlock(&out_lock);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: burst --port P [--prefix X] [--count N] "
                    "[--conns C] [--copies D] [--keys FILE] [--seconds S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        char *v = argv[++i], *end;
        const char *k = argv[i - 1];
        if (strcmp(k, "--port") == 0)
            opt.port = (int)strtol(v, &end, 10);
        else if (strcmp(k, "--prefix") == 0)
            opt.prefix = v;
        else if (strcmp(k, "--count") == 0)
            opt.count = strtol(v, &end, 10);
        else if (strcmp(k, "--conns") == 0)
            opt.conns = (int)strtol(v, &end, 10);
        else if (strcmp(k, "--copies") == 0)
            opt.copies = (int)strtol(v, &end, 10);
        else if (strcmp(k, "--keys") == 0)
            opt.keys_file = v;
        else if (strcmp(k, "--seconds") == 0)
            opt.seconds = strtod(v, &end);
        else
            usage();
    }
    if (opt.port <= 0 || opt.conns <= 0 || opt.copies <= 0)
        usage();
    if (opt.copies > 1)
        opt.conns = opt.copies;

    if (opt.keys_file != NULL) {
        FILE *f = fopen(opt.keys_file, "r");
        if (f == NULL) {
            perror(opt.keys_file);
            return 1;
        }
        char line[256];
        long cap = 1024;
        keys = malloc((size_t)cap * sizeof(char *));
        while (fgets(line, sizeof(line), f) != NULL) {
            line[strcspn(line, " \n")] = '\0';
            if (line[0] == '\0')
                continue;
            if (nkeys == cap)
                keys = realloc(keys, (size_t)(cap *= 2) * sizeof(char *));
            keys[nkeys++] = strdup(line);
        }
        fclose(f);
    } else {
        keys = malloc((size_t)opt.count * sizeof(char *));
        for (long i = 0; i < opt.count; i++) {
            char k[128];
            snprintf(k, sizeof(k), "%s-%ld", opt.prefix, i);
            keys[nkeys++] = strdup(k);
        }
    }
    if (opt.seconds > 0)
        deadline = now() + opt.seconds;
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t *th = calloc((size_t)opt.conns, sizeof(pthread_t));
    for (long t = 0; t < opt.conns; t++)
        pthread_create(&th[t], NULL, run, (void *)t);
    for (long t = 0; t < opt.conns; t++)
        pthread_join(th[t], NULL);
    for (long i = 0; i < nkeys; i++)
        free(keys[i]);
    free(keys);
    free(th);
    return 0;
}
