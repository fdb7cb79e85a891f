/*
 * Unit tests of form: urlencoded and multipart bodies as browsers and SMS
 * gateways send them, the syntax corners of RFC 7578 and RFC 2046, every
 * limit at and one past its bound, and the malformed bodies that must be
 * refused with the right status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "form.h"
#include "test.h"

/* Small limits, so each can be reached at and one past its bound. */
static const struct form_limits limits = {.max_fields = 4,
                                          .max_name_bytes = 16,
                                          .max_value_bytes = 32,
                                          .max_files = 1,
                                          .max_file_bytes = 64};

/* Limits like the public report form's. */
static const struct form_limits wide = {.max_fields = 32,
                                        .max_name_bytes = 64,
                                        .max_value_bytes = 65536,
                                        .max_files = 3,
                                        .max_file_bytes = 2 << 20};

static int url(struct arena *a, const char *body, struct form *f)
{
    const char *why = NULL;
    int status = form_parse_urlencoded(a, body, strlen(body), &limits, f, &why);
    if ((status == 0) != (why == NULL))
        return -1; /* a reason exactly when refused */
    return status;
}

static int multi_lim(struct arena *a, const char *ct, const char *body,
                     size_t len, const struct form_limits *lim, struct form *f)
{
    const char *why = NULL;
    int status =
        form_parse_multipart(a, ct, strlen(ct), body, len, lim, f, &why);
    if ((status == 0) != (why == NULL) || (status != 0 && f->count != 0))
        return -1; /* a reason exactly when refused; nothing returned */
    return status;
}

static int multi(struct arena *a, const char *ct, const char *body,
                 struct form *f)
{
    return multi_lim(a, ct, body, strlen(body), &limits, f);
}

#define CT_B "multipart/form-data; boundary=b"
/* 70 characters, some of them special. */
#define B70                                                                    \
    "'()+_,-./:=? 012345678901234567890123456789012345678901234567890123456"

void test_form_urlencoded(void)
{
    struct arena a;
    struct form f;
    arena_init(&a, 1024);
    CHECK_INT(
        url(&a, "content=%E4%B8%BE%E6%8A%A5+a%2Bb&region=410105&&flag", &f), 0);
    CHECK_INT(f.count, 3);
    CHECK_STR(form_get(&f, "content")->value, "举报 a+b");
    CHECK_INT(form_get(&f, "content")->value_len, strlen("举报 a+b"));
    CHECK_STR(form_get(&f, "region")->value, "410105");
    CHECK_STR(form_get(&f, "flag")->value, "");
    CHECK_INT(form_get(&f, "flag")->value_len, 0);
    CHECK(form_get(&f, "flag")->filename == NULL);
    CHECK(form_get(&f, "flag")->content_type == NULL);
    CHECK(form_get(&f, "nope") == NULL);

    /* '+' and %XX in names too, either case of hex; '=' in a value; an
     * empty name; separators at both ends. */
    CHECK_INT(url(&a, "&my+name=%e6%9f%90%20%25%2B=&=x&", &f), 0);
    CHECK_INT(f.count, 2);
    CHECK_STR(f.fields[0].name, "my name");
    CHECK_STR(f.fields[0].value, "某 %+=");
    CHECK_STR(f.fields[1].name, "");
    CHECK_STR(f.fields[1].value, "x");

    /* Raw UTF-8 passes through; the first of two equal names wins. */
    CHECK_INT(url(&a, "a=举报&a=2", &f), 0);
    CHECK_INT(f.count, 2);
    CHECK_STR(form_get(&f, "a")->value, "举报");

    /* A NUL inside a name is kept and counted, and is not "a". */
    CHECK_INT(url(&a, "a%00b=1&a=2", &f), 0);
    CHECK_INT(f.fields[0].name_len, 3);
    CHECK_STR(form_get(&f, "a")->value, "2");

    /* The length bounds the body, not a NUL. */
    const char *why = NULL;
    CHECK_INT(form_parse_urlencoded(&a, "a=1&b=2", 3, &limits, &f, &why), 0);
    CHECK_INT(f.count, 1);
    CHECK(why == NULL);
    CHECK_INT(form_parse_urlencoded(&a, "", 0, &limits, &f, &why), 0);
    CHECK_INT(f.count, 0);

    /* Bad escapes. */
    static const char *const bad_escape[] = {"a=%zz", "a=%4",  "a=%",
                                             "%g0=1", "a=1%2", "a=%%41"};
    for (size_t i = 0; i < sizeof(bad_escape) / sizeof(bad_escape[0]); i++)
        if (url(&a, bad_escape[i], &f) != 400 || f.count != 0)
            test_failf(__FILE__, __LINE__, "bad escape %zu not 400", i);

    /* Not UTF-8 text: a stray byte, an overlong '/', a surrogate, in a
     * value or a name; a NUL in a value. */
    static const char *const not_utf8[] = {
        "a=%ff", "a=%C0%AF", "a=%ED%A0%80", "%ff=1", "a=%E4%B8",
        /* A NUL would end the value's C string early: the rest lost. */
        "a=x%00y"};
    for (size_t i = 0; i < sizeof(not_utf8) / sizeof(not_utf8[0]); i++)
        if (url(&a, not_utf8[i], &f) != 400)
            test_failf(__FILE__, __LINE__, "non-UTF-8 %zu not 400", i);

    /* raw_values (Kannel's UTF-16 text): any value bytes, names UTF-8. */
    struct form_limits raw = limits;
    raw.raw_values = true;
    CHECK_INT(form_parse_urlencoded(&a, "text=%00%FF%D8", 14, &raw, &f, &why),
              0);
    CHECK_INT(form_get(&f, "text")->value_len, 3);
    CHECK(memcmp(form_get(&f, "text")->value, "\x00\xff\xd8", 3) == 0);
    CHECK_INT(form_parse_urlencoded(&a, "%FF=1", 5, &raw, &f, &why), 400);
    arena_cleanup(&a);
}

/* Chromium's boundary: "----WebKitFormBoundary" and 16 random characters. */
#define WK "----WebKitFormBoundaryrGKCBY7qhFd3TrwA"
#define WK_CT "multipart/form-data; boundary=" WK
#define WK_CUT "----WebKitFormBoundaryrGKCBY7qhFd3Trw"

/* A PNG-like file: NULs, CRLFs, a line that is the boundary cut short, the
 * boundary followed by more characters, by padding and junk, by one dash,
 * and the boundary in the middle of a line; none of them is a delimiter.
 * It ends in CRLF, which is content too. */
static const char file_bytes[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0"
                                 "\r\n--" WK_CUT "\r\n"
                                 "\r\n--" WK "X\r\n"
                                 "\r\n--" WK " x\r\n"
                                 "\r\n--" WK "-\r\n"
                                 "x--" WK "\r\n"
                                 "\xff\xfe\0\r\n";

void test_form_multipart(void)
{
    struct arena a;
    struct form f;
    arena_init(&a, 4096);
    /* As Chromium sends the report form with JavaScript off: text fields
     * in Chinese (one empty, one with a Chinese name), one file, and a
     * second file input left empty. */
    static const char body[] =
        "--" WK "\r\n"
        "Content-Disposition: form-data; name=\"content\"\r\n\r\n"
        "某局长收受贿赂\r\n第二行\r\n"
        "--" WK "\r\n"
        "Content-Disposition: form-data; name=\"region\"\r\n\r\n"
        "410105\r\n"
        "--" WK "\r\n"
        "Content-Disposition: form-data; name=\"accused_name\"\r\n\r\n"
        "\r\n"
        "--" WK "\r\n"
        "Content-Disposition: form-data; name=\"备注\"\r\n\r\n"
        "无\r\n"
        "--" WK "\r\n"
        "Content-Disposition: form-data; name=\"attachment\"; "
        "filename=\"证据 1.png\"\r\n"
        "Content-Type: image/png\r\n\r\n";
    static const char tail[] =
        "\r\n--" WK "\r\n"
        "Content-Disposition: form-data; name=\"attachment\"; "
        "filename=\"\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
        "\r\n--" WK "--\r\n";
    size_t fl = sizeof(file_bytes) - 1;
    char *buf = malloc(sizeof(body) + fl + sizeof(tail));
    CHECK(buf != NULL);
    size_t len = 0;
    memcpy(buf, body, sizeof(body) - 1);
    len += sizeof(body) - 1;
    memcpy(buf + len, file_bytes, fl);
    len += fl;
    memcpy(buf + len, tail, sizeof(tail) - 1);
    len += sizeof(tail) - 1;
    int status = multi_lim(&a, WK_CT, buf, len, &wide, &f);
    free(buf);
    CHECK_INT(status, 0);

    CHECK_INT(f.count, 5); /* the empty file input is not returned */
    CHECK_STR(f.fields[0].name, "content");
    CHECK_STR(f.fields[0].value, "某局长收受贿赂\r\n第二行");
    CHECK(f.fields[0].filename == NULL);
    CHECK(f.fields[0].content_type == NULL);
    CHECK_STR(form_get(&f, "region")->value, "410105");
    CHECK_STR(form_get(&f, "accused_name")->value, "");
    CHECK_INT(form_get(&f, "accused_name")->value_len, 0);
    CHECK_STR(form_get(&f, "备注")->value, "无");

    const struct form_field *x = form_get(&f, "attachment");
    CHECK(x == &f.fields[4]);
    CHECK_STR(x->filename, "证据 1.png");
    CHECK_STR(x->content_type, "image/png");
    CHECK_INT(x->value_len, fl);
    CHECK(memcmp(x->value, file_bytes, fl) == 0);
    CHECK_INT(x->value[fl], '\0');

    /* A quoted boundary, a preamble and an epilogue that looks like more
     * parts. */
    static const char quoted[] =
        "preamble\r\n--b1\r\nContent-Disposition: form-data; name=a\r\n\r\n"
        "x\r\n--b1--\r\nepilogue\r\n--b1\r\nContent-Disposition: "
        "form-data; name=b\r\n\r\ny\r\n--b1--\r\n";
    CHECK_INT(multi(&a, "multipart/form-data; boundary=\"b1\"", quoted, &f), 0);
    CHECK_INT(f.count, 1);
    CHECK_STR(form_get(&f, "a")->value, "x");

    /* curl's shape: a long dashed boundary, a declared text type. */
    static const char curl[] =
        "--------------------------d74496d66958873e\r\n"
        "Content-Disposition: form-data; name=\"content\"\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n\r\n"
        "举报\r\n"
        "--------------------------d74496d66958873e--\r\n";
    CHECK_INT(multi(&a,
                    "multipart/form-data; "
                    "boundary=------------------------d74496d66958873e",
                    curl, &f),
              0);
    CHECK_STR(f.fields[0].value, "举报");
    CHECK_STR(f.fields[0].content_type, "text/plain; charset=UTF-8");

    /* No parts at all is an empty form. */
    CHECK_INT(multi(&a, CT_B, "--b--", &f), 0);
    CHECK_INT(f.count, 0);
    arena_cleanup(&a);
}

void test_form_multipart_syntax(void)
{
    struct arena a;
    struct form f;
    arena_init(&a, 4096);

    /* Media type and parameter names in any case, blanks around them,
     * other parameters; a Content-Type that is not NUL-terminated. */
    static const char one[] = "--b\r\nContent-Disposition: form-data; "
                              "name=a\r\n\r\nx\r\n--b--";
    CHECK_INT(
        multi(&a, "Multipart/Form-Data ;charset=utf-8; BOUNDARY=b ", one, &f),
        0);
    CHECK_STR(form_get(&f, "a")->value, "x");
    char ct[64];
    memcpy(ct, CT_B "xyz", sizeof(CT_B "xyz"));
    const char *why = NULL;
    CHECK_INT(form_parse_multipart(&a, ct, strlen(CT_B), one, strlen(one),
                                   &limits, &f, &why),
              0);
    CHECK_INT(f.count, 1);

    /* A boundary of 70 characters, some of them special, quoted. */
    _Static_assert(sizeof(B70) - 1 == 70, "a boundary of 70 characters");
    static const char b70[] = "--" B70 "\r\nContent-Disposition: form-data; "
                              "name=a\r\n\r\nx\r\n--" B70 "--";
    CHECK_INT(multi(&a, "multipart/form-data; boundary=\"" B70 "\"", b70, &f),
              0);
    CHECK_STR(form_get(&f, "a")->value, "x");

    /* Header names in any case; transport padding after a delimiter; a
     * quoted name holding ';', an escaped quote and "filename=". */
    static const char names[] =
        "--b \t\r\ncontent-disposition: FORM-DATA; NAME=\"a;filename=x\\\"y\""
        "\r\n\r\n1\r\n--b\r\nContent-Disposition:form-data;name=\"c\\\\d\""
        "\r\n\r\n2\r\n--b--";
    CHECK_INT(multi(&a, CT_B, names, &f), 0);
    CHECK_INT(f.count, 2);
    CHECK_STR(f.fields[0].name, "a;filename=x\"y");
    CHECK(f.fields[0].filename == NULL);
    CHECK_STR(f.fields[1].name, "c\\d");

    /* File names: only the basename is kept, whether the backslashes of a
     * Windows path were escaped or sent as they are (old browsers). */
    static const struct {
        const char *param, *filename;
    } files[] = {
        {"filename=\"C:\\\\Users\\\\me\\\\证据.png\"", "证据.png"},
        {"filename=\"C:\\Users\\me\\证据.png\"", "证据.png"},
        {"filename=\"../../etc/passwd\"", "passwd"},
        {"filename=a.txt", "a.txt"},
        {"filename=\"say \\\"hi\\\".txt\"", "say \"hi\".txt"},
        {"filename*=UTF-8''%E8%AF%81%E6%8D%AE.txt; filename=\"fallback.txt\"",
         "证据.txt"},
        {"filename=\"fallback.txt\"; filename*=utf-8'zh'%E8%AF%81.txt",
         "证.txt"},
        {"filename*=ISO-8859-1''%A3.txt; filename=\"plain.txt\"", "plain.txt"},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "--b\r\nContent-Disposition: form-data; name=f; %s\r\n\r\n"
                 "data\r\n--b--",
                 files[i].param);
        int status = multi(&a, CT_B, body, &f);
        if (status != 0 || f.count != 1 || f.fields[0].filename == NULL ||
            strcmp(f.fields[0].filename, files[i].filename) != 0)
            test_failf(
                __FILE__, __LINE__, "file name %zu: %d, \"%s\"", i, status,
                status == 0 && f.fields[0].filename ? f.fields[0].filename
                                                    : "(null)");
    }

    /* Linear time: a 1 MiB file of near-delimiters (each the longest
     * boundary less its last character) parses within the unit timeout;
     * a decoder that searched again from the start would not. */
    static const char lb[] = "0123456789012345678901234567890123456789"
                             "012345678901234567890123456789";
    size_t chunk = 4 + sizeof(lb) - 2, reps = (1u << 20) / chunk;
    size_t cap = 512 + chunk * reps;
    char *big = malloc(cap);
    CHECK(big != NULL);
    size_t n = (size_t)snprintf(big, cap,
                                "--%s\r\nContent-Disposition: form-data; "
                                "name=f; filename=big\r\n\r\n",
                                lb);
    for (size_t i = 0; i < reps; i++) {
        memcpy(big + n, "\r\n--", 4);
        memcpy(big + n + 4, lb, sizeof(lb) - 2);
        n += chunk;
    }
    n += (size_t)snprintf(big + n, cap - n, "\r\n--%s--\r\n", lb);
    char bct[128];
    snprintf(bct, sizeof(bct), "multipart/form-data; boundary=%s", lb);
    int status = multi_lim(&a, bct, big, n, &wide, &f);
    free(big);
    CHECK_INT(status, 0);
    CHECK_INT(f.fields[0].value_len, chunk * reps);
    arena_cleanup(&a);
}

/* Builds "--b" parts: count fields (name "fN") of value_len bytes, each a
 * file when files, into out; returns the length. */
static size_t parts(char *out, size_t cap, size_t count, size_t value_len,
                    bool files)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        n += (size_t)snprintf(out + n, cap - n,
                              "--b\r\nContent-Disposition: form-data; "
                              "name=\"f%zu\"%s\r\n\r\n",
                              i, files ? "; filename=\"a.bin\"" : "");
        memset(out + n, 'v', value_len);
        n += value_len;
        n += (size_t)snprintf(out + n, cap - n, "\r\n");
    }
    n += (size_t)snprintf(out + n, cap - n, "--b--\r\n");
    return n;
}

void test_form_limits_and_malformed(void)
{
    struct arena a;
    struct form f;
    static char body[16384];
    arena_init(&a, 4096);

    /* urlencoded: 4 fields (empty pairs do not count), a name of 16 bytes
     * and a value of 32, decoded: at the limit, and one past. */
    CHECK_INT(url(&a, "a=1&b=2&c=3&d=4", &f), 0);
    CHECK_INT(url(&a, "a=1&&b=2&&c=3&&d=4&&", &f), 0);
    CHECK_INT(url(&a, "a=1&b=2&c=3&d=4&e=5", &f), 413);
    CHECK_INT(url(&a, "a=1&b=2&c=3&d=4&e", &f), 413);
    CHECK_INT(url(&a, "%E4%B8%BE%E4%B8%BE%E4%B8%BE%E4%B8%BE%E4%B8%BEa=1", &f),
              0);
    CHECK_INT(f.fields[0].name_len, 16);
    CHECK_INT(url(&a, "%E4%B8%BE%E4%B8%BE%E4%B8%BE%E4%B8%BE%E4%B8%BEab=1", &f),
              413);
    CHECK_INT(url(&a, "a=++++++++++++++++++++++++++++++++", &f), 0);
    CHECK_INT(f.fields[0].value_len, 32);
    CHECK_INT(url(&a, "a=+++++++++++++++++++++++++++++++++", &f), 413);
    CHECK_INT(url(&a,
                  "a=%E4%B8%BE%E4%B8%BE%E4%B8%BE%E4%B8%BE%E4%B8%BE"
                  "%E4%B8%BE%E4%B8%BE%E4%B8%BE%E4%B8%BE%E4%B8%BEab",
                  &f),
              0);
    CHECK_INT(url(&a,
                  "a=%E4%B8%BE%E4%B8%BE%E4%B8%BE%E4%B8%BE%E4%B8%BE"
                  "%E4%B8%BE%E4%B8%BE%E4%B8%BE%E4%B8%BE%E4%B8%BEabc",
                  &f),
              413);

    /* multipart: fields, value bytes, files and file bytes. */
    size_t n = parts(body, sizeof(body), 4, 32, false);
    CHECK_INT(multi_lim(&a, CT_B, body, n, &limits, &f), 0);
    CHECK_INT(f.count, 4);
    CHECK_INT(f.fields[3].value_len, 32);
    n = parts(body, sizeof(body), 5, 1, false);
    CHECK_INT(multi_lim(&a, CT_B, body, n, &limits, &f), 413);
    n = parts(body, sizeof(body), 1, 33, false);
    CHECK_INT(multi_lim(&a, CT_B, body, n, &limits, &f), 413);
    n = parts(body, sizeof(body), 1, 64, true);
    CHECK_INT(multi_lim(&a, CT_B, body, n, &limits, &f), 0);
    CHECK_STR(f.fields[0].filename, "a.bin");
    CHECK_INT(f.fields[0].value_len, 64);
    n = parts(body, sizeof(body), 1, 65, true);
    CHECK_INT(multi_lim(&a, CT_B, body, n, &limits, &f), 413);
    n = parts(body, sizeof(body), 2, 1, true);
    CHECK_INT(multi_lim(&a, CT_B, body, n, &limits, &f), 413);
    /* A file of no bytes is still a file. */
    n = parts(body, sizeof(body), 2, 0, true);
    CHECK_INT(multi_lim(&a, CT_B, body, n, &limits, &f), 413);

    /* An empty file input is not returned but counts as a field. */
    static const char empty_file[] =
        "--b\r\nContent-Disposition: form-data; name=f; filename=\"\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n\r\n";
    n = parts(body, sizeof(body), 3, 1, false) - strlen("--b--\r\n");
    n += (size_t)snprintf(body + n, sizeof(body) - n, "%s--b--", empty_file);
    CHECK_INT(multi_lim(&a, CT_B, body, n, &limits, &f), 0);
    CHECK_INT(f.count, 3);
    n = parts(body, sizeof(body), 4, 1, false) - strlen("--b--\r\n");
    n += (size_t)snprintf(body + n, sizeof(body) - n, "%s--b--", empty_file);
    CHECK_INT(multi_lim(&a, CT_B, body, n, &limits, &f), 413);

    /* A name of 16 bytes, and 17. */
    CHECK_INT(multi(&a, CT_B,
                    "--b\r\nContent-Disposition: form-data; "
                    "name=\"举举举举举a\"\r\n\r\nx\r\n--b--",
                    &f),
              0);
    CHECK_INT(multi(&a, CT_B,
                    "--b\r\nContent-Disposition: form-data; "
                    "name=\"举举举举举ab\"\r\n\r\nx\r\n--b--",
                    &f),
              413);

    /* A part's header block of 8192 bytes (blank line included), and
     * 8193. */
    for (size_t size = 8192; size <= 8193; size++) {
        static const char head[] = "--b\r\nContent-Disposition: form-data; "
                                   "name=a\r\nX-Pad: ";
        size_t fixed = strlen(head) - strlen("--b\r\n") + strlen("\r\n\r\n");
        n = (size_t)snprintf(body, sizeof(body), "%s", head);
        memset(body + n, 'p', size - fixed);
        n += size - fixed;
        n += (size_t)snprintf(body + n, sizeof(body) - n, "\r\n\r\nx\r\n--b--");
        int status = multi_lim(&a, CT_B, body, n, &limits, &f);
        if (status != (size == 8192 ? 0 : 400))
            test_failf(__FILE__, __LINE__, "headers of %zu: %d", size, status);
    }

    /* A boundary of 71 characters, in a body that would be fine. */
#define B71 B70 "7"
    CHECK_INT(multi(&a, "multipart/form-data; boundary=\"" B71 "\"",
                    "--" B71 "\r\nContent-Disposition: form-data; name=a\r\n"
                    "\r\nx\r\n--" B71 "--",
                    &f),
              400);

    static const struct {
        const char *ct, *body;
        int status;
    } bad[] = {
        /* Content-Type */
        {"multipart/form-data", "--b\r\n\r\n--b--", 400},
        {"multipart/form-data; boundary=", "--\r\n\r\n----", 400},
        {"multipart/form-data; boundary=\"\"", "--\r\n\r\n----", 400},
        {"multipart/form-data; boundary=\"b", "--b--", 400},
        {"multipart/form-data; boundary=\"b \"", "--b --", 400},
        {"multipart/form-data; boundary=\"b\x01\"", "--b\x01--", 400},
        {"multipart/form-data; boundary", "--b--", 400},
        {"text/plain; boundary=b", "--b--", 415},
        {"multipart/mixed; boundary=b", "--b--", 415},
        {"multipart/form-data-x; boundary=b", "--b--", 415},
        {"", "--b--", 415},
        /* delimiters */
        {CT_B, "no boundary here", 400},
        {CT_B, "", 400},
        {CT_B, "--bX\r\nContent-Disposition: form-data; name=a\r\n\r\nx", 400},
        {CT_B, "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx", 400},
        {CT_B, "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b\r\n",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--bb--",
         400},
        {CT_B, "--b\r\nContent-Disposition: form-data; name=a\r\n", 400},
        {CT_B, "--b", 400},
        {CT_B, "--b x\r\n", 400},
        /* part headers */
        {CT_B, "--b\r\n\r\nx\r\n--b--", 400},
        {CT_B, "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--", 400},
        {CT_B,
         "--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-datax; name=a\r\n\r\nx\r\n--b--",
         400},
        {CT_B, "--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--", 400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; filename=a\r\n\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--b--",
         400},
        {CT_B, "--b\r\nContent-Disposition: form-data; name\r\n\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a junk\r\n\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a\r\nno colon\r\n\r\n"
         "x\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a\r\n"
         "Content-Disposition: form-data; name=b\r\n\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\nx\r\n"
         "--b--",
         400},
        {CT_B,
         "--b\r\n: x\r\nContent-Disposition: form-data; name=a\r\n\r\n"
         "x\r\n--b--",
         400},
        /* file names */
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a; filename=\"../\"\r\n"
         "\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a; "
         "filename=\"C:\\\\\"\r\n"
         "\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a; filename=\"\"\r\n"
         "\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a; filename=\"a\tb\"\r\n"
         "\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a; "
         "filename*=UTF-8''a%0Ab\r\n\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a; "
         "filename*=UTF-8''a%C2%85b\r\n\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a; "
         "filename*=ISO-8859-1''%A3\r\n\r\nx\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a; "
         "filename=\"\xff.txt\"\r\n\r\nx\r\n--b--",
         400},
        /* text that is not UTF-8 */
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\xff\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\xed\xa0\x80"
         "\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=\"\xc0\xaf\"\r\n\r\nx"
         "\r\n--b--",
         400},
        {CT_B,
         "--b\r\nContent-Disposition: form-data; name=\"\xc0\xaf\"; "
         "filename=a\r\n\r\nx\r\n--b--",
         400},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int status = multi(&a, bad[i].ct, bad[i].body, &f);
        if (status != bad[i].status)
            test_failf(__FILE__, __LINE__, "case %zu: %d, expected %d", i,
                       status, bad[i].status);
    }
    arena_cleanup(&a);
}
