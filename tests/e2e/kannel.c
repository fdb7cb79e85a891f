/*
 * kannel: the shipped configuration (deploy/kannel/kannel.conf) rewritten
 * key by key for the test's ports, files and tipd, so the test proves the
 * example an operator copies, not a private variant of it.
 */
/* memmem needs the Linux names. */
#define _DEFAULT_SOURCE 1

#include "kannel.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "utf8.h"
#include "util.h"
#include "test.h"

#define FAIL(...) test_failf(__FILE__, __LINE__, __VA_ARGS__)

#define BEARERBOX "/usr/sbin/bearerbox"
#define SMSBOX "/usr/sbin/smsbox"
#define FAKESMSC "/usr/lib/kannel/test/fakesmsc"

/* Starts path with argv, stdout and stderr to log. pid, or -1. */
static pid_t spawn(const char *path, char *const argv[], const char *log)
{
    int logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (logfd < 0)
        return -1;
    pid_t pid = e2e_spawn_logged(path, argv, NULL, logfd);
    close(logfd);
    return pid;
}

static void kill_reap(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGKILL);
    int st;
    while (waitpid(*pid, &st, 0) < 0 && errno == EINTR)
        ;
    *pid = 0;
}

static bool alive(pid_t pid)
{
    int st;
    return pid > 0 && waitpid(pid, &st, WNOHANG) == 0;
}

/* Whether something accepts connections on 127.0.0.1:port. */
static bool listening(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* The key of a "key = value" line, into key (cap); false if none. */
static bool line_key(const char *line, char *key, size_t cap)
{
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line == '#' || *line == '\0' || *line == '\n')
        return false;
    size_t n = strcspn(line, " \t=");
    if (n == 0 || n >= cap)
        return false;
    memcpy(key, line, n);
    key[n] = '\0';
    return true;
}

/* Replaces the first "from" in s (cap bytes) with "to". */
static void replace(char *s, size_t cap, const char *from, const char *to)
{
    char *p = strstr(s, from);
    if (p == NULL)
        return;
    char rest[4096];
    snprintf(rest, sizeof(rest), "%s", p + strlen(from));
    snprintf(p, cap - (size_t)(p - s), "%s%s", to, rest);
}

/* deploy/kannel/kannel.conf with the test's values. 0 or -1. */
static int write_conf(struct kannel *k, const struct kannel_options *opt)
{
    FILE *in = fopen(TIPD_SOURCE_DIR "/deploy/kannel/kannel.conf", "r");
    if (in == NULL) {
        FAIL("cannot read deploy/kannel/kannel.conf: %s", strerror(errno));
        return -1;
    }
    FILE *out = fopen(k->conf, "w");
    if (out == NULL) {
        fclose(in);
        FAIL("cannot write %s", k->conf);
        return -1;
    }
    char line[4096], key[64], group[64] = "";
    bool got_url = false;
    while (fgets(line, sizeof(line), in) != NULL) {
        if (!line_key(line, key, sizeof(key))) {
            fputs(line, out);
            continue;
        }
        if (strcmp(key, "group") == 0) {
            snprintf(group, sizeof(group), "%s", strchr(line, '=') + 1);
            group[strcspn(group, "\n")] = '\0';
            fputs(line, out);
            /* The test's smsbox options, whatever the example says. */
            if (strstr(group, "smsbox") != NULL &&
                strstr(group, "route") == NULL)
                fprintf(out,
                        "mo-recode = %s\nhttp-request-retry = %d\n"
                        "http-queue-delay = %d\n",
                        opt->mo_recode ? "true" : "false", opt->retries,
                        opt->retry_delay_s);
            continue;
        }
        bool core = strstr(group, "core") != NULL;
        bool smsbox = strstr(group, "smsbox") != NULL;
        if (strcmp(key, "admin-port") == 0)
            fprintf(out, "admin-port = %d\n", k->admin_port);
        else if (strcmp(key, "smsbox-port") == 0 ||
                 strcmp(key, "bearerbox-port") == 0)
            fprintf(out, "%s = %d\n", key, k->smsbox_port);
        else if (strcmp(key, "port") == 0 && strstr(group, "smsc") != NULL)
            fprintf(out, "port = %d\n", k->smsc_port);
        else if (strcmp(key, "log-file") == 0)
            fprintf(out, "log-file = \"%s/%s.log\"\n", k->dir,
                    core     ? "bearerbox"
                    : smsbox ? "smsbox"
                             : "other");
        else if (strcmp(key, "log-level") == 0)
            fprintf(out, "log-level = 0\n");
        else if (strcmp(key, "access-log") == 0)
            fprintf(out, "access-log = \"%s/access.log\"\n", k->dir);
        else if (strcmp(key, "sms-combine-concatenated-mo") == 0)
            fprintf(out, "sms-combine-concatenated-mo = %s\n",
                    opt->split_parts ? "false" : "true");
        else if (strcmp(key, "store-location") == 0)
            fprintf(out, "store-location = \"%s/kannel.store\"\n", k->dir);
        else if (strcmp(key, "mo-recode") == 0 ||
                 strcmp(key, "http-request-retry") == 0 ||
                 strcmp(key, "http-queue-delay") == 0)
            continue; /* written after the group line */
        else if (strcmp(key, "get-url") == 0) {
            char port[32];
            snprintf(port, sizeof(port), "127.0.0.1:%d", k->tipd_port);
            replace(line, sizeof(line), "127.0.0.1:8080", port);
            replace(line, sizeof(line), "CHANGE-ME", k->secret);
            fputs(line, out);
            got_url = true;
        } else
            fputs(line, out);
    }
    fclose(in);
    fclose(out);
    if (!got_url) {
        FAIL("deploy/kannel/kannel.conf has no get-url");
        return -1;
    }
    return 0;
}

static void tail(const char *dir, const char *name)
{
    char path[400], cmd[600];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (access(path, R_OK) != 0)
        return;
    fprintf(stderr, "--- last lines of %s:\n", path);
    snprintf(cmd, sizeof(cmd), "tail -n 15 '%s' >&2", path);
    if (system(cmd) != 0)
        fprintf(stderr, "(tail failed)\n");
}

static int start_smsbox(struct kannel *k)
{
    char log[400];
    snprintf(log, sizeof(log), "%s/smsbox.out", k->dir);
    char *argv[] = {SMSBOX, k->conf, NULL};
    k->smsbox = spawn(SMSBOX, argv, log);
    if (k->smsbox < 0) {
        FAIL("cannot start smsbox");
        return -1;
    }
    /* smsbox is connected once bearerbox's status page names it. */
    for (int i = 0; i < 100; i++) {
        e2e_sleep_ms(100);
        if (!alive(k->smsbox))
            break;
        if (kannel_smsbox_log_count(k, "Connected to bearerbox") > 0 ||
            kannel_smsbox_log_count(k, "connected to bearerbox") > 0)
            return 0;
    }
    FAIL("smsbox did not connect to bearerbox");
    tail(k->dir, "smsbox.out");
    tail(k->dir, "smsbox.log");
    return -1;
}

int kannel_start(struct kannel *k, const char *dir, int tipd_port,
                 const char *secret, const struct kannel_options *opt)
{
    memset(k, 0, sizeof(*k));
    if (access(BEARERBOX, X_OK) != 0 || access(SMSBOX, X_OK) != 0 ||
        access(FAKESMSC, X_OK) != 0) {
        FAIL("Kannel is not installed (packages kannel, kannel-extras; "
             "./dev test installs them)");
        return -1;
    }
    snprintf(k->dir, sizeof(k->dir), "%s", dir);
    snprintf(k->conf, sizeof(k->conf), "%s/kannel.conf", dir);
    snprintf(k->secret, sizeof(k->secret), "%s", secret);
    k->tipd_port = tipd_port;
    k->admin_port = e2e_free_port();
    k->smsbox_port = e2e_free_port();
    k->smsc_port = e2e_free_port();
    if (write_conf(k, opt) != 0)
        return -1;
    char log[400];
    snprintf(log, sizeof(log), "%s/bearerbox.out", dir);
    char *argv[] = {BEARERBOX, k->conf, NULL};
    k->bearerbox = spawn(BEARERBOX, argv, log);
    if (k->bearerbox < 0) {
        FAIL("cannot start bearerbox");
        return -1;
    }
    for (int i = 0; i < 100 && !listening(k->smsbox_port); i++) {
        if (!alive(k->bearerbox))
            break;
        e2e_sleep_ms(100);
    }
    if (!listening(k->smsbox_port)) {
        FAIL("bearerbox does not listen on its smsbox port");
        tail(dir, "bearerbox.out");
        tail(dir, "bearerbox.log");
        return -1;
    }
    return start_smsbox(k);
}

int kannel_restart_smsbox(struct kannel *k, const struct kannel_options *opt)
{
    kill_reap(&k->smsbox);
    if (write_conf(k, opt) != 0)
        return -1;
    char old[400], keep[420];
    snprintf(old, sizeof(old), "%s/smsbox.log", k->dir);
    snprintf(keep, sizeof(keep), "%s/smsbox.log.1", k->dir);
    rename(old, keep);
    return start_smsbox(k);
}

int kannel_smsbox_log_count(const struct kannel *k, const char *needle)
{
    char path[400], line[8192];
    snprintf(path, sizeof(path), "%s/smsbox.log", k->dir);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    int n = 0;
    while (fgets(line, sizeof(line), f) != NULL)
        if (strstr(line, needle) != NULL)
            n++;
    fclose(f);
    return n;
}

/* fakesmsc's url encoding back to bytes. */
static size_t url_decode(const char *in, size_t len, unsigned char *out,
                         size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o < cap; i++) {
        if (in[i] == '%' && i + 2 < len && util_hexval(in[i + 1]) >= 0 &&
            util_hexval(in[i + 2]) >= 0) {
            out[o++] = (unsigned char)(util_hexval(in[i + 1]) << 4 |
                                       util_hexval(in[i + 2]));
            i += 2;
        } else if (in[i] == '+') {
            out[o++] = ' ';
        } else {
            out[o++] = (unsigned char)in[i];
        }
    }
    return o;
}

/* UTF-16BE to UTF-8 (BMP and surrogate pairs); a bad unit becomes '?'. */
static size_t utf16_to_utf8(const unsigned char *in, size_t len, char *out,
                            size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i + 1 < len && o + 5 < cap; i += 2) {
        unsigned cp = (unsigned)in[i] << 8 | in[i + 1];
        if (cp >= 0xd800 && cp <= 0xdbff && i + 3 < len) {
            unsigned lo = (unsigned)in[i + 2] << 8 | in[i + 3];
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 2;
        }
        o += utf8_encode((uint32_t)cp, out + o);
    }
    out[o] = '\0';
    return o;
}

/* Finds "Got message N: <from to type data>" in log; 0 and the parts, or
 * -1. */
static int parse_reply(const char *log, char *type, char *data, size_t cap)
{
    FILE *f = fopen(log, "r");
    if (f == NULL)
        return -1;
    static char line[65536];
    int rc = -1;
    while (rc < 0 && fgets(line, sizeof(line), f) != NULL) {
        char *p = strstr(line, "Got message ");
        if (p == NULL || (p = strstr(p, ": <")) == NULL)
            continue;
        p += 3;
        char *end = strrchr(p, '>');
        if (end == NULL)
            continue;
        *end = '\0';
        /* from, to, type, data: split at the first three spaces. */
        char *fields[4] = {p, NULL, NULL, NULL};
        for (int i = 1; i < 4 && fields[i - 1] != NULL; i++) {
            char *sp = strchr(fields[i - 1], ' ');
            if (sp != NULL) {
                *sp = '\0';
                fields[i] = sp + 1;
            }
        }
        if (fields[3] == NULL)
            continue;
        snprintf(type, 16, "%s", fields[2]);
        unsigned char *bytes = malloc(cap);
        size_t n = url_decode(fields[3], strlen(fields[3]), bytes, cap - 1);
        if (strcmp(fields[2], "ucs-2") == 0 || strcmp(fields[2], "ucs2") == 0) {
            rc = (int)utf16_to_utf8(bytes, n, data, cap);
        } else {
            memcpy(data, bytes, n);
            data[n] = '\0';
            rc = (int)n;
        }
        free(bytes);
    }
    fclose(f);
    return rc;
}

/* Whether the file at path contains needle. */
static bool log_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    char line[8192];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f) != NULL)
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

int kannel_send(struct kannel *k, const char *line)
{
    char port[16];
    /* One SMSC connection at a time: the previous fakesmsc goes (its
     * message was handed over before kannel_send returned). */
    kill_reap(&k->fakesmsc);
    k->messages++;
    snprintf(k->log, sizeof(k->log), "%s/fakesmsc-%02d.log", k->dir,
             k->messages);
    snprintf(port, sizeof(port), "%d", k->smsc_port);
    char *argv[] = {FAKESMSC, "-H", "127.0.0.1",  "-r", port,
                    "-m",     "1",  (char *)line, NULL};
    k->fakesmsc = spawn(FAKESMSC, argv, k->log);
    if (k->fakesmsc <= 0)
        return -1;
    for (int i = 0; i < 100 && alive(k->fakesmsc); i++) {
        if (log_has(k->log, "sent message"))
            return 0;
        e2e_sleep_ms(50);
    }
    FAIL("fakesmsc did not hand its message to bearerbox");
    return -1;
}

int kannel_reply(struct kannel *k, int timeout_ms, char *type, char *data,
                 size_t cap)
{
    int rc = -1;
    uint64_t end = e2e_now_ms() + (uint64_t)timeout_ms;
    while (k->fakesmsc > 0 && e2e_now_ms() < end) {
        e2e_sleep_ms(100);
        rc = parse_reply(k->log, type, data, cap);
        if (rc >= 0 || !alive(k->fakesmsc))
            break;
    }
    kill_reap(&k->fakesmsc);
    return rc;
}

int kannel_mo(struct kannel *k, const char *line, int timeout_ms, char *type,
              char *data, size_t cap)
{
    if (kannel_send(k, line) != 0)
        return -1;
    return kannel_reply(k, timeout_ms, type, data, cap);
}

/* Removes the files Kannel and fakesmsc wrote in dir (their logs hold
 * the test's numbers), then dir itself if that left it empty. */
static void remove_files(const char *dir)
{
    static const char *const prefixes[] = {"kannel.", "bearerbox.", "smsbox.",
                                           "access.", "fakesmsc-"};
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    char path[600];
    while ((de = readdir(d)) != NULL)
        for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
            if (strncmp(de->d_name, prefixes[i], strlen(prefixes[i])) == 0) {
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                unlink(path);
                break;
            }
    closedir(d);
    rmdir(dir);
}

void kannel_stop(struct kannel *k)
{
    kill_reap(&k->fakesmsc);
    kill_reap(&k->smsbox);
    kill_reap(&k->bearerbox);
    if (k->dir[0] == '\0')
        return;
    if (test_failed()) {
        tail(k->dir, "bearerbox.log");
        tail(k->dir, "smsbox.log");
    } else {
        remove_files(k->dir);
    }
}
