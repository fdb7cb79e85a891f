/*
 * Unit tests of sms_parse: each gateway's callback decoded from the
 * requests gateways send (Kannel's get-url with UTF-8 and UCS-2 text, a
 * part and a status query; Twilio's form against the signature Twilio's
 * documentation publishes; the generic JSON with its HMAC; the recorded
 * Aliyun pushes of tests/sms/aliyun), and every refusal in the order a
 * gateway sees them.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>

#include "form.h"
#include "sms_parse.h"
#include "test.h"

static const struct sms_parse_config cfg = {
    .kannel_key = "k",
    .twilio_token = "12345",
    .twilio_url = "https://mycompany.com/myapp.php?foo=1&bar=2",
    .generic_key = "g",
    .aliyun_key = "a",
    .status_keywords = "查询,CX,status",
    .parts_max = 4,
    .cloud_batch_max = 2,
    .now = 1796100000,
};

/* A request as the connection hands it over; strings borrowed. */
static struct http_request request(struct arena *a, enum http_method m,
                                   const char *query, const char *body,
                                   struct http_header *h)
{
    struct http_request r;
    memset(&r, 0, sizeof(r));
    r.method = m;
    r.query = query;
    r.arena = a;
    if (body != NULL) {
        r.body.data = (char *)body;
        r.body.len = strlen(body);
    }
    if (h != NULL && h->name != NULL) {
        r.headers = h;
        r.header_count = 1;
    }
    return r;
}

static int kannel(struct arena *a, const char *query, struct sms_message *m,
                  struct sms_refusal *why)
{
    struct http_request r = request(a, HTTP_METHOD_GET, query, NULL, NULL);
    return sms_parse_kannel(a, &r, &cfg, m, why);
}

static void test_kannel(struct arena *a)
{
    struct sms_message m;
    struct sms_refusal why;
    /* UCS-2 as a phone sends Chinese (举报), with Kannel's %T. */
    CHECK_INT(kannel(a,
                     "key=k&from=%2B86138&text=%4E%3E%62%A5&id=u1&smsc=fake&"
                     "time=1796000000&coding=2&charset=UTF-16BE&udh=",
                     &m, &why),
              0);
    CHECK_INT(m.kind, SMS_REPORT);
    CHECK_STR(m.text, "举报");
    CHECK_STR(m.from, "+86138");
    CHECK_STR(m.id, "u1");
    CHECK_STR(m.scope, "kannel:fake");
    CHECK(m.has_sent && m.sent == 1796000000);
    /* A surrogate pair and a newline; a %T more than a day ahead is not
     * taken. */
    CHECK_INT(kannel(a,
                     "key=k&from=1&text=%D8%3D%DE%00%00%0A&coding=2&time="
                     "1796190000",
                     &m, &why),
              0);
    CHECK_STR(m.text, "\xf0\x9f\x98\x80\n");
    CHECK(!m.has_sent);
    CHECK_STR(m.scope, "kannel:");
    CHECK(m.id == NULL);
    /* A U+0000 (UCS-2 or %00) does not end the text: it is kept as
     * U+FFFD and what follows it is not lost. */
    CHECK_INT(kannel(a, "key=k&from=1&text=%00a%00%00%00b&coding=2", &m, &why),
              0);
    CHECK_STR(m.text, "a\xef\xbf\xbd"
                      "b");
    CHECK_INT(kannel(a, "key=k&from=1&text=a%00b", &m, &why), 0);
    CHECK_STR(m.text, "a\xef\xbf\xbd"
                      "b");
    /* A post-url: the text is the body. */
    struct http_request r = request(a, HTTP_METHOD_POST,
                                    "key=k&from=1&charset=UTF-8", "正文", NULL);
    CHECK_INT(sms_parse_kannel(a, &r, &cfg, &m, &why), 0);
    CHECK_STR(m.text, "正文");
    /* A status query: the code canonical, whatever the separators. */
    CHECK_INT(kannel(a,
                     "key=k&from=1&text=%E6%9F%A5%E8%AF%A2%EF%BC%9Aabcde-"
                     "fghjk-mnpqr-stvwo",
                     &m, &why),
              0);
    CHECK_INT(m.kind, SMS_STATUS_QUERY);
    CHECK_STR(m.code, "ABCDEFGHJKMNPQRSTVW0");
    /* A part: 2 of 3, 8-bit reference 0x12. */
    CHECK_INT(
        kannel(a, "key=k&from=1&text=ab&udh=%05%00%03%12%03%02", &m, &why), 0);
    CHECK_INT(m.kind, SMS_PART);
    CHECK_INT(m.part.ref, 0x12);
    CHECK_INT(m.part.total, 3);
    CHECK_INT(m.part.seq, 2);
    /* An id with no value is none, for a part too (fuzz_sms_kannel's
     * regressions/sms_kannel/part-empty-id). */
    CHECK_INT(
        kannel(a, "key=k&from=1&text=ab&id&udh=%05%00%03%12%03%02", &m, &why),
        0);
    CHECK(m.id == NULL);

    /* Refusals, in order: a malformed query before the key. */
    CHECK_INT(kannel(a, "key=k&text=%zz", &m, &why), 400);
    CHECK_INT(kannel(a, "key=K&text=x&from=1", &m, &why), 403);
    CHECK_STR(why.reason, "this callback is not from the configured gateway");
    CHECK_INT(kannel(a, "text=x&from=1", &m, &why), 403);
    CHECK_INT(kannel(a, "key=k&from=1", &m, &why), 422);
    CHECK_STR(why.field, "text");
    CHECK_INT(kannel(a, "key=k&from=1&text=%4E&charset=UTF-16BE", &m, &why),
              422);
    CHECK_STR(why.reason, "the message is not valid UTF-16");
    CHECK_INT(kannel(a, "key=k&from=1&text=%DC%00&charset=ucs-2", &m, &why),
              422);
    CHECK_INT(kannel(a, "key=k&from=1&text=x&udh=%05%00%03%01", &m, &why), 422);
    CHECK_STR(why.field, "udh");
    CHECK_INT(kannel(a, "key=k&from=1&text=x&udh=%05%00%03%01%05%01", &m, &why),
              422); /* 5 parts, sms_parts_max 4 */
    CHECK_STR(why.reason,
              "the message has more parts than sms_parts_max allows");
    CHECK_INT(kannel(a, "key=k&text=x&udh=%05%00%03%01%02%01", &m, &why), 422);
    CHECK_STR(why.field, "from");
    CHECK_INT(kannel(a, "key=k&from=1&text=%01", &m, &why), 422);
    CHECK_STR(why.field, "text");
    CHECK_INT(kannel(a, "key=k&text=x", &m, &why), 422);
    CHECK_STR(why.field, "from");
    /* A message id no store could key by is dropped, not refused. */
    char q[400];
    snprintf(q, sizeof(q), "key=k&from=1&text=x&id=%0201d", 0);
    CHECK_INT(kannel(a, q, &m, &why), 0);
    CHECK(m.id == NULL);
}

static void test_twilio(struct arena *a)
{
    /* The example of Twilio's "Validating requests" documentation: token
     * 12345, its URL and parameters give 0/KCTR6DLpKmkAf8muzZqo1nDgQ=. */
    static const char body[] =
        "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&"
        "From=%2B12349013030&To=%2B18005551212";
    static const struct form_limits lim = {
        .max_fields = 16, .max_name_bytes = 64, .max_value_bytes = 64};
    struct form f;
    const char *reason;
    CHECK_INT(form_parse_urlencoded(a, body, strlen(body), &lim, &f, &reason),
              0);
    char sig[64];
    sms_parse_twilio_signature(cfg.twilio_token, cfg.twilio_url, &f, sig);
    CHECK_STR(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");

    struct sms_message m;
    struct sms_refusal why;
    struct http_header h = {"X-Twilio-Signature", 18, sig, strlen(sig)};
    /* Signed: past the proof to the fields (no Body: 422, not 403). */
    struct http_request r = request(a, HTTP_METHOD_POST, "", body, &h);
    CHECK_INT(sms_parse_twilio(a, &r, &cfg, &m, &why), 422);
    CHECK_STR(why.field, "text");
    /* Unsigned, or one byte of the signature wrong: 403. */
    struct http_header none = {0};
    r = request(a, HTTP_METHOD_POST, "", body, &none);
    CHECK_INT(sms_parse_twilio(a, &r, &cfg, &m, &why), 403);
    sig[0] = '1';
    r = request(a, HTTP_METHOD_POST, "", body, &h);
    CHECK_INT(sms_parse_twilio(a, &r, &cfg, &m, &why), 403);
    /* A message. */
    static const char msg[] =
        "From=%2B8613800004444&Body=%E4%B8%BE%E6%8A%A5&MessageSid=SM1";
    CHECK_INT(form_parse_urlencoded(a, msg, strlen(msg), &lim, &f, &reason), 0);
    sms_parse_twilio_signature(cfg.twilio_token, cfg.twilio_url, &f, sig);
    h.value_len = strlen(sig);
    r = request(a, HTTP_METHOD_POST, "", msg, &h);
    CHECK_INT(sms_parse_twilio(a, &r, &cfg, &m, &why), 0);
    CHECK_INT(m.kind, SMS_REPORT);
    CHECK_STR(m.text, "举报");
    CHECK_STR(m.from, "+8613800004444");
    CHECK_STR(m.id, "SM1");
    CHECK_STR(m.scope, "twilio");
    CHECK(!m.has_sent);
    /* A %00 in the Body is refused (form data is text), not cut short. */
    r = request(a, HTTP_METHOD_POST, "",
                "From=%2B8613800004444&Body=%E4%B8%BE%00%E6%8A%A5", &h);
    CHECK_INT(sms_parse_twilio(a, &r, &cfg, &m, &why), 400);
    /* A malformed body is refused as such before the signature. */
    r = request(a, HTTP_METHOD_POST, "", "Body=%G1", &h);
    CHECK_INT(sms_parse_twilio(a, &r, &cfg, &m, &why), 400);
}

static int generic(struct arena *a, const char *body, bool upper,
                   struct sms_message *m, struct sms_refusal *why)
{
    unsigned char md[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), "g", 1, (const unsigned char *)body, strlen(body), md,
         &n);
    char *sig = arena_alloc(a, 72);
    memcpy(sig, "sha256=", 7);
    for (int i = 0; i < 32; i++)
        snprintf(sig + 7 + 2 * i, 3, upper ? "%02X" : "%02x", md[i]);
    struct http_header h = {"X-Signature", 11, sig, 71};
    struct http_request r = request(a, HTTP_METHOD_POST, "", body, &h);
    return sms_parse_generic(a, &r, &cfg, m, why);
}

static void test_generic(struct arena *a)
{
    struct sms_message m;
    struct sms_refusal why;
    CHECK_INT(generic(a,
                      "{\"message_id\":\"g1\",\"from\":\"+86139\",\"text\":"
                      "\"通用网关举报\",\"received_at\":\"2026-11-30T08:00:00+"
                      "08:00\"}",
                      true, &m, &why),
              0);
    CHECK_STR(m.text, "通用网关举报");
    CHECK_STR(m.from, "+86139");
    CHECK_STR(m.id, "g1");
    CHECK_STR(m.scope, "generic");
    CHECK(m.has_sent && m.sent == 1795996800);
    /* An unreadable time is no reason to refuse; no id is allowed. */
    CHECK_INT(generic(a,
                      "{\"from\":\"1\",\"text\":\"CX ABCDE FGHJK MNPQR "
                      "STVWX\",\"received_at\":\"yesterday\"}",
                      false, &m, &why),
              0);
    CHECK_INT(m.kind, SMS_STATUS_QUERY);
    CHECK(!m.has_sent && m.id == NULL);
    /* A \u0000 does not end the text (an escaped backslash before u0000
     * is text, not an escape). */
    CHECK_INT(generic(a,
                      "{\"from\":\"+86139\",\"text\":\"a\\u0000b\\\\u0000c\"}",
                      false, &m, &why),
              0);
    CHECK_STR(m.text, "a\xef\xbf\xbd"
                      "b\\u0000c");
    CHECK_INT(generic(a, "[1]", false, &m, &why), 400);
    CHECK_INT(generic(a, "{\"text\":\"x\"}", false, &m, &why), 422);
    CHECK_STR(why.field, "from");
    CHECK_INT(generic(a, "{\"from\":\"1\",\"text\":7}", false, &m, &why), 422);
    CHECK_STR(why.field, "text");
    CHECK_INT(generic(a, "{\"from\":\"1\",\"text\":\"\"}", false, &m, &why),
              422);
    /* No header, a short one, another's body: 403 before the JSON. */
    struct http_header none = {0};
    struct http_request r = request(a, HTTP_METHOD_POST, "", "{", &none);
    CHECK_INT(sms_parse_generic(a, &r, &cfg, &m, &why), 403);
    struct http_header bad = {"X-Signature", 11, "sha256=00", 9};
    r = request(a, HTTP_METHOD_POST, "", "{", &bad);
    CHECK_INT(sms_parse_generic(a, &r, &cfg, &m, &why), 403);
}

/* tests/sms/aliyun/FILE into the arena. */
static const char *recorded(struct arena *a, const char *file)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/sms/aliyun/%s", TIPD_SOURCE_DIR,
             file);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *s = arena_alloc(a, 8192);
    size_t n = fread(s, 1, 8191, f);
    fclose(f);
    s[n] = '\0';
    return s;
}

static int aliyun(struct arena *a, const char *query, const char *body,
                  struct sms_message **msgs, size_t *count,
                  struct sms_refusal *why)
{
    struct http_request r = request(a, HTTP_METHOD_POST, query, body, NULL);
    return sms_parse_aliyun(a, &r, &cfg, msgs, count, why);
}

static void test_aliyun(struct arena *a)
{
    struct sms_message *m;
    size_t n;
    struct sms_refusal why;
    const char *two = recorded(a, "two_messages.json");
    CHECK(two != NULL);
    CHECK_INT(aliyun(a, "key=a", two, &m, &n, &why), 0);
    CHECK_INT(n, 2);
    CHECK_STR(m[0].id, "1234567890");
    CHECK_STR(m[1].id, "1234567891");
    CHECK_STR(m[0].from, "13800138001");
    CHECK_STR(m[1].text, "某乡卫生院院长长期吃空饷");
    CHECK_STR(m[0].scope, "aliyun");
    CHECK(m[0].has_sent && m[0].sent == 1796001302);
    const char *ids = recorded(a, "string_ids.json");
    CHECK_INT(aliyun(a, "key=a", ids, &m, &n, &why), 0);
    CHECK_STR(m[0].id, "aly-20261130-0001");
    CHECK(m[0].has_sent && m[0].sent == 1796004900);
    /* A message that is only a code is a report: no reply channel. */
    CHECK_INT(aliyun(a, "key=a",
                     "[{\"phone_number\":\"1\",\"content\":\"ABCDE-FGHJK-"
                     "MNPQR-STVWX\"}]",
                     &m, &n, &why),
              0);
    CHECK_INT(m[0].kind, SMS_REPORT);
    CHECK(m[0].id == NULL && !m[0].has_sent);

    CHECK_INT(aliyun(a, "", two, &m, &n, &why), 403);
    CHECK_INT(aliyun(a, "key=b", two, &m, &n, &why), 403);
    CHECK_INT(aliyun(a, "key=%zz", two, &m, &n, &why), 403);
    CHECK_INT(aliyun(a, "key=a", "{}", &m, &n, &why), 400);
    CHECK_INT(aliyun(a, "key=a", "[]", &m, &n, &why), 400);
    CHECK_INT(aliyun(a, "key=a", "[{},{},{}]", &m, &n, &why), 413);
    CHECK_INT(aliyun(a, "key=a", recorded(a, "one_bad.json"), &m, &n, &why),
              422);
    CHECK_STR(why.field, "content");
    CHECK(m == NULL && n == 0);
    CHECK_INT(aliyun(a, "key=a",
                     "[{\"phone_number\":\"1\",\"content\":\"x\","
                     "\"sequence_id\":-1}]",
                     &m, &n, &why),
              422);
    CHECK_STR(why.field, "sequence_id");
    CHECK_INT(aliyun(a, "key=a", "[7]", &m, &n, &why), 422);
    CHECK_STR(why.reason, "each message must be a JSON object");
}

void test_sms_parse_gateways(void)
{
    struct arena a;
    arena_init(&a, 4096);
    test_kannel(&a);
    if (!test_failed())
        test_twilio(&a);
    if (!test_failed())
        test_generic(&a);
    if (!test_failed())
        test_aliyun(&a);
    arena_cleanup(&a);
}
