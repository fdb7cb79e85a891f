/*
 * triage_cmd: `tipd triage --rules FILE`, the offline mode of
 * spec/triage.md section 7: JSON lines in, one decision per line out, in
 * input order, through the same triage library as the server.
 *
 * The input is read whole first: its structured accused names are learnt
 * before any report is decided (as the server knows the stored reports'
 * names when it starts), so a free-text report early in the input reads a
 * name the way a later structured report spells it.
 */
#include "triage_cmd.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "norm.h"
#include "rules.h"
#include "triage.h"

#define LINE_MAX_BYTES (1024 * 1024) /* one report line, at most */

struct input {
    cJSON *json; /* owned */
    struct triage_report report;
};

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Fills in->report from in->json; NULL, or what is wrong. */
static const char *read_report(struct input *in)
{
    const cJSON *o = in->json;
    struct triage_report *r = &in->report;
    memset(r, 0, sizeof(*r));
    if (!cJSON_IsObject(o))
        return "not a JSON object";
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (cJSON_IsString(id))
        r->id = id->valuestring;
    else
        return "\"id\" must be a string";
    const char *channel = str(o, "channel");
    if (channel == NULL || rules_channel_parse(channel, &r->channel) != 0)
        return "\"channel\" must be one of web, sms, phone, letter";
    r->content = str(o, "content");
    if (r->content == NULL)
        return "\"content\" must be a string";
    r->region = str(o, "region");
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(o, "accused");
    if (cJSON_IsObject(acc)) {
        r->accused_name = str(acc, "name");
        r->accused_unit = str(acc, "unit");
        r->accused_position = str(acc, "position");
        r->accused_rank = str(acc, "rank");
    }
    return NULL;
}

static void help(FILE *f)
{
    fprintf(
        f,
        "usage: tipd triage --rules FILE < reports.jsonl > decisions.jsonl\n"
        "\n"
        "Reads reports as JSON lines (the intake API's fields plus \"id\"),\n"
        "and writes one decision per line, in input order:\n"
        "  {\"id\", \"cluster\", \"accused_key\", \"unit\", \"category\", "
        "\"queue\",\n"
        "   \"priority\", \"copies\", \"rules\", \"cluster_size\", "
        "\"accused_reports\"}\n"
        "A line that is not a report stops the run with its line number "
        "(exit 1).\n");
}

int triage_cmd_main(const char *default_rules, int argc, char **argv)
{
    const char *rules_path = default_rules;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc) {
            rules_path = argv[++i];
        } else {
            help(stderr);
            return 2;
        }
    }
    if (rules_path == NULL || rules_path[0] == '\0') {
        fprintf(stderr, "tipd triage: no rules file: give --rules FILE\n");
        return 2;
    }
    char err[1024];
    struct norm *norm = norm_new(err, sizeof(err));
    if (norm == NULL) {
        fprintf(stderr, "tipd triage: %s\n", err);
        return 1;
    }
    struct rules *rules = rules_load(rules_path, norm, err, sizeof(err));
    if (rules == NULL) {
        fprintf(stderr, "tipd triage: %s\n", err);
        norm_free(norm);
        return 1;
    }

    struct input *in = NULL;
    size_t count = 0, cap = 0, lineno = 0;
    char *line = malloc(LINE_MAX_BYTES + 2);
    if (line == NULL)
        abort();
    int rc = 0;
    while (fgets(line, LINE_MAX_BYTES + 2, stdin) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (len > LINE_MAX_BYTES) {
            fprintf(stderr,
                    "tipd triage: stdin:%zu: line longer than %d "
                    "bytes\n",
                    lineno, LINE_MAX_BYTES);
            rc = 1;
            break;
        }
        if (strspn(line, " \t\r\n") == len)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 1024;
            in = realloc(in, cap * sizeof(*in));
            if (in == NULL)
                abort();
        }
        in[count].json = cJSON_ParseWithLength(line, len);
        const char *why =
            in[count].json == NULL ? "not JSON" : read_report(&in[count]);
        if (why != NULL) {
            fprintf(stderr, "tipd triage: stdin:%zu: %s\n", lineno, why);
            cJSON_Delete(in[count].json);
            rc = 1;
            break;
        }
        count++;
    }
    free(line);

    if (rc == 0) {
        struct triage *t = triage_new(norm, rules);
        for (size_t i = 0; i < count; i++)
            triage_learn(t, &in[i].report);
        for (size_t i = 0; i < count; i++) {
            struct triage_decision d;
            triage_decide(t, &in[i].report, &d);
            char *json = triage_decision_json(&in[i].report, &d);
            fputs(json, stdout);
            fputc('\n', stdout);
            free(json);
            triage_decision_cleanup(&d);
        }
        triage_free(t);
        if (fflush(stdout) != 0) {
            perror("tipd triage: stdout");
            rc = 1;
        }
    }
    for (size_t i = 0; i < count; i++)
        cJSON_Delete(in[i].json);
    free(in);
    rules_free(rules);
    norm_free(norm);
    return rc;
}
