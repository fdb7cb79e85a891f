/*
 * Unit tests of utf8 and form: strict UTF-8, urlencoded and multipart
 * bodies as browsers send them, every limit at and one past its bound.
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "form.h"
#include "test.h"
#include "utf8.h"

void test_utf8_strict(void)
{
    static const char *const good[] = {"",
                                       "abc",
                                       "举报",
                                       "\xf0\x9f\x98\x80",
                                       "\xed\x9f\xbf",
                                       "\xf4\x8f\xbf\xbf"};
    static const char *const bad[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xe4\xb8",         /* cut short */
        "\x80",             /* lone continuation */
        "\xff",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CHECK(utf8_valid(good[i], strlen(good[i])));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (utf8_valid(bad[i], strlen(bad[i])))
            test_failf(__FILE__, __LINE__, "bad sequence %zu accepted", i);
    CHECK_INT(utf8_count("举报a", strlen("举报a")), 3);
    CHECK(!utf8_has_controls("a\tb", 3, false));
    CHECK(utf8_has_controls("a\nb", 3, false));
    CHECK(!utf8_has_controls("a\r\nb", 4, true));
    CHECK(utf8_has_controls("a\x01", 2, true));
    CHECK(utf8_has_controls("a\x7f", 2, true));
    CHECK(utf8_has_controls("\xc2\x85", 2, true)); /* NEL, a C1 control */
    CHECK(!utf8_has_controls("\xc2\xa0", 2, true));
}

static const struct form_limits limits = {.max_fields = 4,
                                          .max_name_bytes = 16,
                                          .max_value_bytes = 32,
                                          .max_files = 1,
                                          .max_file_bytes = 64};

static int url(const char *body, struct form *f, struct arena *a)
{
    const char *why = NULL;
    return form_parse_urlencoded(a, body, strlen(body), &limits, f, &why);
}

void test_form_urlencoded(void)
{
    struct arena a;
    struct form f;
    arena_init(&a, 1024);
    CHECK_INT(
        url("content=%E4%B8%BE%E6%8A%A5+a%2Bb&region=410105&&flag", &f, &a), 0);
    CHECK_INT(f.count, 3);
    CHECK_STR(form_get(&f, "content")->value, "举报 a+b");
    CHECK_STR(form_get(&f, "region")->value, "410105");
    CHECK_STR(form_get(&f, "flag")->value, "");
    CHECK(form_get(&f, "nope") == NULL);
    CHECK_INT(url("a=%zz", &f, &a), 400);
    CHECK_INT(url("a=%4", &f, &a), 400);
    CHECK_INT(url("a=%ff", &f, &a), 400); /* not UTF-8 */
    CHECK_INT(url("a=1&b=2&c=3&d=4", &f, &a), 0);
    CHECK_INT(url("a=1&b=2&c=3&d=4&e=5", &f, &a), 413);
    char v[80];
    snprintf(v, sizeof(v), "a=%032d", 0);
    CHECK_INT(url(v, &f, &a), 0);
    snprintf(v, sizeof(v), "a=%033d", 0);
    CHECK_INT(url(v, &f, &a), 413);
    arena_cleanup(&a);
}

#define CT "multipart/form-data; boundary=----WebKitFormBoundaryX7a"

static int multi(const char *ct, const char *body, size_t len, struct form *f,
                 struct arena *a)
{
    const char *why = NULL;
    return form_parse_multipart(a, ct, strlen(ct), body, len, &limits, f, &why);
}

void test_form_multipart(void)
{
    struct arena a;
    struct form f;
    arena_init(&a, 4096);
    /* As Chromium sends it: a text field in Chinese and a binary file
     * whose bytes include NUL, CRLF and a near-boundary line. */
    static const char body[] =
        "------WebKitFormBoundaryX7a\r\n"
        "Content-Disposition: form-data; name=\"content\"\r\n\r\n"
        "某局长收受贿赂\r\n第二行\r\n"
        "------WebKitFormBoundaryX7a\r\n"
        "Content-Disposition: form-data; name=\"file\"; "
        "filename=\"C:\\\\Users\\\\me\\\\证据.png\"\r\n"
        "Content-Type: image/png\r\n\r\n"
        "\x89PNG\0\r\n------WebKitFormBoundaryX7\r\nend"
        "\r\n------WebKitFormBoundaryX7a--\r\n";
    CHECK_INT(multi(CT, body, sizeof(body) - 1, &f, &a), 0);
    CHECK_INT(f.count, 2);
    CHECK_STR(f.fields[0].name, "content");
    CHECK_STR(f.fields[0].value, "某局长收受贿赂\r\n第二行");
    CHECK(f.fields[0].filename == NULL);
    CHECK_STR(f.fields[1].filename, "证据.png");
    CHECK_STR(f.fields[1].content_type, "image/png");
    CHECK_INT(f.fields[1].value_len, 38);
    CHECK(memcmp(f.fields[1].value, "\x89PNG\0\r\n", 7) == 0);

    /* A quoted boundary and a preamble. */
    static const char quoted[] = "preamble\r\n--b1\r\nContent-Disposition: "
                                 "form-data; name=a\r\n\r\nx\r\n--b1--";
    CHECK_INT(multi("multipart/form-data; boundary=\"b1\"", quoted,
                    sizeof(quoted) - 1, &f, &a),
              0);
    CHECK_STR(form_get(&f, "a")->value, "x");
    arena_cleanup(&a);
}

void test_form_limits_and_malformed(void)
{
    struct arena a;
    struct form f;
    char body[1024];
    arena_init(&a, 4096);

    /* One file of 64 bytes is fine; 65 bytes, or a second file, is 413. */
    for (int size = 64; size <= 65; size++) {
        int n = snprintf(body, sizeof(body),
                         "--b\r\nContent-Disposition: form-data; name=\"f\"; "
                         "filename=\"a.txt\"\r\n\r\n%0*d\r\n--b--",
                         size, 0);
        CHECK_INT(
            multi("multipart/form-data; boundary=b", body, (size_t)n, &f, &a),
            size == 64 ? 0 : 413);
    }
    static const char two[] = "--b\r\nContent-Disposition: form-data; "
                              "name=f; filename=a\r\n\r\nx\r\n--b\r\n"
                              "Content-Disposition: form-data; name=g; "
                              "filename=b\r\n\r\ny\r\n--b--";
    CHECK_INT(
        multi("multipart/form-data; boundary=b", two, sizeof(two) - 1, &f, &a),
        413);

    static const struct {
        const char *ct, *body;
        int status;
    } bad[] = {
        {"multipart/form-data", "--b\r\n\r\n--b--", 400}, /* no boundary */
        {"text/plain; boundary=b", "--b--", 415},
        {"multipart/form-data; boundary=b",
         "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx", 400},
        {"multipart/form-data; boundary=b",
         "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--", 400},
        {"multipart/form-data; boundary=b",
         "--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--",
         400},
        {"multipart/form-data; boundary=b",
         "--b\r\nContent-Disposition: form-data; name=a; filename=\"../\"\r\n"
         "\r\nx\r\n--b--",
         400},
        {"multipart/form-data; boundary=b",
         "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\xff\r\n--b--",
         400},
        {"multipart/form-data; boundary=b", "no boundary here", 400},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int status = multi(bad[i].ct, bad[i].body, strlen(bad[i].body), &f, &a);
        if (status != bad[i].status)
            test_failf(__FILE__, __LINE__, "case %zu: %d, expected %d", i,
                       status, bad[i].status);
    }
    arena_cleanup(&a);
}
