/*
 * Unit tests of report: JSON decoding and the validation of every field,
 * with the field each refusal names.
 */
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "report.h"
#include "test.h"

/* Decodes json as a public report; returns 0 or the error status, and the
 * refused field in *field. */
static int decode(const char *json, const char **field)
{
    struct arena a;
    struct report r;
    struct report_error err = {0};
    arena_init(&a, 4096);
    int rc = report_from_json(&a, json, strlen(json), REPORT_SOURCE_PUBLIC, 8,
                              &r, &err);
    arena_cleanup(&a);
    *field = err.field;
    return rc == 0 ? 0 : err.status;
}

void test_report_json_fields(void)
{
    struct arena a;
    struct report r;
    struct report_error err;
    arena_init(&a, 4096);
    const char *ok =
        "{\"channel\":\"web\",\"content\":\"某县水利局局长张三收受贿赂5万元\","
        "\"region\":\"410105\",\"accused\":{\"name\":\"张三\",\"unit\":"
        "\"某县水利局\",\"position\":\"局长\",\"rank\":\"正科级\"},"
        "\"real_name\":true,\"reporter\":{\"name\":\"李四\",\"contact\":"
        "\"13800000000\"}}";
    CHECK_INT(
        report_from_json(&a, ok, strlen(ok), REPORT_SOURCE_PUBLIC, 8, &r, &err),
        0);
    CHECK_INT(r.channel, REPORT_WEB);
    CHECK_STR(r.region, "410105");
    CHECK_STR(r.accused_name, "张三");
    CHECK_STR(r.accused_rank, "正科级");
    CHECK(r.real_name);
    CHECK_STR(r.reporter_contact, "13800000000");
    arena_cleanup(&a);

    const char *field;
    CHECK_INT(decode("{\"content\":\"x\"}", &field), 0);
    CHECK_INT(decode("not json", &field), 400);
    CHECK_INT(decode("[1,2]", &field), 400);
    CHECK_INT(decode("{\"content\":\"x\",\"a\":[[[[[[[[[1]]]]]]]]]}", &field),
              400);
    /* A lone surrogate is not JSON text cJSON accepts. */
    CHECK_INT(decode("{\"content\":\"\\u00ff\\ud800\"}", &field), 400);
    CHECK_INT(decode("{\"content\":\"a\xff\"}", &field), 400);
    /* A \u0000 is refused, not cut short there; an escaped backslash
     * before u0000 is text. */
    CHECK_INT(decode("{\"content\":\"a\\u0000b\"}", &field), 422);
    CHECK_INT(decode("{\"content\":\"a\\\\u0000b\"}", &field), 0);
    CHECK_INT(decode("{}", &field), 422);
    CHECK_STR(field, "content");
    CHECK_INT(decode("{\"content\":\"  \\n \"}", &field), 422);
    CHECK_STR(field, "content");
    CHECK_INT(decode("{\"content\":5}", &field), 422);
    CHECK_STR(field, "content");
    CHECK_INT(decode("{\"content\":\"x\",\"region\":\"4101\"}", &field), 422);
    CHECK_STR(field, "region");
    CHECK_INT(decode("{\"content\":\"x\",\"region\":\"41010a\"}", &field), 422);
    CHECK_INT(decode("{\"content\":\"x\",\"channel\":\"fax\"}", &field), 422);
    CHECK_STR(field, "channel");
    CHECK_INT(decode("{\"content\":\"x\",\"channel\":\"phone\"}", &field), 422);
    CHECK_STR(field, "channel");
    CHECK_INT(decode("{\"content\":\"x\",\"accused\":{\"name\":\"a\\u0001\"}}",
                     &field),
              422);
    CHECK_STR(field, "accused_name");
    CHECK_INT(
        decode("{\"content\":\"x\",\"reporter\":{\"name\":\"李四\"}}", &field),
        422);
    CHECK_STR(field, "reporter");
    CHECK_INT(decode("{\"content\":\"x\",\"real_name\":\"yes\"}", &field), 422);
    CHECK_STR(field, "real_name");
    CHECK_INT(decode("{\"content\":\"x\",\"accused_name\":\"张三\"}", &field),
              422); /* unknown top-level key: a typo, not ignored */
    CHECK_INT(decode("{\"content\":\"x\",\"external_id\":\"c1\"}", &field),
              422);
    CHECK_STR(field, "external_id");

    /* Length limits count characters, as PostgreSQL does. */
    static char big[3 * 20001 + 64];
    size_t n = (size_t)snprintf(big, sizeof(big), "{\"content\":\"");
    for (int i = 0; i < 20000; i++) {
        memcpy(big + n, "中", 3);
        n += 3;
    }
    memcpy(big + n, "\"}", 3);
    CHECK_INT(decode(big, &field), 0);
    memcpy(big + n, "中\"}", 6);
    CHECK_INT(decode(big, &field), 422);
    CHECK_STR(field, "content");
}

void test_report_times(void)
{
    double t;
    CHECK_INT(report_parse_time("1970-01-01T00:00:00Z", &t), 0);
    CHECK(t == 0);
    CHECK_INT(report_parse_time("2026-11-22T09:30:00+08:00", &t), 0);
    CHECK(t == 1795311000.0);
    CHECK_INT(report_parse_time("2024-02-29T12:00:00.250Z", &t), 0);
    CHECK(t == 1709208000.25);
    CHECK_INT(report_parse_time("2025-02-29T12:00:00Z", &t), -1);
    CHECK_INT(report_parse_time("2026-11-22 09:30:00", &t), -1);
    CHECK_INT(report_parse_time("2026-13-01T00:00:00Z", &t), -1);
    CHECK_INT(report_parse_time("2026-11-22T09:30:00+8:00", &t), -1);
    CHECK_INT(report_parse_time("2026-11-22T24:00:00Z", &t), -1);
}
