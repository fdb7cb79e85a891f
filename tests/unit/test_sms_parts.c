/*
 * Unit tests of sms_parts' user data header reader: the concatenation
 * element with an 8-bit and a 16-bit reference, among other elements, and
 * every malformed or impossible header refused.
 */
#include "sms_parts.h"
#include "test.h"

static int parse(const unsigned char *udh, size_t len, struct sms_part *p)
{
    return sms_parts_parse_udh(udh, len, p);
}

void test_sms_udh_parts(void)
{
    struct sms_part p;
    /* No header: no part. */
    CHECK_INT(parse((const unsigned char *)"", 0, &p), 0);
    /* 8-bit reference 0x2A, part 2 of 3. */
    static const unsigned char a[] = {5, 0x00, 3, 0x2a, 3, 2};
    CHECK_INT(parse(a, sizeof(a), &p), 1);
    CHECK_INT(p.ref, 0x2a);
    CHECK_INT(p.total, 3);
    CHECK_INT(p.seq, 2);
    /* 16-bit reference 0x1234, part 1 of 2, after a port element. */
    static const unsigned char b[] = {10,   0x05, 4,    0x0b, 0x84, 0x23, 0xf0,
                                      0x08, 4,    0x12, 0x34, 2,    1};
    CHECK_INT(parse(b, sizeof(b) - 2, &p), -1); /* UDHL says more */
    static const unsigned char c[] = {12,   0x05, 4,    0x0b, 0x84, 0x23, 0xf0,
                                      0x08, 4,    0x12, 0x34, 2,    1};
    CHECK_INT(parse(c, sizeof(c), &p), 1);
    CHECK_INT(p.ref, 0x1234);
    CHECK_INT(p.total, 2);
    CHECK_INT(p.seq, 1);
    /* Only other elements: not a part. One part of one: a whole message. */
    static const unsigned char d[] = {6, 0x05, 4, 0x0b, 0x84, 0x23, 0xf0};
    CHECK_INT(parse(d, sizeof(d), &p), 0);
    static const unsigned char e[] = {5, 0x00, 3, 0x01, 1, 1};
    CHECK_INT(parse(e, sizeof(e), &p), 0);
    /* Impossible numbers and broken lengths: refused. */
    static const unsigned char bad[][7] = {
        {5, 0x00, 3, 0x01, 3, 0},    /* sequence 0 */
        {5, 0x00, 3, 0x01, 3, 4},    /* sequence past the total */
        {5, 0x00, 3, 0x01, 0, 0},    /* no parts */
        {5, 0x00, 4, 0x01, 3, 1},    /* element longer than the header */
        {6, 0x00, 3, 0x01, 3, 1, 0}, /* a dangling element */
    };
    static const size_t bad_len[] = {6, 6, 6, 6, 7};
    for (size_t i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++)
        if (parse(bad[i], bad_len[i], &p) != -1)
            test_failf(__FILE__, __LINE__, "header %zu not refused", i);
    static const unsigned char udhl_only[] = {0};
    CHECK_INT(parse(udhl_only, 1, &p), 0);
    static const unsigned char short_len[] = {9, 0x00, 3, 0x01, 3, 1};
    CHECK_INT(parse(short_len, sizeof(short_len), &p), -1);
}
