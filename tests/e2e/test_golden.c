/*
 * e2e golden: raw HTTP requests and the exact responses tipd must give,
 * from tests/golden/ (format in tests/golden/README.md). Each request goes
 * on a fresh connection; the bytes received, with every Date value masked
 * as "*", must equal NAME.response byte for byte. The connection must then
 * do what the last response's headers promise: close after
 * "Connection: close", else stay open and serve a next request.
 *
 * TIPD_GOLDEN_UPDATE=1 rewrites the .response files from what tipd says
 * and fails the test, so that a rewrite is always reviewed (git diff).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "test.h"

#define GOLDEN_DIR TIPD_SOURCE_DIR "/tests/golden"
#define GOLDEN_MAX 65536
#define GOLDEN_CASES 64

/* tipd's settings for the golden run; README.md lists them too. */
static const char *const golden_sets[] = {
    "max_request_line_bytes=64", "max_header_line_bytes=64",
    "max_header_count=16",       "max_head_bytes=1024",
    "rate_limit_per_minute=0",   NULL};

/* Cases that must exist: deleting one must not pass unnoticed. */
static const char *const required[] = {
    "healthz_get",          "healthz_head",
    "not_found_keepalive",  "readyz_post_405",
    "missing_host_400",     "uri_too_long_414",
    "header_too_large_431", "te_gzip_501",
    "body_too_large_413",   "pipelined_second_close",
    "http10_get_closes",
};

/* Reads a golden file, decoding \xHH and \\. Returns the length, or -1
 * with why set. */
static long read_golden(const char *path, char *out, size_t cap, char *why,
                        size_t whycap)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(why, whycap, "%s: %s", path, strerror(errno));
        return -1;
    }
    static char raw[GOLDEN_MAX];
    size_t n = fread(raw, 1, sizeof(raw), f);
    fclose(f);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o + 1 >= cap) {
            snprintf(why, whycap, "%s: too large", path);
            return -1;
        }
        if (raw[i] != '\\') {
            out[o++] = raw[i];
            continue;
        }
        if (i + 1 < n && raw[i + 1] == '\\') {
            out[o++] = '\\';
            i++;
            continue;
        }
        char hex[3] = {0};
        char *end = NULL;
        if (i + 3 < n && raw[i + 1] == 'x') {
            hex[0] = raw[i + 2];
            hex[1] = raw[i + 3];
            long v = strtol(hex, &end, 16);
            if (end == hex + 2) {
                out[o++] = (char)v;
                i += 3;
                continue;
            }
        }
        snprintf(why, whycap,
                 "%s: byte %zu: a backslash must start \\\\ or \\xHH", path, i);
        return -1;
    }
    out[o] = '\0';
    return (long)o;
}

/* Writes data in the golden encoding. */
static int write_golden(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)data[i];
        if (ch == '\\')
            fputs("\\\\", f);
        else if ((ch < 0x20 && ch != '\r' && ch != '\n' && ch != '\t') ||
                 ch >= 0x7f)
            fprintf(f, "\\x%02x", ch);
        else
            fputc(ch, f);
    }
    return fclose(f);
}

/* Copies data with each Date header's value replaced by "*". */
static size_t mask_date(const char *data, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap;) {
        if (len - i >= 8 && memcmp(data + i, "\r\nDate: ", 8) == 0) {
            memcpy(out + o, "\r\nDate: *", 9);
            o += 9;
            i += 8;
            while (i < len && data[i] != '\r')
                i++;
            continue;
        }
        out[o++] = data[i++];
    }
    out[o] = '\0';
    return o;
}

/* Whether the last response in data says Connection: close. */
static bool last_says_close(const char *data, size_t len)
{
    const char *last = NULL;
    for (size_t i = 0; i + 7 <= len; i++)
        if ((i == 0 || data[i - 1] == '\n') &&
            memcmp(data + i, "HTTP/1.", 7) == 0)
            last = data + i;
    if (last == NULL)
        return false;
    const char *end = strstr(last, "\r\n\r\n");
    const char *c = strstr(last, "\r\nConnection: close\r\n");
    return c != NULL && end != NULL && c < end;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs one case; returns true if it matched (or was rewritten). */
static bool run_case(struct e2e *e, const char *name, bool update)
{
    static char req[GOLDEN_MAX], want[GOLDEN_MAX], got[GOLDEN_MAX];
    static char esc_want[4096], esc_got[4096];
    char path[512], why[600];
    snprintf(path, sizeof(path), GOLDEN_DIR "/%s.request", name);
    long req_len = read_golden(path, req, sizeof(req), why, sizeof(why));
    if (req_len < 0) {
        test_failf(__FILE__, __LINE__, "%s", why);
        return false;
    }
    snprintf(path, sizeof(path), GOLDEN_DIR "/%s.response", name);
    long want_len = read_golden(path, want, sizeof(want), why, sizeof(why));
    if (want_len < 0 && !update) {
        test_failf(__FILE__, __LINE__, "%s (TIPD_GOLDEN_UPDATE=1 writes it)",
                   why);
        return false;
    }

    int fd = e2e_connect(e);
    if (fd < 0) {
        test_failf(__FILE__, __LINE__, "%s: cannot connect", name);
        return false;
    }
    struct e2e_reply r;
    e2e_reply_init(&r);
    e2e_send(fd, req, (size_t)req_len);
    /* Read to EOF, or until the expected length has arrived and nothing
     * more comes for 300 ms. */
    uint64_t end = e2e_now_ms() + 5000;
    size_t got_len = 0;
    while (!r.eof && !r.reset && e2e_now_ms() < end) {
        got_len = mask_date(r.data ? r.data : "", r.len, got, sizeof(got));
        bool enough = want_len >= 0 && got_len >= (size_t)want_len;
        int wait = enough ? 300 : (int)(end - e2e_now_ms());
        if (e2e_read_more(fd, &r, wait) < 0 && enough)
            break;
    }
    got_len = mask_date(r.data ? r.data : "", r.len, got, sizeof(got));

    bool ok = true;
    if (update) {
        if (write_golden(path, got, got_len) != 0) {
            test_failf(__FILE__, __LINE__, "cannot write %s", path);
            ok = false;
        } else {
            printf("golden: wrote %s\n", path);
        }
    } else if (got_len != (size_t)want_len || memcmp(got, want, got_len) != 0) {
        e2e_escape(want, (size_t)want_len, esc_want, sizeof(esc_want));
        e2e_escape(got, got_len, esc_got, sizeof(esc_got));
        test_failf(__FILE__, __LINE__,
                   "golden %s differs\n  want: %s\n  got:  %s", name, esc_want,
                   esc_got);
        ok = false;
    }

    /* The connection does what the headers said. */
    if (ok && got_len > 0) {
        if (last_says_close(got, got_len)) {
            if (!r.eof && !r.reset)
                e2e_read(fd, &r, 0, 3000);
            if (!r.eof) {
                test_failf(__FILE__, __LINE__,
                           "golden %s: Connection: close, but %s", name,
                           r.reset ? "reset" : "not closed within 3 s");
                ok = false;
            }
        } else if (r.eof || r.reset) {
            test_failf(__FILE__, __LINE__,
                       "golden %s: closed without Connection: close", name);
            ok = false;
        } else {
            static const char next[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                       "Connection: close\r\n\r\n";
            struct e2e_reply r2;
            e2e_reply_init(&r2);
            e2e_send(fd, next, sizeof(next) - 1);
            e2e_read(fd, &r2, 0, 3000);
            if (r2.count != 1 || r2.r[0].status != 200) {
                e2e_escape(r2.data, r2.len, esc_got, sizeof(esc_got));
                test_failf(__FILE__, __LINE__,
                           "golden %s: kept alive, but the next request got "
                           "'%s'",
                           name, esc_got);
                ok = false;
            }
            e2e_reply_free(&r2);
        }
    }
    close(fd);
    e2e_reply_free(&r);
    return ok;
}

static void golden_raw_http(struct e2e *e)
{
    const char *env = getenv("TIPD_GOLDEN_UPDATE");
    bool update = env != NULL && strcmp(env, "1") == 0;
    static char names[GOLDEN_CASES][128];
    char *sorted[GOLDEN_CASES];
    int count = 0;

    DIR *d = opendir(GOLDEN_DIR);
    CHECK(d != NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL && count < GOLDEN_CASES) {
        size_t len = strlen(de->d_name);
        if (len > 8 && len < 120 &&
            strcmp(de->d_name + len - 8, ".request") == 0) {
            memcpy(names[count], de->d_name, len - 8);
            names[count][len - 8] = '\0';
            sorted[count] = names[count];
            count++;
        }
    }
    closedir(d);
    qsort(sorted, (size_t)count, sizeof(sorted[0]), compare_names);
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        bool found = false;
        for (int k = 0; k < count; k++)
            found = found || strcmp(sorted[k], required[i]) == 0;
        if (!found)
            test_failf(__FILE__, __LINE__, "golden case %s.request missing",
                       required[i]);
    }
    if (test_failed())
        return;

    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_start(e, golden_sets), 0);
    int passed = 0;
    for (int k = 0; k < count; k++)
        passed += run_case(e, sorted[k], update);
    printf("golden: %d of %d cases match\n", passed, count);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
    if (update)
        test_failf(__FILE__, __LINE__,
                   "TIPD_GOLDEN_UPDATE=1: .response files rewritten; review "
                   "them (git diff tests/golden) and rerun without it");
}

void test_golden_raw_http(void)
{
    struct e2e e;
    if (e2e_init(&e, "golden_raw_http") == 0)
        golden_raw_http(&e);
    e2e_cleanup(&e);
}
