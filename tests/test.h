/*
 * test: the checks every tipd test uses. A failed CHECK prints where and
 * what, marks the test failed and returns from the test function, so one
 * test stops at its first broken expectation.
 */
#ifndef TIPD_TEST_H
#define TIPD_TEST_H

#include <stdio.h>
#include <string.h>

#include "test-list.h"

/* Every test function, declared from the list. */
#define X(layer, name) void test_##name(void);
TEST_LIST(X)
#undef X

void test_fail(const char *file, int line, const char *what);
/* Like test_fail, with printf-style detail. */
void test_failf(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            test_fail(__FILE__, __LINE__, #cond);                              \
            return;                                                            \
        }                                                                      \
    } while (0)

#define CHECK_INT(a, b)                                                        \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_) {                                                        \
            test_failf(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b,   \
                       a_, b_);                                                \
            return;                                                            \
        }                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                        \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                 \
            test_failf(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a,   \
                       #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");            \
            return;                                                            \
        }                                                                      \
    } while (0)

/* Whether the running test has failed (for helpers that cannot return). */
int test_failed(void);

#endif
