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
#include <unistd.h>

#include "harness.h"
#include "test.h"

static long long count(const struct e2e *e, const char *sql)
{
    char v[64];
    if (e2e_sql(e, false, sql, v, sizeof(v)) != 0)
        return -1;
    return strtoll(v, NULL, 10);
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
    CHECK_INT(count(e, "SELECT count(*) FROM reports WHERE channel = 'sms'"),
              20);
    CHECK_INT(count(e, "SELECT count(*) FROM idempotency_keys WHERE scope = "
                       "'kannel:fake'"),
              20);
    CHECK_INT(count(e, "SELECT count(*) FROM reports WHERE content = "
                       "'举报第7条' AND sender_hash IS NOT NULL"),
              1);
    /* The number is never stored, only its keyed hash. */
    CHECK_INT(count(e, "SELECT count(*) FROM reports r WHERE r::text LIKE "
                       "'%13800000%'"),
              0);

    /* UCS-2 as Kannel delivers it without mo-recode: 举报 in UTF-16BE. */
    static const char ucs2[] =
        "GET /sms/kannel?key=kannel-secret&from=1&to=2&text=%4E%3E%62%A5"
        "&id=u1&smsc=fake&coding=2&charset=UTF-16BE HTTP/1.1\r\nHost: e2e\r\n"
        "Connection: close\r\n\r\n";
    CHECK_INT(send_one(e, ucs2), 200);
    CHECK_INT(count(e, "SELECT count(*) FROM reports WHERE content = '举报'"),
              1);

    long long before = count(e, "SELECT count(*) FROM reports");
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
    static const char body[] = "{\"message_id\":\"g1\",\"from\":\"+86139\","
                               "\"to\":\"12388\",\"text\":\"通用网关举报\"}";
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
    CHECK_INT(count(e, "SELECT count(*) FROM reports"), before + 1);
    CHECK_INT(e2e_stop(e, 10000, NULL), 0);
}

void test_sms_replays_and_forgeries(void)
{
    struct e2e e;
    if (e2e_init(&e, "sms_replays_and_forgeries") == 0)
        replays_and_forgeries(&e);
    e2e_cleanup(&e);
}
