/*
 * e2e sms: the gateways' callbacks against a real tipd and PostgreSQL:
 * replays are stored once and answered alike (spec/reliability.md B1),
 * forged callbacks are refused and leave nothing (B3), Chinese arrives
 * intact in UTF-8 and in UCS-2.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "kannel.h"
#include "test.h"

/* Characters of UTF-8 text. */
static int utf8_chars(const char *s)
{
    int n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

/* GET /sms/kannel?QUERY on three connections at once; every answer must
 * be 200 with the same body, returned in reply (cap bytes). */
static int kannel_three(const struct e2e *e, const char *query, char *reply,
                        size_t cap)
{
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "GET /sms/kannel?%s HTTP/1.1\r\nHost: e2e\r\n"
                     "Connection: close\r\n\r\n",
                     query);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = e2e_connect(e);
        if (fds[i] < 0 || e2e_send(fds[i], req, (size_t)n) != 0)
            return -1;
    }
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        struct e2e_reply r;
        e2e_reply_init(&r);
        e2e_read(fds[i], &r, 1, 10000);
        close(fds[i]);
        if (r.count != 1 || r.r[0].status != 200) {
            fprintf(stderr, "copy %d: %d answers, status %d: %.*s\n", i,
                    r.count, r.count ? r.r[0].status : 0,
                    r.count ? (int)r.r[0].body_len : 0,
                    r.count ? r.r[0].body : "");
            rc = -1;
        } else {
            char body[512];
            snprintf(body, sizeof(body), "%.*s", (int)r.r[0].body_len,
                     r.r[0].body);
            if (i == 0)
                snprintf(reply, cap, "%s", body);
            else if (strcmp(reply, body) != 0)
                rc = -1;
        }
        e2e_reply_free(&r);
    }
    return rc;
}

/* Sends req (a whole HTTP request) and returns the status. */
static int send_one(const struct e2e *e, const char *req)
{
    struct e2e_reply r;
    e2e_reply_init(&r);
    int status = 0;
    if (e2e_exchange(e, req, strlen(req), 1, 10000, &r) == 0 && r.count == 1)
        status = r.r[0].status;
    e2e_reply_free(&r);
    return status;
}

static void replays_and_forgeries(struct e2e *e)
{
    CHECK_INT(e2e_migrate(e), 0);
    /* The gateways' secrets, in files as an operator keeps them. */
    static const char *const secrets[][2] = {
        {"kannel", "kannel-secret"},
        {"twilio", "twilio-token"},
        {"generic", "generic-secret"},
    };
    char sets_text[3][512];
    for (int i = 0; i < 3; i++) {
        char path[400];
        snprintf(path, sizeof(path), "%s/%s.key", e->dir, secrets[i][0]);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        fprintf(f, "%s\n", secrets[i][1]);
        fclose(f);
        snprintf(sets_text[i], sizeof(sets_text[i]), "sms_%s_%s_file=%s",
                 secrets[i][0], i == 1 ? "token" : "key", path);
    }
    const char *const sets[] = {
        sets_text[0], sets_text[1], sets_text[2],
        "sms_twilio_url=https://tipd.example/sms/twilio", NULL};
    CHECK_INT(e2e_start(e, sets), 0);

    /* B1: twenty messages, each delivered three times at once. */
    for (int i = 0; i < 20; i++) {
        char query[512], reply[512];
        snprintf(query, sizeof(query),
                 "key=kannel-secret&from=%%2B861380000%04d&to=12388&text=%%E4"
                 "%%B8%%BE%%E6%%8A%%A5%%E7%%AC%%AC%d%%E6%%9D%%A1&id=msg-%d&"
                 "smsc=fake&coding=0&charset=UTF-8",
                 i, i, i);
        if (kannel_three(e, query, reply, sizeof(reply)) != 0) {
            test_failf(__FILE__, __LINE__,
                       "message %d: answers differ or "
                       "failed",
                       i);
            return;
        }
        CHECK(strstr(reply, "回执码：") != NULL);
    }
    CHECK_INT(
        e2e_number(e, "SELECT count(*) FROM reports WHERE channel = 'sms'"),
        20);
    CHECK_INT(e2e_number(e,
                         "SELECT count(*) FROM idempotency_keys WHERE scope = "
                         "'kannel:fake'"),
              20);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE content = "
                            "'举报第7条' AND sender_hash IS NOT NULL"),
              1);
    /* The number is never stored, only its keyed hash. */
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports r WHERE r::text LIKE "
                            "'%13800000%'"),
              0);

    /* UCS-2 as Kannel delivers it without mo-recode: 举报 in UTF-16BE. */
    static const char ucs2[] =
        "GET /sms/kannel?key=kannel-secret&from=1&to=2&text=%4E%3E%62%A5"
        "&id=u1&smsc=fake&coding=2&charset=UTF-16BE HTTP/1.1\r\nHost: e2e\r\n"
        "Connection: close\r\n\r\n";
    CHECK_INT(send_one(e, ucs2), 200);
    CHECK_INT(
        e2e_number(e, "SELECT count(*) FROM reports WHERE content = '举报'"),
        1);
    /* A get-url without %C: coding=2 alone says UCS-2 (举报人). */
    static const char coding_only[] =
        "GET /sms/kannel?key=kannel-secret&from=1&to=2&text=%4E%3E%62%A5"
        "%4E%BA&id=u2&smsc=fake&coding=2 HTTP/1.1\r\nHost: e2e\r\n"
        "Connection: close\r\n\r\n";
    CHECK_INT(send_one(e, coding_only), 200);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE content = "
                            "'举报人'"),
              1);

    long long before = e2e_number(e, "SELECT count(*) FROM reports");
    /* B3: forged callbacks of every gateway, all 403. */
    static const char *const forged[] = {
        "GET /sms/kannel?from=1&text=x&id=f1&smsc=fake HTTP/1.1\r\n"
        "Host: e2e\r\nConnection: close\r\n\r\n",
        "GET /sms/kannel?key=wrong&from=1&text=x&id=f2&smsc=fake HTTP/1.1\r\n"
        "Host: e2e\r\nConnection: close\r\n\r\n",
        "POST /sms/twilio HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 28\r\n\r\nFrom=1&Body=x&MessageSid=SM1",
        "POST /sms/twilio HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n"
        "X-Twilio-Signature: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 28\r\n\r\nFrom=1&Body=x&MessageSid=SM1",
        "POST /sms/generic HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nContent-Length: 41\r\n\r\n"
        "{\"message_id\":\"g\",\"from\":\"1\",\"text\":\"xx\"}",
    };
    for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++)
        if (send_one(e, forged[i]) != 403)
            test_failf(__FILE__, __LINE__, "forged callback %zu not 403", i);

    /* Generic: a signed body is taken; the same signature on a changed
     * body is not. */
    static const char body[] =
        "{\"message_id\":\"g1\",\"from\":\"+86139\",\"to\":\"12388\","
        "\"text\":\"通用网关举报\",\"received_at\":\"2026-11-30T08:00:00+08:"
        "00\"}";
    unsigned char md[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), "generic-secret", 14, (const unsigned char *)body,
         sizeof(body) - 1, md, &n);
    char sig[65], req[1024];
    for (int i = 0; i < 32; i++)
        snprintf(sig + 2 * i, 3, "%02x", md[i]);
    snprintf(req, sizeof(req),
             "POST /sms/generic HTTP/1.1\r\nHost: e2e\r\nConnection: close\r\n"
             "X-Signature: sha256=%s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             sig, sizeof(body) - 1, body);
    CHECK_INT(send_one(e, req), 200);
    char *tampered = strstr(req, "通用");
    memcpy(tampered, "普通", strlen("普通"));
    CHECK_INT(send_one(e, req), 403);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), before + 1);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE content = "
                            "'通用网关举报' AND received_at = "
                            "'2026-11-30T08:00:00+08:00'"),
              1);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_sms_replays_and_forgeries(void)
{
    struct e2e e;
    if (e2e_init(&e, "sms_replays_and_forgeries") == 0)
        replays_and_forgeries(&e);
    e2e_cleanup(&e);
}

/* --- Kannel end to end ------------------------------------------------- */

/* The receipt code in a reply SMS ("…回执码：XXXXX-…，…") into out. */
static bool reply_receipt(const char *reply, char *out, size_t cap)
{
    const char *p = strstr(reply, "回执码：");
    if (p == NULL)
        return false;
    p += strlen("回执码：");
    size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
    if (n < 20 || n >= cap)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* POST /api/v1/status with receipt: the status code. */
static int status_of(const struct e2e *e, const char *receipt)
{
    char req[512];
    int body = (int)strlen(receipt) + 14;
    snprintf(req, sizeof(req),
             "POST /api/v1/status HTTP/1.1\r\nHost: e2e\r\n"
             "Connection: close\r\nContent-Type: application/json\r\n"
             "Content-Length: %d\r\n\r\n{\"receipt\":\"%s\"}",
             body, receipt);
    return send_one(e, req);
}

static int readyz(const struct e2e *e)
{
    struct e2e_reply r;
    e2e_reply_init(&r);
    int status = e2e_get(e, "/readyz", &r);
    e2e_reply_free(&r);
    return status;
}

/* The receipt of the last message through_kannel sent. */
static char kannel_receipt[64];

/* One message through Kannel: its reply must be UCS-2 Chinese with a
 * receipt /api/v1/status knows, and exactly one report must hold want. */
static int through_kannel(struct e2e *e, struct kannel *k, const char *line,
                          const char *want)
{
    char type[16], reply[2048], receipt[64], sql[1024];
    uint64_t t0 = e2e_now_ms();
    int n = kannel_mo(k, line, 20000, type, reply, sizeof(reply));
    if (n < 0) {
        test_failf(__FILE__, __LINE__, "no reply SMS for %s", line);
        return -1;
    }
    fprintf(stderr, "kannel: %s -> %s reply in %llu ms: %s\n", line, type,
            (unsigned long long)(e2e_now_ms() - t0), reply);
    /* Chinese intact: UCS-2, not squeezed into GSM as "???". */
    if (strcmp(type, "ucs-2") != 0 || strstr(reply, "已收到您的举报") == NULL ||
        strchr(reply, '?') != NULL || !reply_receipt(reply, receipt, 64)) {
        test_failf(__FILE__, __LINE__, "reply %s \"%s\" is not the receipt",
                   type, reply);
        return -1;
    }
    snprintf(kannel_receipt, sizeof(kannel_receipt), "%s", receipt);
    if (status_of(e, receipt) != 200) {
        test_failf(__FILE__, __LINE__, "/api/v1/status does not know %s",
                   receipt);
        return -1;
    }
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM reports WHERE channel = 'sms' AND "
             "content = '%s' AND sender_hash IS NOT NULL",
             want);
    long long rows = e2e_number(e, sql);
    if (rows != 1) {
        test_failf(__FILE__, __LINE__, "%lld reports hold \"%s\"", rows, want);
        return -1;
    }
    return 0;
}

static void kannel_end_to_end(struct e2e *e, struct kannel *k)
{
    CHECK_INT(e2e_migrate(e), 0);
    char path[400], set[512];
    snprintf(path, sizeof(path), "%s/kannel.key", e->dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f, "kannel-e2e-secret\n");
    fclose(f);
    snprintf(set, sizeof(set), "sms_kannel_key_file=%s", path);
    const char *const sets[] = {set, NULL};
    CHECK_INT(e2e_start(e, sets), 0);

    /* Kannel as installed, without mo-recode: UCS-2 arrives as UTF-16BE.
     * 有 is 0x67 0x09 and the text has a blank line: %b keeps both. */
    struct kannel_options opt = {false, 30, 1, false};
    CHECK_INT(kannel_start(k, e->dir, e->port, "kannel-e2e-secret", &opt), 0);
    CHECK_INT(through_kannel(e, k,
                             "+8613800001111 12388 ucs2 "
                             "%67%09%4E%BA%00%0A%00%0A%53%D7%8D%3F%4E%94%4E%07",
                             "有人\n\n受贿五万"),
              0);
    /* A GSM text message carrying UTF-8 bytes, as fakesmsc's text type. */
    CHECK_INT(through_kannel(e, k, "+8613800002222 12388 text 张三收受红包",
                             "张三收受红包"),
              0);
    /* With mo-recode (the shipped setting) UCS-2 arrives as UTF-8. */
    opt.mo_recode = true;
    CHECK_INT(kannel_restart_smsbox(k, &opt), 0);
    CHECK_INT(through_kannel(e, k,
                             "+8613800003333 12388 ucs2 "
                             "%67%09%4E%BA%00%0A%53%D7%8D%3F",
                             "有人\n受贿"),
              0);
    /* Status by SMS through Kannel: keyword and code as a phone sends
     * them, the state back as UCS-2 Chinese; nothing stored. */
    char line[128], st_type[16], st_reply[512];
    snprintf(line, sizeof(line), "+8613800003333 12388 text 查询%s",
             kannel_receipt);
    CHECK(kannel_mo(k, line, 20000, st_type, st_reply, sizeof(st_reply)) > 0);
    CHECK_STR(st_type, "ucs-2");
    CHECK_STR(st_reply, "您的举报已收到，等待分办。");
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 3);

    /* B2 through Kannel: with the database gone tipd answers 503 at once
     * and smsbox calls again with the same message id; once the database
     * is back the message is stored once and the reply carries its
     * receipt. */
    int refused_before = kannel_smsbox_log_count(k, "503 Service Unavailable");
    CHECK_INT(e2e_db_block(e), 0);
    for (int i = 0; i < 100 && readyz(e) == 200; i++)
        e2e_sleep_ms(100);
    CHECK_INT(kannel_send(k, "+8613800004444 12388 ucs2 %67%09%4E%BA%00%0A"
                             "%53%D7%8D%3F%00%32"),
              0);
    for (int i = 0;
         i < 100 && kannel_smsbox_log_count(k, "503 Service Unavailable") <
                        refused_before + 2;
         i++)
        e2e_sleep_ms(100);
    int refused =
        kannel_smsbox_log_count(k, "503 Service Unavailable") - refused_before;
    CHECK(refused >= 2);
    CHECK_INT(e2e_number(e, "SELECT 1"), -1); /* still blocked */
    CHECK_INT(e2e_db_unblock(e), 0);
    uint64_t back = e2e_now_ms();
    char type[16], reply[2048], receipt[64];
    CHECK(kannel_reply(k, 30000, type, reply, sizeof(reply)) > 0);
    fprintf(stderr,
            "kannel B2: %d calls answered 503 during the outage; reply %llu "
            "ms after the database came back: %s\n",
            refused, (unsigned long long)(e2e_now_ms() - back), reply);
    CHECK(reply_receipt(reply, receipt, sizeof(receipt)));
    CHECK_INT(status_of(e, receipt), 200);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE content = "
                            "'有人\n受贿2'"),
              1);
    /* Stored after the outage, it keeps the time Kannel received it. */
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE content = "
                            "'有人\n受贿2' AND received_at < stored_at - "
                            "interval '1 second'"),
              1);

    /* A long message in two parts, the second first (8-bit data as
     * fakesmsc's udh type sends it): with the shipped configuration
     * bearerbox joins them and tipd gets one message. */
    CHECK_INT(kannel_send(k, "+8613800005555 12388 udh %05%00%03%2A%02%02 "
                             "%E4%BA%8C%E6%AE%B5"),
              0);
    CHECK_INT(through_kannel(e, k,
                             "+8613800005555 12388 udh %05%00%03%2A%02%01 "
                             "%E4%B8%80%E6%AE%B5",
                             "一段二段"),
              0);
    /* With joining off, tipd joins them (B4): no reply SMS for the first
     * part to arrive, the receipt with the one that completes it. */
    kannel_stop(k);
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/split", e->dir);
    CHECK_INT(mkdir(dir, 0755), 0);
    opt.split_parts = true;
    CHECK_INT(kannel_start(k, dir, e->port, "kannel-e2e-secret", &opt), 0);
    CHECK_INT(kannel_mo(k,
                        "+8613800006666 12388 udh %05%00%03%07%02%02 "
                        "%E4%B9%99%E6%AE%B5",
                        2000, type, reply, sizeof(reply)),
              -1);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM sms_parts"), 1);
    CHECK_INT(through_kannel(e, k,
                             "+8613800006666 12388 udh %05%00%03%07%02%01 "
                             "%E7%94%B2%E6%AE%B5",
                             "甲段乙段"),
              0);

    /* Six messages, six senders: the numbers are nowhere in the rows. */
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 6);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports r WHERE r::text LIKE "
                            "'%1380000%'"),
              0);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_sms_kannel_end_to_end(void)
{
    struct e2e e;
    struct kannel k;
    memset(&k, 0, sizeof(k));
    if (e2e_init(&e, "sms_kannel_end_to_end") == 0)
        kannel_end_to_end(&e, &k);
    kannel_stop(&k);
    e2e_cleanup(&e);
}

/* --- status by SMS, repeats without an id ------------------------------ */

/* GET /sms/kannel?key=s&QUERY; the status, the body into body (cap). */
static int kannel_get(const struct e2e *e, const char *query, char *body,
                      size_t cap)
{
    char req[2048];
    snprintf(req, sizeof(req),
             "GET /sms/kannel?key=s&%s HTTP/1.1\r\nHost: e2e\r\n"
             "Connection: close\r\n\r\n",
             query);
    struct e2e_reply r;
    e2e_reply_init(&r);
    int status = 0;
    body[0] = '\0';
    if (e2e_exchange(e, req, strlen(req), 1, 10000, &r) == 0 && r.count == 1) {
        status = r.r[0].status;
        snprintf(body, cap, "%.*s", (int)r.r[0].body_len, r.r[0].body);
    }
    e2e_reply_free(&r);
    return status;
}

/* Url-encodes s into out (cap). */
static void urlenc(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s != '\0' && o + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", c);
    }
    out[o] = '\0';
}

/* A keyless Kannel message from sender with text: status and reply. */
static int sms(const struct e2e *e, const char *from, const char *text,
               char *body, size_t cap)
{
    char q[1024], t[800];
    urlenc(text, t, sizeof(t));
    snprintf(q, sizeof(q), "from=%s&to=12388&text=%s&smsc=fake&charset=UTF-8",
             from, t);
    return kannel_get(e, q, body, cap);
}

static int start_with_secret(struct e2e *e, const char *const *more)
{
    char path[400];
    static char set[512];
    snprintf(path, sizeof(path), "%s/kannel.key", e->dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "s\n");
    fclose(f);
    snprintf(set, sizeof(set), "sms_kannel_key_file=%s", path);
    const char *sets[16] = {set};
    for (int i = 0; more != NULL && more[i] != NULL && i < 14; i++)
        sets[i + 1] = more[i];
    return e2e_start(e, sets);
}

static void status_by_sms(struct e2e *e)
{
    CHECK_INT(e2e_migrate(e), 0);
    /* One worker: the limit is per worker (each has its buckets). */
    char gpath[400], gset[512];
    snprintf(gpath, sizeof(gpath), "%s/generic.key", e->dir);
    FILE *gf = fopen(gpath, "w");
    CHECK(gf != NULL);
    fprintf(gf, "g\n");
    fclose(gf);
    snprintf(gset, sizeof(gset), "sms_generic_key_file=%s", gpath);
    const char *const more[] = {"sms_status_per_hour=1", "sms_status_burst=3",
                                "workers=1", gset, NULL};
    CHECK_INT(start_with_secret(e, more), 0);
    char body[2048], receipt[64], text[256];
    CHECK_INT(
        sms(e, "%2B8613900001111", "财政局李四挪用公款", body, sizeof(body)),
        200);
    CHECK(reply_receipt(body, receipt, sizeof(receipt)));
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 1);

    /* The code alone: the state, nothing stored. */
    CHECK_INT(sms(e, "%2B8613900001111", receipt, body, sizeof(body)), 200);
    CHECK_STR(body, "您的举报已收到，等待分办。");
    /* Staff answer the reporter: the newest staff message comes with the
     * state, cut to sms_reply_max_chars (200). */
    CHECK_INT(e2e_sql(e, false,
                      "INSERT INTO report_messages (report_id, author, body) "
                      "VALUES (1, 'staff', '请补充具体时间'), "
                      "(1, 'reporter', '是去年三月'), "
                      "(1, 'staff', repeat('长', 300))",
                      NULL, 0),
              0);
    /* A keyword, lower case, no dashes: still the code. */
    char lower[64];
    size_t o = 0;
    for (const char *p = receipt; *p; p++)
        if (*p != '-')
            lower[o++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    lower[o] = '\0';
    snprintf(text, sizeof(text), "查询 %s", lower);
    CHECK_INT(sms(e, "%2B8613900001111", text, body, sizeof(body)), 200);
    CHECK(strncmp(body, "您的举报已收到，等待分办。最新答复：长长", 60) == 0);
    CHECK(strstr(body, "…") != NULL);
    CHECK_INT(utf8_chars(body), 200);
    snprintf(text, sizeof(text), "CX:%s", receipt);
    CHECK_INT(sms(e, "%2B8613900001111", text, body, sizeof(body)), 200);
    CHECK(strstr(body, "最新答复：") != NULL);
    /* The fourth query of this sender within the hour: refused politely;
     * another sender is not limited by it. */
    CHECK_INT(sms(e, "%2B8613900001111", receipt, body, sizeof(body)), 200);
    CHECK_STR(body, "查询过于频繁，请稍后再试。");
    CHECK_INT(sms(e, "%2B8613900002222", receipt, body, sizeof(body)), 200);
    CHECK(strstr(body, "最新答复：") != NULL);
    /* An unknown code: said so, nothing stored. */
    CHECK_INT(sms(e, "%2B8613900002222", "查询 ABCDE-FGHJK-MNPQR-STVWX", body,
                  sizeof(body)),
              200);
    CHECK_STR(body, "未找到该回执码对应的举报，请核对后重发。");
    /* The generic JSON gateway: the reply in its format, no receipt. */
    char json[256], req[1024], sig[65];
    snprintf(json, sizeof(json),
             "{\"message_id\":\"g-st\",\"from\":\"+8613900005555\","
             "\"text\":\"%s\"}",
             receipt);
    unsigned char md[32];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), "g", 1, (const unsigned char *)json, strlen(json), md,
         &mdlen);
    for (int i = 0; i < 32; i++)
        snprintf(sig + 2 * i, 3, "%02x", md[i]);
    snprintf(req, sizeof(req),
             "POST /sms/generic HTTP/1.1\r\nHost: e2e\r\nConnection: close"
             "\r\nX-Signature: sha256=%s\r\nContent-Type: application/json"
             "\r\nContent-Length: %zu\r\n\r\n%s",
             sig, strlen(json), json);
    struct e2e_reply r;
    e2e_reply_init(&r);
    CHECK_INT(e2e_exchange(e, req, strlen(req), 1, 10000, &r), 0);
    snprintf(body, sizeof(body), "%.*s", r.count ? (int)r.r[0].body_len : 0,
             r.count ? r.r[0].body : "");
    int gstatus = r.count ? r.r[0].status : 0;
    e2e_reply_free(&r);
    CHECK_INT(gstatus, 200);
    CHECK(strncmp(body, "{\"reply\":\"您的举报已收到，等待分办。最新答复：",
                  60) == 0);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 1);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM report_messages"), 3);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_sms_status_by_sms(void)
{
    struct e2e e;
    if (e2e_init(&e, "sms_status_by_sms") == 0)
        status_by_sms(&e);
    e2e_cleanup(&e);
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void repeat_window(struct e2e *e)
{
    CHECK_INT(e2e_migrate(e), 0);
    const char *const more[] = {"sms_repeat_window_s=3", NULL};
    CHECK_INT(start_with_secret(e, more), 0);
    /* Start 0.5 s before the edge of a fixed 3 s window, so the repeat a
     * second later falls in the next one: the window slides from the
     * first message, and it is still a repeat. */
    e2e_sleep_ms((int)(3000 - wall_ms() % 3000 + 2500) % 3000);
    uint64_t first_ms = wall_ms();
    char first[1024], again[1024];
    CHECK_INT(
        sms(e, "%2B8613900003333", "县医院院长收回扣", first, sizeof(first)),
        200);
    CHECK(reply_receipt(first, again, sizeof(again)));
    e2e_sleep_ms(1000);
    CHECK_INT(
        sms(e, "%2B8613900003333", "县医院院长收回扣", again, sizeof(again)),
        200);
    CHECK_STR(again, first);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 1);
    /* Three at once: still the one report and its reply. */
    char query[512], body[512];
    snprintf(query, sizeof(query),
             "key=s&from=%%2B8613900003333&to=12388&text=%%E5%%8E%%BF%%E5%%8C"
             "%%BB%%E9%%99%%A2%%E9%%99%%A2%%E9%%95%%BF%%E6%%94%%B6%%E5%%9B%%9E"
             "%%E6%%89%%A3&smsc=fake&charset=UTF-8");
    CHECK_INT(kannel_three(e, query, body, sizeof(body)), 0);
    CHECK_STR(body, first);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 1);
    /* Another sender, or another text: new reports. */
    CHECK_INT(
        sms(e, "%2B8613900004444", "县医院院长收回扣", body, sizeof(body)),
        200);
    CHECK(strcmp(body, first) != 0);
    CHECK_INT(
        sms(e, "%2B8613900003333", "县医院院长收回扣！", body, sizeof(body)),
        200);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 3);
    /* After the window the same message is a new report, with its own
     * receipt. */
    uint64_t now = wall_ms();
    if (now < first_ms + 3200)
        e2e_sleep_ms((int)(first_ms + 3200 - now));
    CHECK_INT(
        sms(e, "%2B8613900003333", "县医院院长收回扣", body, sizeof(body)),
        200);
    CHECK(strstr(body, "回执码") != NULL && strcmp(body, first) != 0);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 4);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_sms_repeat_window(void)
{
    struct e2e e;
    if (e2e_init(&e, "sms_repeat_window") == 0)
        repeat_window(&e);
    e2e_cleanup(&e);
}

/* --- B2: the database down while callbacks arrive ---------------------- */

/* One Kannel callback with message id id; the status, the body into body
 * (cap) and the time it took into ms. */
static int kannel_timed(const struct e2e *e, int id, char *body, size_t cap,
                        uint64_t *ms)
{
    char q[512];
    snprintf(q, sizeof(q),
             "from=%%2B86137%08d&to=12388&text=%%E4%%B8%%BE%%E6%%8A%%A5%d"
             "&id=b2-%d&smsc=fake&charset=UTF-8&time=1796100000",
             id, id, id);
    uint64_t t0 = e2e_now_ms();
    int status = kannel_get(e, q, body, cap);
    *ms = e2e_now_ms() - t0;
    return status;
}

#define B2_BEFORE 5
#define B2_TOTAL 30

static void database_outage(struct e2e *e)
{
    CHECK_INT(e2e_migrate(e), 0);
    CHECK_INT(start_with_secret(e, NULL), 0);
    static char first[B2_TOTAL][512];
    char body[512];
    uint64_t ms, worst = 0;
    for (int i = 0; i < B2_BEFORE; i++)
        CHECK_INT(kannel_timed(e, i, first[i], sizeof(first[i]), &ms), 200);

    /* The database goes away; callbacks keep coming, the first ones
     * before tipd's probes notice. Every answer must be non-2xx, and come
     * within 14 s (a Twilio-style gateway waits 15 s). */
    CHECK_INT(e2e_db_block(e), 0);
    int refused = 0;
    for (int i = B2_BEFORE; i < B2_TOTAL; i++) {
        int status = kannel_timed(e, i, body, sizeof(body), &ms);
        if (ms > worst)
            worst = ms;
        if (status >= 200 && status < 300) {
            test_failf(__FILE__, __LINE__,
                       "callback %d answered %d during the outage", i, status);
            return;
        }
        CHECK(ms < 14000);
        refused += status == 503;
    }
    /* Replays of messages stored before: non-2xx too, or their reply. */
    for (int i = 0; i < B2_BEFORE; i++) {
        int status = kannel_timed(e, i, body, sizeof(body), &ms);
        if (ms > worst)
            worst = ms;
        CHECK(ms < 14000);
        CHECK(status == 503 || (status == 200 && strcmp(body, first[i]) == 0));
    }
    fprintf(stderr,
            "B2: %d of %d callbacks during the outage answered 503, slowest "
            "answer %llu ms\n",
            refused, B2_TOTAL - B2_BEFORE, (unsigned long long)worst);
    CHECK_INT(refused, B2_TOTAL - B2_BEFORE);

    /* Back: the gateway's retries are stored once each; the messages
     * stored before get their first reply again. */
    CHECK_INT(e2e_db_unblock(e), 0);
    uint64_t back = e2e_now_ms();
    int status = 0;
    while (e2e_now_ms() - back < 15000) {
        status =
            kannel_timed(e, B2_BEFORE, first[B2_BEFORE], sizeof(first[0]), &ms);
        if (status == 200)
            break;
        e2e_sleep_ms(100);
    }
    CHECK_INT(status, 200);
    fprintf(stderr, "B2: first 200 %llu ms after the database came back\n",
            (unsigned long long)(e2e_now_ms() - back));
    /* Like a gateway, each message is retried until it is taken (a worker
     * whose reconnection backoff has not run out yet still says 503). */
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < B2_TOTAL; i++) {
            uint64_t t0 = e2e_now_ms();
            int got;
            /* The answer that ended the wait is the one checked: asking
             * again could reach the other worker, still backing off. */
            while ((got = kannel_timed(e, i, body, sizeof(body), &ms)) != 200 &&
                   e2e_now_ms() - t0 < 10000)
                e2e_sleep_ms(200);
            CHECK_INT(got, 200);
            if (round == 0 && i > B2_BEFORE)
                snprintf(first[i], sizeof(first[i]), "%s", body);
            else
                CHECK_STR(body, first[i]);
        }
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), B2_TOTAL);
    /* Each keeps Kannel's time of the message (%T), not the store time. */
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE received_at = "
                            "to_timestamp(1796100000)"),
              B2_TOTAL);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM idempotency_keys WHERE "
                            "scope = 'kannel:fake' AND key LIKE 'b2-%'"),
              B2_TOTAL);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_sms_database_outage(void)
{
    struct e2e e;
    if (e2e_init(&e, "sms_database_outage") == 0)
        database_outage(&e);
    e2e_cleanup(&e);
}

/* --- B4: long messages in parts ---------------------------------------- */

/* Part seq of total of message ref (8-bit reference when ref < 256) from
 * sender, with Kannel message id id. */
static int part(const struct e2e *e, const char *sender, unsigned ref,
                unsigned total, unsigned seq, const char *id, const char *text,
                char *body, size_t cap)
{
    char q[1024], t[800], udh[64];
    urlenc(text, t, sizeof(t));
    if (ref < 256)
        snprintf(udh, sizeof(udh), "%%05%%00%%03%%%02X%%%02X%%%02X", ref, total,
                 seq);
    else
        snprintf(udh, sizeof(udh), "%%06%%08%%04%%%02X%%%02X%%%02X%%%02X",
                 ref >> 8, ref & 0xff, total, seq);
    snprintf(q, sizeof(q),
             "from=%s&to=12388&text=%s&id=%s&smsc=fake&charset=UTF-8&udh=%s",
             sender, t, id, udh);
    return kannel_get(e, q, body, cap);
}

static void multipart(struct e2e *e)
{
    CHECK_INT(e2e_migrate(e), 0);
    const char *const more[] = {"sms_parts_window_s=3", NULL};
    CHECK_INT(start_with_secret(e, more), 0);
    static const char *const a[] = {"某镇党委书记王五", "在土地征收中",
                                    "收受好处费十万元"};
    char body[1024], receipt[64], sql[512];
    /* Shuffled, with a part delivered twice under another id (an SMSC
     * re-sending it): no reply SMS until the message is whole. */
    CHECK_INT(
        part(e, "%2B8613600001111", 42, 3, 3, "a3", a[2], body, sizeof(body)),
        200);
    CHECK_STR(body, "");
    CHECK_INT(
        part(e, "%2B8613600001111", 42, 3, 1, "a1", a[0], body, sizeof(body)),
        200);
    CHECK_STR(body, "");
    CHECK_INT(part(e, "%2B8613600001111", 42, 3, 1, "a1-again", a[0], body,
                   sizeof(body)),
              200);
    CHECK_STR(body, "");
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 0);
    CHECK_INT(
        part(e, "%2B8613600001111", 42, 3, 2, "a2", a[1], body, sizeof(body)),
        200);
    CHECK(reply_receipt(body, receipt, sizeof(receipt)));
    CHECK_INT(status_of(e, receipt), 200);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE content = "
                            "'某镇党委书记王五在土地征收中收受好处费十万元'"),
              1);
    /* The completing part re-delivered: the same reply, nothing new. */
    char again[1024];
    CHECK_INT(
        part(e, "%2B8613600001111", 42, 3, 2, "a2", a[1], again, sizeof(again)),
        200);
    CHECK_STR(again, body);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 1);

    /* A 16-bit reference, the three parts at once on three connections:
     * one report. */
    static const char *const b[] = {"B一", "B二", "B三"};
    int fds[3];
    for (unsigned i = 0; i < 3; i++) {
        char q[1024], t[64], req[1400];
        urlenc(b[i], t, sizeof(t));
        snprintf(q, sizeof(q),
                 "key=s&from=%%2B8613600002222&text=%s&id=b%u&smsc=fake&"
                 "charset=UTF-8&udh=%%06%%08%%04%%12%%34%%03%%%02X",
                 t, i, i + 1);
        snprintf(req, sizeof(req),
                 "GET /sms/kannel?%s HTTP/1.1\r\nHost: e2e\r\n"
                 "Connection: close\r\n\r\n",
                 q);
        fds[i] = e2e_connect(e);
        CHECK(fds[i] >= 0);
        CHECK_INT(e2e_send(fds[i], req, strlen(req)), 0);
    }
    int receipts = 0;
    for (int i = 0; i < 3; i++) {
        struct e2e_reply r;
        e2e_reply_init(&r);
        e2e_read(fds[i], &r, 1, 10000);
        close(fds[i]);
        int status = r.count == 1 ? r.r[0].status : 0;
        char got[1024];
        snprintf(got, sizeof(got), "%.*s",
                 r.count == 1 ? (int)r.r[0].body_len : 0,
                 r.count == 1 ? r.r[0].body : "");
        receipts += strstr(got, "回执码") != NULL;
        e2e_reply_free(&r);
        CHECK_INT(status, 200);
    }
    CHECK_INT(receipts, 1);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE content = "
                            "'B一B二B三'"),
              1);

    /* A part that never comes: after the window the rest is a fragment
     * report with the gap marked, found by the sweep. */
    CHECK_INT(
        part(e, "%2B8613600003333", 7, 3, 1, "c1", "C一", body, sizeof(body)),
        200);
    CHECK_INT(
        part(e, "%2B8613600003333", 7, 3, 3, "c3", "C三", body, sizeof(body)),
        200);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM reports WHERE content = "
             "'C一〔第2/3段未收到〕C三' AND sender_hash IS NOT NULL");
    uint64_t t0 = e2e_now_ms();
    while (e2e_number(e, sql) != 1 && e2e_now_ms() - t0 < 15000)
        e2e_sleep_ms(200);
    CHECK_INT(e2e_number(e, sql), 1);
    fprintf(stderr, "B4: fragment stored %llu ms after its last part\n",
            (unsigned long long)(e2e_now_ms() - t0));
    /* The same sender's other message with the same reference is its own
     * group (another total), and a late part completes the first message
     * as a new report: the fragment stays. */
    CHECK_INT(
        part(e, "%2B8613600003333", 7, 3, 2, "c2", "C二", body, sizeof(body)),
        200);
    CHECK(reply_receipt(body, receipt, sizeof(receipt)));
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE content = "
                            "'C一C二C三'"),
              1);
    CHECK_INT(e2e_number(e, sql), 1);

    /* A malformed header: 422, nothing stored. */
    CHECK_INT(kannel_get(e,
                         "from=1&text=x&id=bad&smsc=fake&charset=UTF-8&"
                         "udh=%05%00%03%01",
                         body, sizeof(body)),
              422);
    CHECK_INT(kannel_get(e,
                         "from=1&text=x&id=bad&smsc=fake&charset=UTF-8&"
                         "udh=%05%00%03%01%03%04",
                         body, sizeof(body)),
              422);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 4);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM sms_parts WHERE joined_at IS "
                            "NULL"),
              0);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports r WHERE r::text LIKE "
                            "'%1360000%'"),
              0);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_sms_multipart(void)
{
    struct e2e e;
    if (e2e_init(&e, "sms_multipart") == 0)
        multipart(&e);
    e2e_cleanup(&e);
}

/* --- a cloud platform: Alibaba Cloud SMS's uplink push ------------------ */

/* POSTs tests/sms/aliyun/FILE to /sms/aliyun?key=KEY; the status, the
 * body into body (cap). */
static int aliyun_push(const struct e2e *e, const char *key, const char *file,
                       char *body, size_t cap)
{
    char path[512], payload[8192], req[9000];
    snprintf(path, sizeof(path), "%s/tests/sms/aliyun/%s", TIPD_SOURCE_DIR,
             file);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t n = fread(payload, 1, sizeof(payload) - 1, f);
    fclose(f);
    payload[n] = '\0';
    int len = snprintf(req, sizeof(req),
                       "POST /sms/aliyun%s%s HTTP/1.1\r\nHost: e2e\r\n"
                       "Connection: close\r\nContent-Type: application/json"
                       "\r\nContent-Length: %zu\r\n\r\n%s",
                       key ? "?key=" : "", key ? key : "", n, payload);
    struct e2e_reply r;
    e2e_reply_init(&r);
    int status = 0;
    body[0] = '\0';
    if (e2e_exchange(e, req, (size_t)len, 1, 10000, &r) == 0 && r.count == 1) {
        status = r.r[0].status;
        snprintf(body, cap, "%.*s", (int)r.r[0].body_len, r.r[0].body);
    }
    e2e_reply_free(&r);
    return status;
}

static void aliyun(struct e2e *e)
{
    CHECK_INT(e2e_migrate(e), 0);
    char path[400], set[512], body[1024];
    snprintf(path, sizeof(path), "%s/aliyun.key", e->dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fprintf(f, "aliyun-push-secret\n");
    fclose(f);
    snprintf(set, sizeof(set), "sms_aliyun_key_file=%s", path);
    const char *const sets[] = {set, NULL};
    CHECK_INT(e2e_start(e, sets), 0);

    /* B3: the platform signs nothing; the URL's secret is the proof. */
    CHECK_INT(aliyun_push(e, NULL, "two_messages.json", body, sizeof(body)),
              403);
    CHECK_INT(aliyun_push(e, "wrong", "two_messages.json", body, sizeof(body)),
              403);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 0);

    /* Two messages, each a report with the platform's time. */
    CHECK_INT(aliyun_push(e, "aliyun-push-secret", "two_messages.json", body,
                          sizeof(body)),
              200);
    CHECK_STR(body, "{\"code\":0,\"msg\":\"接收成功\"}\n");
    CHECK_INT(e2e_number(e,
                         "SELECT count(*) FROM reports WHERE channel = 'sms' "
                         "AND sender_hash IS NOT NULL"),
              2);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE content = "
                            "'某乡卫生院院长长期吃空饷' AND received_at = "
                            "'2026-11-30 09:15:40+08'"),
              1);
    /* The platform pushes again (it did not see our answer): nothing new,
     * the same answer, three more times. */
    for (int i = 0; i < 3; i++)
        CHECK_INT(aliyun_push(e, "aliyun-push-secret", "two_messages.json",
                              body, sizeof(body)),
                  200);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 2);
    CHECK_INT(e2e_number(e,
                         "SELECT count(*) FROM idempotency_keys WHERE scope = "
                         "'aliyun'"),
              2);

    /* A string id, the compact time, a newline kept. */
    CHECK_INT(aliyun_push(e, "aliyun-push-secret", "string_ids.json", body,
                          sizeof(body)),
              200);
    CHECK_INT(e2e_number(e,
                         "SELECT count(*) FROM reports WHERE content = "
                         "E'村支书孙七截留低保金\\n涉及十几户' AND received_at "
                         "= '2026-11-30 10:15:00+08'"),
              1);
    /* No id: pushed twice, stored once (the repeat window). */
    CHECK_INT(aliyun_push(e, "aliyun-push-secret", "no_sequence.json", body,
                          sizeof(body)),
              200);
    CHECK_INT(aliyun_push(e, "aliyun-push-secret", "no_sequence.json", body,
                          sizeof(body)),
              200);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports WHERE content = "
                            "'镇长公车私用'"),
              1);
    /* One bad message: 422 naming the field, and its good neighbour is
     * not stored either. */
    CHECK_INT(aliyun_push(e, "aliyun-push-secret", "one_bad.json", body,
                          sizeof(body)),
              422);
    CHECK(strstr(body, "\"field\":\"content\"") != NULL);
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports"), 4);
    /* Numbers never stored. */
    CHECK_INT(e2e_number(e, "SELECT count(*) FROM reports r WHERE r::text LIKE "
                            "'%1380013800%' OR r::text LIKE '%13900139002%'"),
              0);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_sms_aliyun_push(void)
{
    struct e2e e;
    if (e2e_init(&e, "sms_aliyun_push") == 0)
        aliyun(&e);
    e2e_cleanup(&e);
}
