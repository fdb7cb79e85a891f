/*
 * Unit tests of utf8: the strict validator at every edge of RFC 3629's
 * table (overlongs, surrogates, past U+10FFFF, cut sequences), the count
 * PostgreSQL's length() would give, and which characters are controls.
 */
#include <string.h>

#include "test.h"
#include "utf8.h"

struct sample {
    const char *s;
    size_t len; /* 0: strlen(s) */
};

#define S(lit)                                                                 \
    {                                                                          \
        lit, sizeof(lit) - 1                                                   \
    }

void test_utf8_strict(void)
{
    static const struct sample good[] = {
        S(""),
        S("abc"),
        S("某局长收受贿赂，金额巨大。"),
        S("\x00"),             /* NUL is a character; controls are separate */
        S("\x7f"),             /* the last one-byte form */
        S("\xc2\x80"),         /* U+0080, the first two-byte form */
        S("\xdf\xbf"),         /* U+07FF */
        S("\xe0\xa0\x80"),     /* U+0800, the first three-byte form */
        S("\xed\x9f\xbf"),     /* U+D7FF, just below the surrogates */
        S("\xee\x80\x80"),     /* U+E000, just above them */
        S("\xef\xbf\xbf"),     /* U+FFFF */
        S("\xf0\x90\x80\x80"), /* U+10000, the first four-byte form */
        S("\xf0\x9f\x98\x80"), /* an emoji */
        S("\xf4\x8f\xbf\xbf"), /* U+10FFFF, the last code point */
    };
    static const struct sample bad[] = {
        S("\xc0\xaf"),                 /* overlong '/' */
        S("\xc1\xbf"),                 /* overlong U+007F */
        S("\xe0\x80\xaf"),             /* overlong '/' in three bytes */
        S("\xe0\x9f\xbf"),             /* overlong U+07FF */
        S("\xf0\x80\x80\xaf"),         /* overlong '/' in four bytes */
        S("\xf0\x8f\xbf\xbf"),         /* overlong U+FFFF */
        S("\xed\xa0\x80"),             /* U+D800, the first surrogate */
        S("\xed\xbf\xbf"),             /* U+DFFF, the last */
        S("\xed\xa0\xbd\xed\xb8\x80"), /* a CESU-8 surrogate pair */
        S("\xf4\x90\x80\x80"),         /* U+110000 */
        S("\xf5\x80\x80\x80"),         /* lead byte past U+10FFFF */
        S("\xf8\x88\x80\x80\x80"),     /* five-byte form */
        S("\xe4\xb8"),                 /* cut short */
        S("举\xe6\x8a"),               /* cut short after a good one */
        S("\xf0\x9f\x98"),             /* four-byte form cut short */
        S("\xe4\x41\xbe"),             /* second byte not a continuation */
        S("\xf0\x9f\x41\x80"),         /* third byte not a continuation */
        S("\xf0\x9f\x98\x41"),         /* fourth byte not a continuation */
        S("\x80"),                     /* lone continuation */
        S("a\xbf"),                    /* continuation after ASCII */
        S("\xff"),
        S("\xfe"),
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!utf8_valid(good[i].s, good[i].len))
            test_failf(__FILE__, __LINE__, "good sequence %zu refused", i);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (utf8_valid(bad[i].s, bad[i].len))
            test_failf(__FILE__, __LINE__, "bad sequence %zu accepted", i);

    /* The length is what is checked, not a NUL: a cut at len is cut. */
    CHECK(!utf8_valid("举报", 5));
    CHECK(utf8_valid("举报", 6));
    CHECK(utf8_valid("\xe4\xb8\xbe", 3));
}

void test_utf8_count_and_controls(void)
{
    /* PostgreSQL: SELECT length('举报a😀') = 4. */
    CHECK_INT(utf8_count("", 0), 0);
    CHECK_INT(utf8_count("abc", 3), 3);
    CHECK_INT(utf8_count("举报a\xf0\x9f\x98\x80", 11), 4);
    CHECK_INT(utf8_count("某局长收受贿赂", strlen("某局长收受贿赂")), 7);
    CHECK_INT(utf8_count("\xc2\x85\x00", 3), 2);

    /* C0: all but tab; \n and \r only when newlines are allowed. */
    CHECK(!utf8_has_controls("", 0, false));
    CHECK(!utf8_has_controls("举报 内容", strlen("举报 内容"), false));
    CHECK(!utf8_has_controls("a\tb", 3, false));
    CHECK(utf8_has_controls("a\nb", 3, false));
    CHECK(utf8_has_controls("a\rb", 3, false));
    CHECK(!utf8_has_controls("a\r\nb", 4, true));
    CHECK(utf8_has_controls("a\x00", 2, true));
    CHECK(utf8_has_controls("a\x01", 2, true));
    CHECK(utf8_has_controls("\x1b[31m", 5, true));
    CHECK(utf8_has_controls("a\x1f", 2, true));
    CHECK(!utf8_has_controls(" ~", 2, false));
    /* DEL, and C1 U+0080..U+009F; U+00A0 (no-break space) is not one. */
    CHECK(utf8_has_controls("a\x7f", 2, true));
    CHECK(utf8_has_controls("\xc2\x80", 2, true));
    CHECK(utf8_has_controls("\xc2\x85", 2, true)); /* NEL */
    CHECK(utf8_has_controls("\xc2\x9f", 2, true));
    CHECK(!utf8_has_controls("\xc2\xa0", 2, false));
    CHECK(!utf8_has_controls("\xc3\x80", 2, false)); /* À */
    /* Control-like bytes inside longer sequences are not controls. */
    CHECK(!utf8_has_controls("\xe2\x80\x85", 3, false)); /* U+2005 */
    CHECK(!utf8_has_controls("\xf0\x9f\x98\x80", 4, false));
}
