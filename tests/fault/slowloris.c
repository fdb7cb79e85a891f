/*
 * slowloris: N greedy or slow connections (spec/reliability.md D1-D3),
 * each kept until the server closes it; then one line:
 *
 *     CONN SECONDS_OPEN BYTES_SENT ANSWER_STATUS   (0: closed without one)
 *
 *     slowloris --port P --conns N [--mode head|body|noread]
 *               [--interval MS] [--seconds S] > LOG
 *
 * head: a request head sent one byte every INTERVAL ms, never finished.
 * body: a whole head of a report with a 100,000-byte body, then the body a
 * byte every INTERVAL ms. noread: 5,000 requests for the form page written
 * at once (more answers than the kernel's buffers hold), and no answer
 * ever read.
 *
 * Stops after S seconds (default 60) even if connections are still open;
 * those are reported with ANSWER_STATUS -1.
 */
#define _GNU_SOURCE 1

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char body_head[] =
    "POST /api/v1/reports HTTP/1.1\r\nHost: slow\r\n"
    "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    "{\"content\":\"";
static const char page_request[] = "GET / HTTP/1.1\r\nHost: greedy\r\n\r\n";

static const char head[] = "GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: "
                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

struct conn {
    int fd;
    double opened;
    size_t sent;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 &&
        errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The status of an HTTP answer in buf, or 0. */
static int status_of(const char *buf, ssize_t n)
{
    if (n < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
        return 0;
    return (int)strtol(buf + 9, NULL, 10);
}

int main(int argc, char **argv)
{
    int port = 0, conns = 100, interval_ms = 1000, seconds = 60;
    const char *mode = "head";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--conns") == 0)
            conns = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--interval") == 0)
            interval_ms = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = (int)strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--mode") == 0)
            mode = argv[i + 1];
    }
    if (port <= 0 || conns <= 0 || interval_ms <= 0) {
        fprintf(stderr, "usage: slowloris --port P --conns N "
                        "[--interval MS] [--seconds S]\n");
        return 2;
    }
    struct conn *c = calloc((size_t)conns, sizeof(*c));
    struct pollfd *pfd = calloc((size_t)conns, sizeof(*pfd));
    int open_count = 0;
    double start = now();
    for (int i = 0; i < conns; i++) {
        c[i].fd = dial(port);
        c[i].opened = now();
        if (c[i].fd >= 0)
            open_count++;
        else
            printf("%d 0.000 0 0\n", i);
        if (c[i].fd >= 0 && strcmp(mode, "noread") == 0) {
            /* Blocking writes until the kernel's buffers are full. */
            struct pollfd w = {.fd = c[i].fd, .events = POLLOUT};
            poll(&w, 1, 1000);
            for (int r = 0; r < 5000; r++)
                if (send(c[i].fd, page_request, sizeof(page_request) - 1,
                         MSG_NOSIGNAL) > 0)
                    c[i].sent += sizeof(page_request) - 1;
        } else if (c[i].fd >= 0 && strcmp(mode, "body") == 0) {
            struct pollfd w = {.fd = c[i].fd, .events = POLLOUT};
            poll(&w, 1, 1000);
            if (send(c[i].fd, body_head, sizeof(body_head) - 1, MSG_NOSIGNAL) >
                0)
                c[i].sent += sizeof(body_head) - 1;
        }
    }
    double next_byte = now();
    while (open_count > 0 && now() - start < seconds) {
        bool noread = strcmp(mode, "noread") == 0;
        for (int i = 0; i < conns; i++)
            pfd[i] = (struct pollfd){.fd = c[i].fd,
                                     .events = noread ? POLLRDHUP : POLLIN};
        poll(pfd, (nfds_t)conns, 50);
        double t = now();
        for (int i = 0; i < conns; i++) {
            if (c[i].fd < 0 ||
                !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR | POLLRDHUP)))
                continue;
            char buf[512];
            ssize_t n = noread ? 0 : recv(c[i].fd, buf, sizeof(buf), 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            printf("%d %.3f %zu %d\n", i, t - c[i].opened, c[i].sent,
                   status_of(buf, n));
            close(c[i].fd);
            c[i].fd = -1;
            open_count--;
        }
        if (t >= next_byte) {
            next_byte = t + interval_ms / 1000.0;
            for (int i = 0; i < conns; i++)
                if (c[i].fd >= 0 && strcmp(mode, "head") == 0 &&
                    c[i].sent < sizeof(head) - 1 &&
                    send(c[i].fd, head + c[i].sent, 1, MSG_NOSIGNAL) == 1)
                    c[i].sent++;
                else if (c[i].fd >= 0 && strcmp(mode, "body") == 0 &&
                         send(c[i].fd, "a", 1, MSG_NOSIGNAL) == 1)
                    c[i].sent++;
        }
    }
    double t = now();
    for (int i = 0; i < conns; i++)
        if (c[i].fd >= 0)
            printf("%d %.3f %zu -1\n", i, t - c[i].opened, c[i].sent);
    free(pfd);
    free(c);
    return 0;
}
