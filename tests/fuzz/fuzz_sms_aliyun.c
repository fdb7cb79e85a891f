/*
 * fuzz_sms_aliyun: Alibaba Cloud's uplink push (sms_parse_aliyun): the
 * URL's key, the JSON array, each message's fields, sequence_id as a
 * number or a string, send_time in Beijing time.
 *
 * Input: QUERY '\n' BODY (no newline: all of it is the body, with an
 * empty query, which must be 403). Beyond sms_fuzz's invariants: a push
 * is accepted only with the configured key, holds 1 to cloud_batch_max
 * messages, all reports of scope "aliyun", and a send_time taken is a
 * time report_parse_time could give (1970 to 2200).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sms_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *query = "";
    size_t qlen = 0;
    (void)sms_fuzz_line(&data, &size, &query, &qlen);
    struct sms_fuzz f;
    sms_fuzz_init(&f, HTTP_METHOD_POST, query, qlen, (const char *)data, size);
    struct sms_message *msgs;
    size_t count;
    struct sms_refusal why;
    int status = sms_parse_aliyun(&f.arena, &f.req, &sms_fuzz_config, &msgs,
                                  &count, &why);
    if (status != 0) {
        if (status != why.status || msgs != NULL || count != 0)
            abort();
        sms_fuzz_check_refusal(&why);
        sms_fuzz_cleanup(&f);
        return 0;
    }
    if (count == 0 || count > sms_fuzz_config.cloud_batch_max)
        abort();
    for (size_t i = 0; i < count; i++) {
        sms_fuzz_check_message(&msgs[i]);
        if (msgs[i].kind != SMS_REPORT || strcmp(msgs[i].scope, "aliyun") != 0)
            abort();
        /* 1970-01-01 to the end of 2200, Beijing time. */
        if (msgs[i].has_sent &&
            (msgs[i].sent < -8 * 3600 || msgs[i].sent > 7289654400.0))
            abort();
    }
    size_t n = 0;
    const char *key =
        sms_fuzz_form_value(&f, f.query, strlen(f.query), "key", &n);
    if (key == NULL || n != strlen(sms_fuzz_config.aliyun_key) ||
        memcmp(key, sms_fuzz_config.aliyun_key, n) != 0)
        abort(); /* accepted without the key */
    sms_fuzz_cleanup(&f);
    return 0;
}
