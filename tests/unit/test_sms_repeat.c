/*
 * Unit tests of sms_repeat: a repeat within the window of its first
 * sighting keeps that sighting's window even across a fixed window's edge;
 * after the window, or for another message, a window of its own; a full
 * table still answers.
 */
#include <string.h>

#include "sms_repeat.h"
#include "test.h"

void test_sms_repeat_windows(void)
{
    struct sms_repeats r;
    CHECK_INT(sms_repeats_init(&r, 64), 0);
    unsigned char a[16] = {1}, b[16] = {2};
    /* Windows of 60 s; the first sighting 1 s before an edge. */
    CHECK_INT(sms_repeats_window(&r, a, 119000, 60000), 1);
    CHECK_INT(sms_repeats_window(&r, a, 121000, 60000), 1);
    CHECK_INT(sms_repeats_window(&r, a, 178999, 60000), 1);
    /* Another message: now's window. */
    CHECK_INT(sms_repeats_window(&r, b, 121000, 60000), 2);
    /* 60 s after the first sighting: a new one. */
    CHECK_INT(sms_repeats_window(&r, a, 179000, 60000), 2);
    CHECK_INT(sms_repeats_window(&r, a, 238000, 60000), 2);
    CHECK_INT(sms_repeats_window(&r, a, 239000, 60000), 3);
    /* Far more messages than slots: every answer is a window near now. */
    for (int i = 0; i < 10000; i++) {
        unsigned char id[16];
        memset(id, 0, sizeof(id));
        memcpy(id, &i, sizeof(i));
        int64_t w = sms_repeats_window(&r, id, 600000 + (uint64_t)i, 60000);
        if (w != 10) {
            test_failf(__FILE__, __LINE__, "message %d: window %lld", i,
                       (long long)w);
            break;
        }
    }
    sms_repeats_cleanup(&r);
}
