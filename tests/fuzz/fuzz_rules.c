/*
 * fuzz_rules: a rules file (triage/rules.c), as `tipd rules check`, the
 * triage worker and SIGHUP read one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "norm.h"
#include "rules.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct norm *norm;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    norm = norm_new(err, sizeof(err));
    if (norm == NULL) {
        fprintf(stderr, "fuzz_rules: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct rules *r =
        rules_parse((const char *)data, size, "fuzz", norm, err, sizeof(err));
    rules_free(r);
    return 0;
}
