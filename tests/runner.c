/*
 * runner: `tipd-tests NAME` runs one test from test-list.h and exits 0 if
 * it passed; `tipd-tests --list` prints every name. ctest runs one process
 * per test, so a crash or a leak is charged to the test that caused it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "test-list.h"
#include "test.h"

static const struct {
    const char *layer, *name;
    void (*fn)(void);
} tests[] = {
#define X(layer, name) {#layer, #name, test_##name},
    TEST_LIST(X)
#undef X
};

static int failed;

void test_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    failed = 1;
}

void test_failf(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: check failed: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    failed = 1;
}

int test_failed(void)
{
    return failed;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
            printf("%s.%s\n", tests[i].layer, tests[i].name);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: tipd-tests NAME | --list\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (strcmp(argv[1], tests[i].name) != 0)
            continue;
        tests[i].fn();
        if (!failed)
            printf("%s.%s: ok\n", tests[i].layer, tests[i].name);
        return failed ? 1 : 0;
    }
    fprintf(stderr, "tipd-tests: no test named '%s'\n", argv[1]);
    return 2;
}
