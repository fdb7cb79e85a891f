/*
 * fuzz_report_json: a JSON report body as the public and the staff intake
 * routes decode and validate it (server/report.c).
 */
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum report_source sources[] = {REPORT_SOURCE_PUBLIC,
                                                 REPORT_SOURCE_STAFF};
    for (int i = 0; i < 2; i++) {
        struct arena a;
        arena_init(&a, 4096);
        struct report r;
        struct report_error err;
        if (report_from_json(&a, (const char *)data, size, sources[i], 16, &r,
                             &err) == 0)
            (void)report_validate(&r, sources[i], &err);
        arena_cleanup(&a);
    }
    return 0;
}
