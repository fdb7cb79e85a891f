/*
 * rules_cmd: `tipd rules check FILE` (see rules_cmd.h). A thin shell over
 * rules_load: the loader already names the file, line and key of the first
 * mistake, so this prints its one line as it is.
 */
#include "rules_cmd.h"

#include <stdio.h>
#include <string.h>

#include "norm.h"
#include "rules.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: tipd rules check FILE\n"
               "\n"
               "Loads the rules file FILE (units, jurisdiction, categories,\n"
               "channels, rules) as tipd serve and tipd triage would, and\n"
               "prints either\n"
               "  FILE: ok (N units, N ranks, N categories, N rules)\n"
               "or the first mistake as FILE:LINE: PATH: what is wrong.\n"
               "Exits 0 if the file is valid, 1 if not, 2 on bad arguments.\n");
}

int rules_check_main(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    }
    if (argc != 2 || strcmp(argv[0], "check") != 0 || argv[1][0] == '\0') {
        usage(stderr);
        return 2;
    }
    const char *path = argv[1];
    char err[1024];
    struct norm *norm = norm_new(err, sizeof(err));
    if (norm == NULL) {
        fprintf(stderr, "tipd rules: %s\n", err);
        return 1;
    }
    struct rules *r = rules_load(path, norm, err, sizeof(err));
    norm_free(norm);
    if (r == NULL) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("%s: ok (%zu units, %zu ranks, %zu categories, %zu rules)\n", path,
           r->unit_count, r->rank_count, r->category_count, r->rule_count);
    rules_free(r);
    return 0;
}
