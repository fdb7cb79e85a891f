/*
 * slowloris: N connections that send a request head one byte at a time,
 * a byte every INTERVAL ms, never finishing it (spec/reliability.md D1).
 * Each connection is kept until the server closes it; then one line:
 *
 *     CONN SECONDS_OPEN BYTES_SENT ANSWER_STATUS   (0: closed without one)
 *
 *     slowloris --port P --conns N [--interval MS] [--seconds S] > LOG
 *
 * Stops after S seconds (default 60) even if connections are still open;
 * those are reported with ANSWER_STATUS -1.
 */
#define _GNU_SOURCE 1

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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
    return atoi(buf + 9);
}

int main(int argc, char **argv)
{
    int port = 0, conns = 100, interval_ms = 1000, seconds = 60;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--conns") == 0)
            conns = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--interval") == 0)
            interval_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atoi(argv[i + 1]);
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
    }
    double next_byte = now();
    while (open_count > 0 && now() - start < seconds) {
        for (int i = 0; i < conns; i++)
            pfd[i] = (struct pollfd){.fd = c[i].fd, .events = POLLIN};
        poll(pfd, (nfds_t)conns, 50);
        double t = now();
        for (int i = 0; i < conns; i++) {
            if (c[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[512];
            ssize_t n = recv(c[i].fd, buf, sizeof(buf), 0);
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
                if (c[i].fd >= 0 && c[i].sent < sizeof(head) - 1 &&
                    send(c[i].fd, head + c[i].sent, 1, MSG_NOSIGNAL) == 1)
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
