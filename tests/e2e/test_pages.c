/*
 * test_pages: the HTML pages (pages.c, regions.c, console.c) as bytes on
 * the wire, without a browser: the region list built from the units, a
 * refused form shown back escaped and filled in with nothing stored, the
 * status page's refusals, the console's files and headers, and the
 * cross-site refusal of staff writes (auth.c). tests/browser drives the
 * same pages in Chromium.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test.h"

static int request(const struct e2e *e, const char *method, const char *path,
                   const char *headers, const char *type, const char *body,
                   struct e2e_reply *r)
{
    size_t n = body != NULL ? strlen(body) : 0;
    size_t cap = n + 2048;
    char *req = malloc(cap);
    int len;
    if (body != NULL)
        len = snprintf(req, cap,
                       "%s %s HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n"
                       "Content-Type: %s\r\nContent-Length: %zu\r\n%s\r\n%s",
                       method, path, type, n, headers, body);
    else
        len = snprintf(req, cap,
                       "%s %s HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n"
                       "%s\r\n",
                       method, path, headers);
    e2e_reply_init(r);
    int rc = e2e_exchange(e, req, (size_t)len, 1, 10000, r);
    free(req);
    return rc == 0 && r->count >= 1 ? r->r[0].status : 0;
}

static bool has(const struct e2e_reply *r, const char *s)
{
    return r->count >= 1 && strstr(r->r[0].body, s) != NULL;
}

/* The E4 headers every page carries. */
static void e4(const struct e2e_reply *r)
{
    char v[512];
    CHECK(e2e_header_is(&r->r[0], "Cache-Control", "no-store"));
    CHECK(e2e_header_is(&r->r[0], "Referrer-Policy", "no-referrer"));
    CHECK(e2e_header_is(&r->r[0], "X-Content-Type-Options", "nosniff"));
    CHECK(e2e_header_is(&r->r[0], "X-Frame-Options", "DENY"));
    CHECK(
        http_client_header(&r->r[0], "Content-Security-Policy", v, sizeof(v)));
    CHECK(strstr(v, "default-src 'none'") != NULL);
    CHECK(strstr(v, "frame-ancestors 'none'") != NULL);
    CHECK(!http_client_header(&r->r[0], "Set-Cookie", v, sizeof(v)));
}

static void pages(struct e2e *e)
{
    static const char *const import[] = {
        "units", "import", TIPD_SOURCE_DIR "/deploy/rules.json", NULL};
    static const char *const sets[] = {"rate_limit_per_minute=0",
                                       "form_max_file_bytes=4096", NULL};
    char out[2048], token[128], hdr[256];
    struct e2e_reply r;
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(e2e_run(e, import, 30000, out, sizeof(out)), 0);
    CHECK_INT(e2e_token(e, "410105", "staff", "承办人", token, sizeof(token)),
              0);
    CHECK_INT(e2e_start(e, sets), 0);

    /* The form: one list of the units' regions, a group per province and
     * per city, each option naming its whole path. */
    CHECK_INT(request(e, "GET", "/", "", NULL, NULL, &r), 200);
    e4(&r);
    CHECK(has(&r, "<select id=\"region\" name=\"region\""));
    CHECK(has(&r, "<optgroup label=\"河南省 郑州市\">"));
    CHECK(has(&r, "<option value=\"410105\" data-name=\"金水区\">"
                  "河南省郑州市金水区</option>"));
    CHECK(has(&r, "<option value=\"410000\" data-name=\"河南省\">"
                  "河南省（省级）</option>"));
    CHECK(has(&r, "<script src=\"/form.js\"></script>"));
    e2e_reply_free(&r);

    /* A refused form comes back filled in, escaped, with a summary and a
     * message at the field; nothing is stored. */
    CHECK_INT(request(e, "POST", "/report", "",
                      "application/x-www-form-urlencoded",
                      "content=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
                      "&accused_name=%22%3E%3Cb%3E&region=410105"
                      "&real_name=true&idempotency_key=k1",
                      &r),
              422);
    e4(&r);
    CHECK(!has(&r, "<script>alert"));
    CHECK(has(&r, "&lt;script&gt;alert(1)&lt;/script&gt;</textarea>"));
    CHECK(has(&r, "value=\"&quot;&gt;&lt;b&gt;\""));
    CHECK(has(&r, "id=\"error-summary\""));
    CHECK(has(&r, "<a href=\"#reporter_name\">"));
    CHECK(has(&r, "id=\"reporter_name-error\""));
    CHECK(has(&r, "<option value=\"410105\" selected"));
    CHECK(has(&r, "name=\"idempotency_key\" value=\"k1\""));
    CHECK(has(&r, "<title>错误：网上举报</title>"));
    e2e_reply_free(&r);

    /* Each field's limit, in words, at the field; several at once. */
    size_t big = 20001 * 3 + 64;
    char *body = malloc(big + 64);
    int n = snprintf(body, big, "region=4101&content=");
    for (int i = 0; i < 20001; i++)
        n += snprintf(body + n, big - (size_t)n, "x");
    CHECK_INT(request(e, "POST", "/report", "",
                      "application/x-www-form-urlencoded", body, &r),
              422);
    free(body);
    CHECK(has(&r, "不能超过 20000 字"));
    CHECK(has(&r, "请修改以下 2 处"));
    CHECK(has(&r, "id=\"region-error\""));
    CHECK(has(&r, "<select id=\"region\" name=\"region\" "
                  "aria-describedby=\"region-error region-hint\" "
                  "aria-invalid=\"true\">"));
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 0);

    /* An attachment over form_max_file_bytes (4096 here): the form again,
     * filled in, the file named at the attachment field; nothing stored. */
    static char mp[8192];
    int mlen = snprintf(mp, sizeof(mp),
                        "--B\r\nContent-Disposition: form-data; "
                        "name=\"content\"\r\n\r\n附件太大的举报\r\n"
                        "--B\r\nContent-Disposition: form-data; "
                        "name=\"attachment\"; filename=\"<大>.jpg\"\r\n"
                        "Content-Type: image/jpeg\r\n\r\n");
    memset(mp + mlen, 'j', 5000);
    mlen += 5000;
    mlen += snprintf(mp + mlen, sizeof(mp) - (size_t)mlen, "\r\n--B--\r\n");
    CHECK_INT(request(e, "POST", "/report", "",
                      "multipart/form-data; boundary=B", mp, &r),
              413);
    CHECK(has(&r, "id=\"attachment-error\""));
    CHECK(has(&r, "文件“&lt;大&gt;.jpg”超过 4 KB"));
    CHECK(has(&r, ">附件太大的举报</textarea>"));
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 0);

    /* A good form: the receipt page. */
    CHECK_INT(request(e, "POST", "/report", "",
                      "application/x-www-form-urlencoded",
                      "content=%E4%B8%BE%E6%8A%A5&region=410105", &r),
              201);
    e4(&r);
    CHECK(has(&r, "id=\"receipt\""));
    CHECK(has(&r, "只显示这一次"));
    /* The code's text, without the spans that keep its groups whole. */
    char code[32];
    size_t clen = 0;
    bool tag = false;
    const char *at = strstr(r.r[0].body, "id=\"receipt\">");
    if (at != NULL)
        at += strlen("id=\"receipt\">");
    for (; at != NULL && *at != '\0' && strncmp(at, "</p>", 4) != 0 &&
           clen + 1 < sizeof(code);
         at++) {
        if (*at == '<' || *at == '>')
            tag = *at == '<';
        else if (!tag)
            code[clen++] = *at;
    }
    code[clen] = '\0';
    CHECK_INT((int)clen, 23);
    e2e_reply_free(&r);
    /* A staff message written at 01:30 Beijing time on 2 December (17:30
     * UTC the day before) is dated the 2nd on the status page. */
    CHECK_INT(e2e_sql(e, false,
                      "INSERT INTO report_messages (report_id, author, body,"
                      " created_at) SELECT id, 'staff', '请补充材料',"
                      " '2026-12-01T17:30:00Z' FROM reports",
                      NULL, 0),
              0);
    char form[64];
    snprintf(form, sizeof(form), "receipt=%s", code);
    CHECK_INT(request(e, "POST", "/status", "",
                      "application/x-www-form-urlencoded", form, &r),
              200);
    CHECK(has(&r, "请补充材料"));
    CHECK(has(&r, "2026-12-02"));
    CHECK(!has(&r, "2026-12-01"));
    e2e_reply_free(&r);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE region = "
                            "'410105'"),
              1);

    /* The status page: an unknown code is refused at its field, shown back
     * escaped; no code at all is 422. */
    CHECK_INT(request(e, "POST", "/status", "",
                      "application/x-www-form-urlencoded",
                      "receipt=%3Cscript%3E", &r),
              404);
    e4(&r);
    CHECK(!has(&r, "<script>"));
    CHECK(has(&r, "value=\"&lt;script&gt;\""));
    CHECK(has(&r, "id=\"receipt-error\""));
    e2e_reply_free(&r);
    char longcode[128] = "receipt=";
    memset(longcode + 8, 'A', 100);
    CHECK_INT(request(e, "POST", "/status", "",
                      "application/x-www-form-urlencoded", longcode, &r),
              404);
    CHECK(!has(&r, longcode + 8)); /* no code is that long: not shown */
    e2e_reply_free(&r);
    CHECK_INT(request(e, "POST", "/status", "",
                      "application/x-www-form-urlencoded", "message=x", &r),
              422);
    CHECK(has(&r, "请输入回执码"));
    e2e_reply_free(&r);

    /* The console: a static page and its script, never cached, scripts
     * only from tipd; no token needed to load it (it holds no data). */
    CHECK_INT(request(e, "GET", "/staff/", "", NULL, NULL, &r), 200);
    e4(&r);
    CHECK(http_client_header(&r.r[0], "Content-Security-Policy", out,
                             sizeof(out)));
    CHECK(strstr(out, "script-src 'self'") != NULL);
    CHECK(strstr(out, "connect-src 'self'") != NULL);
    CHECK(has(&r, "<script src=\"/staff/console.js\"></script>"));
    e2e_reply_free(&r);
    /* The address people type, without the slash: sent to the page. */
    CHECK_INT(request(e, "GET", "/staff", "", NULL, NULL, &r), 301);
    CHECK(e2e_header_is(&r.r[0], "Location", "/staff/"));
    e2e_reply_free(&r);
    CHECK_INT(request(e, "GET", "/staff/console.js", "", NULL, NULL, &r), 200);
    CHECK(e2e_header_is(&r.r[0], "Content-Type",
                        "text/javascript; charset=utf-8"));
    CHECK(has(&r, "sessionStorage"));
    CHECK(!has(&r, "innerHTML"));
    e2e_reply_free(&r);
    CHECK_INT(request(e, "GET", "/form.js", "", NULL, NULL, &r), 200);
    e2e_reply_free(&r);

    /* Staff writes a browser marks as cross-site are refused before the
     * token is even looked up; the same site is served. */
    static const char *const foreign[] = {
        "Sec-Fetch-Site: cross-site\r\n", "Sec-Fetch-Site: same-site\r\n",
        "Origin: http://evil.example\r\n", "Origin: null\r\n",
        "Origin: http://e2e.evil\r\n"};
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n%s", token,
                 foreign[i]);
        CHECK_INT(request(e, "POST", "/api/v1/staff/queues/default/claim", hdr,
                          "application/json", "{\"max\":1}", &r),
                  403);
        CHECK(e2e_json_error(&r.r[0], out, sizeof(out)));
        e2e_reply_free(&r);
    }
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM audit_log WHERE action = "
                            "'claim'"),
              0);
    snprintf(hdr, sizeof(hdr),
             "Authorization: Bearer %s\r\nOrigin: http://E2E\r\n"
             "Sec-Fetch-Site: same-origin\r\n",
             token);
    CHECK_INT(request(e, "POST", "/api/v1/staff/queues/default/claim", hdr,
                      "application/json", "{\"max\":1}", &r),
              200);
    e2e_reply_free(&r);
    /* A read is never refused for its origin: it changes nothing. */
    snprintf(hdr, sizeof(hdr),
             "Authorization: Bearer %s\r\nSec-Fetch-Site: cross-site\r\n",
             token);
    CHECK_INT(request(e, "GET", "/api/v1/staff/queues", hdr, NULL, NULL, &r),
              200);
    e2e_reply_free(&r);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);

    /* Refused by admission: a page a person can read, with Retry-After. */
    static const char *const slow[] = {"rate_limit_per_minute=1",
                                       "rate_limit_burst=1",
                                       "form_regions_max_age_ms=0", NULL};
    CHECK_INT(e2e_start(e, slow), 0);
    /* With form_regions_max_age_ms=0 a unit added now is on the next form
     * whichever worker answers it. */
    CHECK_INT(request(e, "GET", "/", "", NULL, NULL, &r), 200);
    CHECK(!has(&r, "data-name=\"测试区\""));
    e2e_reply_free(&r);
    CHECK_INT(e2e_sql(e, false,
                      "INSERT INTO units (id, name, level, parent_id) VALUES "
                      "('410199', '测试区纪委监委', 'county', '410100')",
                      NULL, 0),
              0);
    for (int i = 0; i < 4; i++) {
        CHECK_INT(request(e, "GET", "/", "", NULL, NULL, &r), 200);
        CHECK(has(&r, "<option value=\"410199\" data-name=\"测试区\">"));
        e2e_reply_free(&r);
    }
    int status = 0;
    for (int i = 0; i < 3 && status != 429; i++) {
        status = request(e, "POST", "/status", "",
                         "application/x-www-form-urlencoded", "receipt=x", &r);
        if (status != 429)
            e2e_reply_free(&r);
    }
    CHECK_INT(status, 429);
    CHECK(e2e_header_is(&r.r[0], "Content-Type", "text/html; charset=utf-8"));
    CHECK(http_client_header(&r.r[0], "Retry-After", out, sizeof(out)));
    CHECK(has(&r, "提交过于频繁"));
    e4(&r);
    e2e_reply_free(&r);

    CHECK_INT(e2e_stop(e, 10000, NULL), 0);

    /* The database away before any form was shown: the form still renders
     * (the region as a text field), and a submission is 503, as a page,
     * with nothing stored. */
    static const char *const away[] = {"rate_limit_per_minute=0",
                                       "db_reconnect_max_ms=200", "workers=1",
                                       NULL};
    CHECK_INT(e2e_start(e, away), 0);
    CHECK_INT(e2e_db_block(e), 0);
    CHECK_INT(request(e, "GET", "/", "", NULL, NULL, &r), 200);
    CHECK(has(&r, "<input id=\"region\" name=\"region\""));
    e2e_reply_free(&r);
    status = 0;
    uint64_t t0 = e2e_now_ms();
    while (status != 503 && e2e_now_ms() - t0 < 10000) {
        status = request(e, "POST", "/report", "",
                         "application/x-www-form-urlencoded",
                         "content=%E5%81%9C%E6%9C%BA", &r);
        if (status != 503)
            e2e_reply_free(&r);
    }
    CHECK_INT(status, 503);
    CHECK(e2e_header_is(&r.r[0], "Content-Type", "text/html; charset=utf-8"));
    CHECK(http_client_header(&r.r[0], "Retry-After", out, sizeof(out)));
    CHECK(has(&r, "您填写的内容没有保存"));
    e2e_reply_free(&r);
    CHECK_INT(e2e_db_unblock(e), 0);
    CHECK_INT(
        e2e_number(e, "SELECT count(*) FROM reports WHERE content = '停机'"),
        0);

    /* Back: the list is read and kept (one worker here), and the copy
     * serves the form while the database is away again. */
    bool listed = false;
    t0 = e2e_now_ms();
    while (!listed && e2e_now_ms() - t0 < 10000) {
        CHECK_INT(request(e, "GET", "/", "", NULL, NULL, &r), 200);
        listed = has(&r, "<select id=\"region\"");
        e2e_reply_free(&r);
        if (!listed)
            e2e_sleep_ms(100);
    }
    CHECK(listed);
    CHECK_INT(e2e_db_block(e), 0);
    CHECK_INT(request(e, "GET", "/", "", NULL, NULL, &r), 200);
    CHECK(has(&r, "<option value=\"410105\" data-name=\"金水区\">"));
    e2e_reply_free(&r);
    CHECK_INT(e2e_db_unblock(e), 0);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_pages_form_status_console(void)
{
    struct e2e e;
    if (e2e_init(&e, "pages_form_status_console") == 0)
        pages(&e);
    e2e_cleanup(&e);
}
