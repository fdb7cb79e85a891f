/*
 * cutproxy: a PostgreSQL proxy on a unix socket that cuts a connection
 * right after it has passed a COMMIT on, before the answer comes back: the
 * "unknown commit outcome" of spec/reliability.md A5.
 *
 *     cutproxy LISTEN_SOCKET SERVER_SOCKET EVERY > LOG
 *
 * Bytes go both ways unchanged. Every EVERY-th client write that holds the
 * text COMMIT is passed to the server whole; then the server's answer is
 * held back, and 200 ms later (the server has committed by then) both sides
 * are closed. One line per cut on stdout.
 */
#define _GNU_SOURCE 1 /* memmem */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PAIRS_MAX 64

struct pair {
    int client, server;
    double cut_at; /* > 0: close both at this time, pass nothing back */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int unix_socket(const char *path, int listening)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (fd < 0 || strlen(path) >= sizeof(a.sun_path))
        return -1;
    memcpy(a.sun_path, path, strlen(path) + 1);
    if (listening) {
        unlink(path);
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
            listen(fd, 64) != 0)
            return -1;
    } else if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void drop(struct pair *p)
{
    close(p->client);
    close(p->server);
    p->client = p->server = -1;
    p->cut_at = 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: cutproxy LISTEN_SOCKET SERVER_SOCKET EVERY\n");
        return 2;
    }
    long every = strtol(argv[3], NULL, 10);
    int lfd = unix_socket(argv[1], 1);
    if (lfd < 0 || every < 1) {
        fprintf(stderr, "cutproxy: cannot listen on %s\n", argv[1]);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct pair pairs[PAIRS_MAX];
    for (int i = 0; i < PAIRS_MAX; i++)
        pairs[i].client = pairs[i].server = -1;
    long commits = 0, cuts = 0;
    static char buf[1 << 16];
    for (;;) {
        struct pollfd fds[1 + 2 * PAIRS_MAX];
        int n = 0;
        fds[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < PAIRS_MAX; i++) {
            fds[n++] = (struct pollfd){.fd = pairs[i].client, .events = POLLIN};
            fds[n++] = (struct pollfd){.fd = pairs[i].server, .events = POLLIN};
        }
        if (poll(fds, (nfds_t)n, 20) < 0 && errno != EINTR)
            return 1;
        double t = now();
        for (int i = 0; i < PAIRS_MAX; i++)
            if (pairs[i].cut_at > 0 && t >= pairs[i].cut_at)
                drop(&pairs[i]);
        if (fds[0].revents & POLLIN) {
            int c = accept(lfd, NULL, NULL);
            int s = c >= 0 ? unix_socket(argv[2], 0) : -1;
            int slot = -1;
            for (int i = 0; i < PAIRS_MAX && slot < 0; i++)
                if (pairs[i].client < 0)
                    slot = i;
            if (c >= 0 && (s < 0 || slot < 0)) {
                close(c);
                if (s >= 0)
                    close(s);
            } else if (c >= 0) {
                pairs[slot] = (struct pair){.client = c, .server = s};
            }
        }
        for (int i = 0; i < PAIRS_MAX; i++) {
            struct pair *p = &pairs[i];
            struct pollfd *cf = &fds[1 + 2 * i], *sf = &fds[2 + 2 * i];
            if (p->client < 0 || cf->fd != p->client)
                continue;
            if (cf->revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t r = recv(p->client, buf, sizeof(buf), 0);
                if (r <= 0 || send_all(p->server, buf, (size_t)r) != 0) {
                    drop(p);
                    continue;
                }
                if (p->cut_at == 0 && memmem(buf, (size_t)r, "COMMIT", 6) &&
                    ++commits % every == 0) {
                    p->cut_at = t + 0.2;
                    printf("cut %ld after commit %ld\n", ++cuts, commits);
                }
            }
            if (p->client >= 0 &&
                (sf->revents & (POLLIN | POLLHUP | POLLERR))) {
                ssize_t r = recv(p->server, buf, sizeof(buf), 0);
                if (r <= 0) {
                    drop(p);
                    continue;
                }
                if (p->cut_at == 0 && send_all(p->client, buf, (size_t)r) != 0)
                    drop(p);
            }
        }
    }
}
