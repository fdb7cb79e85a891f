/*
 * Unit tests of rules: the shipped rules file loads into what triage
 * expects, texts are stored normalised, and each kind of mistake in a rules
 * file is refused with the exact "file:line: path:" a person would read.
 *
 * The error tests edit one fragment of a small valid file (BASE) and check
 * the start of the error; the line numbers are BASE's.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "norm.h"
#include "rules.h"
#include "test.h"

static const char BASE[] =
    "{\n"                                                       /* 1 */
    "  \"version\": 1,\n"                                       /* 2 */
    "  \"units\": [\n"                                          /* 3 */
    "    {\"id\": \"410000\", \"name\": \"河南省纪委监委\"},\n" /* 4 */
    "    {\"id\": \"410100\", \"name\": \"郑州市纪委监委\",\n"  /* 5 */
    "     \"region\": \"410100\"},\n"                           /* 6 */
    "    {\"id\": \"410105\", \"name\": \"金水区纪委监委\"}\n"  /* 7 */
    "  ],\n"                                                    /* 8 */
    "  \"jurisdiction\": {\n"                                   /* 9 */
    "    \"rank_levels\": {\n"                                  /* 10 */
    "      \"正处级\": \"city\",\n"                             /* 11 */
    "      \"正科级\": \"county\"\n"                            /* 12 */
    "    },\n"                                                  /* 13 */
    "    \"default_level\": \"county\"\n"                       /* 14 */
    "  },\n"                                                    /* 15 */
    "  \"categories\": [\n"                                     /* 16 */
    "    {\"id\": \"lianjie\", \"name\": \"廉洁纪律\",\n"       /* 17 */
    "     \"keywords\": [\"收受礼金\", \"公款吃喝\"]},\n"       /* 18 */
    "    {\"id\": \"gongzuo\", \"name\": \"工作纪律\",\n"       /* 19 */
    "     \"keywords\": [\"不作为\"]}\n"                        /* 20 */
    "  ],\n"                                                    /* 21 */
    "  \"channels\": {\n"                                       /* 22 */
    "    \"web\": {\"default_unit\": \"410000\"},\n"            /* 23 */
    "    \"sms\": {\"default_unit\": \"410000\"},\n"            /* 24 */
    "    \"phone\": {\"default_unit\": \"410100\"},\n"          /* 25 */
    "    \"letter\": {\"default_unit\": \"410000\"}\n"          /* 26 */
    "  },\n"                                                    /* 27 */
    "  \"rules\": [\n"                                          /* 28 */
    "    {\"name\": \"一把手问题\",\n"                          /* 29 */
    "     \"if\": {\"any_keyword\": [\"一把手\"],\n"            /* 30 */
    "            \"category\": \"lianjie\"},\n"                 /* 31 */
    "     \"then\": {\"priority\": \"high\", \"copy_to\": \"parent\"}},\n" /* 32
                                                                            */
    "    {\"name\": \"过短短信人工复核\",\n"                    /* 33 */
    "     \"if\": {\"channel\": \"sms\", \"max_chars\": 12},\n" /* 34 */
    "     \"then\": {\"queue\": \"review\"}}\n"                 /* 35 */
    "  ]\n"                                                     /* 36 */
    "}\n";                                                      /* 37 */

/* The whole units array of BASE, to replace. */
#define UNITS                                                                         \
    "\"units\": [\n    {\"id\": \"410000\", \"name\": \"河南省纪委监委\"},\n " \
    "   "                                                                             \
    "{\"id\": \"410100\", \"name\": \"郑州市纪委监委\",\n     \"region\": "    \
    "\"410100\"},\n    {\"id\": \"410105\", \"name\": \"金水区纪委监委\"}\n  " \
    "]"

static struct norm *shared_norm(void)
{
    static struct norm *n;
    if (n == NULL) {
        char err[256];
        n = norm_new(err, sizeof(err));
        if (n == NULL)
            fprintf(stderr, "norm_new: %s\n", err);
    }
    return n;
}

/*
 * The error of loading BASE with its first `from` replaced by `to`, as
 * "t.json": in a static buffer; "(loaded)" if the load succeeded.
 */
static const char *error_of(const char *from, const char *to)
{
    static char err[1024];
    const char *at = strstr(BASE, from);
    if (at == NULL)
        return "(fragment not in BASE)";
    size_t head = (size_t)(at - BASE), from_len = strlen(from);
    size_t to_len = strlen(to), len = strlen(BASE) - from_len + to_len;
    char *text = malloc(len + 1);
    if (text == NULL)
        abort();
    memcpy(text, BASE, head);
    memcpy(text + head, to, to_len);
    memcpy(text + head + to_len, at + from_len, strlen(at + from_len) + 1);
    struct rules *r =
        rules_parse(text, len, "t.json", shared_norm(), err, sizeof(err));
    free(text);
    if (r != NULL) {
        rules_free(r);
        return "(loaded)";
    }
    return err;
}

/* Checks that replacing from by to in BASE fails with an error that starts
 * with want. */
#define CHECK_ERROR(from, to, want)                                            \
    do {                                                                       \
        const char *got_ = error_of(from, to);                                 \
        if (strncmp(got_, want, strlen(want)) != 0) {                          \
            test_failf(__FILE__, __LINE__,                                     \
                       "error \"%s\" does not start "                          \
                       "with \"%s\"",                                          \
                       got_, want);                                            \
            return;                                                            \
        }                                                                      \
    } while (0)

static size_t find_rule(const struct rules *r, const char *name)
{
    for (size_t i = 0; i < r->rule_count; i++) {
        if (strcmp(r->rules[i].name, name) == 0)
            return i;
    }
    return r->rule_count;
}

void test_rules_shipped_file(void)
{
    struct norm *n = shared_norm();
    CHECK(n != NULL);
    char err[512];
    struct rules *r =
        rules_load(TIPD_SOURCE_DIR "/deploy/rules.json", n, err, sizeof(err));
    if (r == NULL)
        fprintf(stderr, "%s\n", err);
    CHECK(r != NULL);
    CHECK_INT(r->version, 1);
    CHECK_INT(r->unit_count, 562);
    CHECK_INT(r->rank_count, 11);
    CHECK_INT(r->category_count, 6);
    CHECK_INT(r->rule_count, 3);
    for (size_t i = 1; i < r->unit_count; i++)
        CHECK(strcmp(r->units[i - 1].id, r->units[i].id) < 0);

    const struct rules_unit *u = rules_unit_find(r, "410105");
    CHECK(u != NULL);
    CHECK_STR(u->id, "410105");
    CHECK_INT(u->level, RULES_LEVEL_COUNTY);
    CHECK(strstr(u->name, "纪委监委") != NULL);
    CHECK(strstr(u->place, "纪委监委") == NULL);
    u = rules_unit_find(r, "500000");
    CHECK(u != NULL);
    CHECK_INT(u->level, RULES_LEVEL_PROVINCE);
    CHECK_STR(u->name, "重庆市纪委监委");
    CHECK_STR(u->place, "重庆市");
    u = rules_unit_find(r, "410100");
    CHECK(u != NULL);
    CHECK_INT(u->level, RULES_LEVEL_CITY);
    CHECK_STR(u->place, "郑州市");
    CHECK(rules_unit_find(r, "500100") == NULL);
    CHECK(rules_unit_find(r, "999999") == NULL);
    CHECK(rules_unit_find(r, r->units[0].id) == &r->units[0]);
    CHECK(rules_unit_find(r, r->units[561].id) == &r->units[561]);

    bool found = false;
    for (size_t i = 0; i < r->rank_count; i++) {
        if (strcmp(r->ranks[i].rank, "正处级") != 0)
            continue;
        CHECK_STR(r->ranks[i].norm, "正处级");
        CHECK_INT(r->ranks[i].level, RULES_LEVEL_CITY);
        found = true;
    }
    CHECK(found);
    CHECK_INT(r->default_level, RULES_LEVEL_COUNTY);

    CHECK_STR(r->categories[0].id, "zhengzhi");
    CHECK_STR(r->categories[2].id, "lianjie");
    CHECK_INT(r->categories[2].keywords.count, 8);
    CHECK_STR(r->categories[2].keywords.text[0], "公款吃喝");
    CHECK_STR(r->categories[2].keywords.norm[0], "公款吃喝");
    CHECK_STR(r->default_unit[RULES_CHANNEL_SMS], "410000");

    size_t i = find_rule(r, "一把手问题");
    CHECK(i < r->rule_count);
    const struct rules_rule *rule = &r->rules[i];
    CHECK(rule->copy_parent);
    CHECK(rule->has_priority);
    CHECK_INT(rule->priority, RULES_PRIORITY_HIGH);
    CHECK_INT(rule->any_keyword.count, 2);
    CHECK_STR(rule->any_keyword.norm[0], "一把手");
    CHECK(!rule->has_channel && rule->queue == NULL);
    rule = &r->rules[find_rule(r, "过短短信人工复核")];
    CHECK(rule->has_channel && rule->channel == RULES_CHANNEL_SMS);
    CHECK(rule->has_max_chars && rule->max_chars == 12);
    CHECK_STR(rule->queue, "review");
    CHECK(!rule->copy_parent && !rule->has_priority);
    rules_free(r);
}

void test_rules_normalised_texts(void)
{
    struct norm *n = shared_norm();
    CHECK(n != NULL);
    /* Traditional script and full-width letters are stored simplified and
     * half-width, next to the verbatim text. */
    char text[sizeof(BASE) + 256];
    const char *from = "[\"一把手\"]";
    const char *at = strstr(BASE, from);
    CHECK(at != NULL);
    int len = snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - BASE), BASE,
                       "[\"舉報人\", \"ＡＢＣ違規\"]", at + strlen(from));
    CHECK(len > 0 && (size_t)len < sizeof(text));
    char err[512];
    struct rules *r =
        rules_parse(text, (size_t)len, "t.json", n, err, sizeof(err));
    if (r == NULL)
        fprintf(stderr, "%s\n", err);
    CHECK(r != NULL);
    const struct rules_words *w = &r->rules[0].any_keyword;
    CHECK_INT(w->count, 2);
    CHECK_STR(w->text[0], "舉報人");
    CHECK_STR(w->norm[0], "举报人");
    CHECK_STR(w->text[1], "ＡＢＣ違規");
    CHECK_STR(w->norm[1], "abc违规");
    rules_free(r);

    /* The same for rank names and the place of a unit. */
    const char *edits[][2] = {
        {"\"正处级\": \"city\"", "\"正處級\": \"city\""},
        {"金水区纪委监委", "金水區紀委監委"},
    };
    for (size_t k = 0; k < 2; k++) {
        at = strstr(BASE, edits[k][0]);
        CHECK(at != NULL);
        len = snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - BASE), BASE,
                       edits[k][1], at + strlen(edits[k][0]));
        CHECK(len > 0 && (size_t)len < sizeof(text));
        r = rules_parse(text, (size_t)len, "t.json", n, err, sizeof(err));
        CHECK(r != NULL);
        if (k == 0) {
            CHECK_STR(r->ranks[0].rank, "正處級");
            CHECK_STR(r->ranks[0].norm, "正处级");
        } else {
            const struct rules_unit *u = rules_unit_find(r, "410105");
            CHECK(u != NULL);
            CHECK_STR(u->name, "金水區紀委監委");
            CHECK_STR(u->place, "金水区");
        }
        rules_free(r);
    }
    /* BASE itself loads, with region defaulting to the id. */
    CHECK_STR(error_of("{", "{"), "(loaded)");
}

void test_rules_names_and_levels(void)
{
    CHECK_STR(rules_level_name(RULES_LEVEL_PROVINCE), "province");
    CHECK_STR(rules_level_name(RULES_LEVEL_COUNTY), "county");
    CHECK_STR(rules_priority_name(RULES_PRIORITY_URGENT), "urgent");
    CHECK_STR(rules_channel_name(RULES_CHANNEL_LETTER), "letter");
    enum rules_channel ch;
    CHECK_INT(rules_channel_parse("phone", &ch), 0);
    CHECK_INT(ch, RULES_CHANNEL_PHONE);
    CHECK_INT(rules_channel_parse("fax", &ch), -1);
    CHECK_INT(rules_channel_parse("SMS", &ch), -1);
    enum rules_level level;
    CHECK_INT(rules_level_parse("city", &level), 0);
    CHECK_INT(level, RULES_LEVEL_CITY);
    CHECK_INT(rules_level_parse("town", &level), -1);
    enum rules_priority p;
    CHECK_INT(rules_priority_parse("low", &p), 0);
    CHECK_INT(p, RULES_PRIORITY_LOW);
    CHECK_INT(rules_region_level("410000"), RULES_LEVEL_PROVINCE);
    CHECK_INT(rules_region_level("410100"), RULES_LEVEL_CITY);
    CHECK_INT(rules_region_level("410105"), RULES_LEVEL_COUNTY);
    CHECK_INT(rules_region_level("500000"), RULES_LEVEL_PROVINCE);
}

void test_rules_error_syntax(void)
{
    /* cJSON's error offset, turned into the line. */
    CHECK_ERROR("\"default_level\": \"county\"\n",
                "\"default_level\": \"county\",\n",
                "t.json:15: JSON syntax error near \"");
    CHECK_ERROR("\"version\": 1,", "\"version\": 1",
                "t.json:3: JSON syntax error near \"\\\"units\\\": [\"");
    CHECK_ERROR("\"units\": [", "\"units\" [",
                "t.json:3: JSON syntax error near ");
    CHECK_ERROR("  ]\n}\n", "  ]\n}\n}", "t.json:38: text after the end");
    CHECK_ERROR("{\n  \"version\"", "\n\n\n",
                "t.json:4: JSON syntax error near ");
    CHECK_ERROR("\"河南省", "\"河南\x01省", "t.json:4: control character 0x01");
    CHECK_ERROR("\"河南省", "\"河南\xff省", "t.json:4: not valid UTF-8");
    CHECK_ERROR("\"河南省", "\"河南\xed\xa0\x80省",
                "t.json:4: not valid UTF-8");

    /* An empty file and one cut short. */
    char err[256];
    CHECK(rules_parse("", 0, "e.json", shared_norm(), err, sizeof(err)) ==
          NULL);
    CHECK_STR(err, "e.json:1: JSON syntax error: the file ends early");
    const char *cut = strstr(BASE, "    \"rank_levels\"");
    CHECK(cut != NULL);
    CHECK(rules_parse(BASE, (size_t)(cut - BASE), "e.json", shared_norm(), err,
                      sizeof(err)) == NULL);
    CHECK_STR(err, "e.json:9: JSON syntax error: the file ends early");
    CHECK(rules_parse("[]", 2, "e.json", shared_norm(), err, sizeof(err)) ==
          NULL);
    CHECK_STR(err, "e.json:1: top level: must be an object (with keys "
                   "version, units, jurisdiction, categories, channels, "
                   "rules)");
}

void test_rules_error_unknown_key(void)
{
    CHECK_ERROR("\"queue\": \"review\"}",
                "\"queue\": \"review\",\n \"colour\": \"red\"}",
                "t.json:36: rules[1].then.colour: unknown key (expected "
                "priority, queue, copy_to)");
    CHECK_ERROR("\"version\": 1,", "\"version\": 1, \"extra\": 2,",
                "t.json:2: extra: unknown key (expected version, units, ");
    CHECK_ERROR("\"region\": \"410100\"", "\"regoin\": \"410100\"",
                "t.json:6: units[1].regoin: unknown key (expected id, name, "
                "region)");
    CHECK_ERROR("\"max_chars\": 12", "\"max_chars\": 12, \"maxchars\": 3",
                "t.json:34: rules[1].if.maxchars: unknown key (expected "
                "any_keyword, channel, max_chars, category, ");
    CHECK_ERROR("\"default_level\"", "\"default-level\"",
                "t.json:14: jurisdiction.default-level: unknown key");
    /* Keys that are not plain words are quoted in the path. */
    CHECK_ERROR("\"name\": \"一把手问题\"", "\"na me\": \"一把手问题\"",
                "t.json:29: rules[0].\"na me\": unknown key");
    CHECK_ERROR("\"sms\": {", "\"fax\": {",
                "t.json:24: channels.fax: unknown channel (expected web, "
                "sms, phone, letter)");
}

void test_rules_error_missing_and_duplicate_key(void)
{
    CHECK_ERROR("\"version\": 1,\n", "",
                "t.json:1: top level: missing key \"version\"");
    CHECK_ERROR("{\"id\": \"410000\", ", "{",
                "t.json:4: units[0]: missing key \"id\"");
    CHECK_ERROR("\"keywords\": [\"不作为\"]", "\"kw\": 1",
                "t.json:20: categories[1].kw: unknown key");
    CHECK_ERROR(",\n     \"keywords\": [\"不作为\"]", "",
                "t.json:19: categories[1]: missing key \"keywords\"");
    CHECK_ERROR(",\n    \"letter\": {\"default_unit\": \"410000\"}", "",
                "t.json:22: channels: missing channel \"letter\"");
    CHECK_ERROR("\"then\": {\"queue\": \"review\"}", "\"then\": {}",
                "t.json:35: rules[1].then: sets nothing (expected at least "
                "one of priority, queue, copy_to)");
    /* Duplicate keys, which cJSON would silently keep. */
    CHECK_ERROR("\"max_chars\": 12", "\"max_chars\": 12,\n \"max_chars\": 13",
                "t.json:35: rules[1].if.max_chars: duplicate key (first at "
                "line 34)");
    CHECK_ERROR("\"正科级\": \"county\"", "\"正处级\": \"county\"",
                "t.json:12: jurisdiction.rank_levels.正处级: duplicate key "
                "(first at line 11)");
    CHECK_ERROR("\"正科级\": \"county\"", "\"正處級\": \"county\"",
                "t.json:12: jurisdiction.rank_levels.正處級: is the same "
                "rank as \"正处级\" (line 11) once normalised");
    CHECK_ERROR("\"letter\": {", "\"sms\": {",
                "t.json:26: channels.sms: duplicate key (first at line 24)");
}

void test_rules_error_types(void)
{
    CHECK_ERROR("\"max_chars\": 12", "\"max_chars\": 0",
                "t.json:34: rules[1].if.max_chars: must be a positive "
                "integer");
    CHECK_ERROR("\"max_chars\": 12", "\"max_chars\": 1.5",
                "t.json:34: rules[1].if.max_chars: must be a positive "
                "integer");
    CHECK_ERROR("\"max_chars\": 12", "\"max_chars\": \"12\"",
                "t.json:34: rules[1].if.max_chars: must be a positive "
                "integer");
    CHECK_ERROR("\"max_chars\": 12", "\"max_chars\": 1e12",
                "t.json:34: rules[1].if.max_chars: must be at most "
                "1000000000");
    CHECK_ERROR("\"max_chars\": 12", "\"min_cluster_size\": -3",
                "t.json:34: rules[1].if.min_cluster_size: must be a "
                "positive integer");
    CHECK_ERROR(UNITS, "\"units\": {}",
                "t.json:3: units: must be an array of units");
    CHECK_ERROR("\"name\": \"工作纪律\"", "\"name\": 7",
                "t.json:19: categories[1].name: must be a string");
    CHECK_ERROR("\"name\": \"工作纪律\"", "\"name\": \" \"",
                "t.json:19: categories[1].name: must be a non-empty string");
    CHECK_ERROR("[\"不作为\"]", "\"不作为\"",
                "t.json:20: categories[1].keywords: must be an array of "
                "keywords");
    CHECK_ERROR("[\"不作为\"]", "[]",
                "t.json:20: categories[1].keywords: must list at least one "
                "keyword");
    CHECK_ERROR("[\"收受礼金\", \"公款吃喝\"]", "[\"收受礼金\",\n \"\"]",
                "t.json:19: categories[0].keywords[1]: must be a non-empty "
                "string");
    CHECK_ERROR("[\"收受礼金\", \"公款吃喝\"]", "[\"收受礼金\", \"　\"]",
                "t.json:18: categories[0].keywords[1]: \"　\" is blank once "
                "normalised");
    CHECK_ERROR("\"if\": {\"channel\"", "\"if\": [], \"x\": {\"channel\"",
                "t.json:34: rules[1].x: unknown key");
    CHECK_ERROR("\"if\": {\"channel\": \"sms\", \"max_chars\": 12}",
                "\"if\": []",
                "t.json:34: rules[1].if: must be an object (with keys "
                "any_keyword, ");
    CHECK_ERROR("\"jurisdiction\": {", "\"jurisdiction\": {\"x\": 1,",
                "t.json:9: jurisdiction.x: unknown key (expected "
                "rank_levels, default_level)");
}

void test_rules_error_version(void)
{
    CHECK_ERROR("\"version\": 1", "\"version\": 2",
                "t.json:2: version: 2 is not a version this tipd reads "
                "(expected 1)");
    CHECK_ERROR("\"version\": 1", "\"version\": \"1\"",
                "t.json:2: version: must be the number 1");
}

void test_rules_error_units(void)
{
    CHECK_ERROR("\"410105\", \"name\"", "\"41010\", \"name\"",
                "t.json:7: units[2].id: \"41010\" is not 6 digits");
    CHECK_ERROR("\"410105\", \"name\"", "\"41010a\", \"name\"",
                "t.json:7: units[2].id: \"41010a\" is not 6 digits");
    CHECK_ERROR("\"410105\", \"name\"", "410105, \"name\"",
                "t.json:7: units[2].id: must be a string of 6 digits");
    CHECK_ERROR("\"410105\", \"name\"", "\"001234\", \"name\"",
                "t.json:7: units[2].id: \"001234\" is not a GB/T 2260 code");
    CHECK_ERROR("\"region\": \"410100\"", "\"region\": \"4101000\"",
                "t.json:6: units[1].region: \"4101000\" is not 6 digits");
    CHECK_ERROR("\"410105\", \"name\"", "\"410000\", \"name\"",
                "t.json:7: units[2].id: \"410000\" is a duplicate of "
                "units[0].id (line 4)");
    CHECK_ERROR("\"name\": \"金水区纪委监委\"", "\"name\": \"纪委监委\"",
                "t.json:7: units[2].name: \"纪委监委\" names no place");
    CHECK_ERROR(UNITS, "\"units\": []",
                "t.json:3: units: must list at least one unit");
    CHECK_ERROR("{\"id\": \"410000\"", "[], {\"id\": \"410000\"",
                "t.json:4: units[0]: must be an object (with keys id, name, "
                "region)");
}

void test_rules_error_ranks(void)
{
    CHECK_ERROR("\"正处级\": \"city\"", "\"正处级\": \"town\"",
                "t.json:11: jurisdiction.rank_levels.正处级: \"town\" is not "
                "one of province, city, county");
    CHECK_ERROR("\"正处级\": \"city\"", "\"正处级\": 2",
                "t.json:11: jurisdiction.rank_levels.正处级: must be one of "
                "province, city, county");
    CHECK_ERROR("\"default_level\": \"county\"", "\"default_level\": \"\"",
                "t.json:14: jurisdiction.default_level: \"\" is not one of "
                "province, city, county");
    CHECK_ERROR("\"正处级\": \"city\"", "\"\": \"city\"",
                "t.json:11: jurisdiction.rank_levels.\"\": a rank must not "
                "be empty");
    CHECK_ERROR(
        "{\n      \"正处级\": \"city\",\n      \"正科级\": \"county\"\n    }",
        "[\"city\"]",
        "t.json:10: jurisdiction.rank_levels: must be an object of "
        "rank: level (province, city, county)");
}

void test_rules_error_channels(void)
{
    CHECK_ERROR("\"phone\": {\"default_unit\": \"410100\"}",
                "\"phone\": {\"default_unit\": \"410199\"}",
                "t.json:25: channels.phone.default_unit: \"410199\" is not a "
                "configured unit (see units)");
    CHECK_ERROR("\"phone\": {\"default_unit\": \"410100\"}",
                "\"phone\": {\"unit\": \"410100\"}",
                "t.json:25: channels.phone.unit: unknown key (expected "
                "default_unit)");
    CHECK_ERROR("\"phone\": {\"default_unit\": \"410100\"}", "\"phone\": {}",
                "t.json:25: channels.phone: missing key \"default_unit\"");
    CHECK_ERROR("\"channel\": \"sms\"", "\"channel\": \"fax\"",
                "t.json:34: rules[1].if.channel: \"fax\" is not one of web, "
                "sms, phone, letter");
}

void test_rules_error_categories(void)
{
    CHECK_ERROR("\"id\": \"gongzuo\"", "\"id\": \"lianjie\"",
                "t.json:19: categories[1].id: \"lianjie\" is a duplicate of "
                "categories[0].id (line 17)");
    CHECK_ERROR("\"id\": \"gongzuo\"", "\"id\": \"Gong Zuo\"",
                "t.json:19: categories[1].id: \"Gong Zuo\" is not an "
                "identifier");
    CHECK_ERROR("\"id\": \"gongzuo\"", "\"id\": \"unclassified\"",
                "t.json:19: categories[1].id: \"unclassified\" is reserved");
    CHECK_ERROR("\"category\": \"lianjie\"", "\"category\": \"zuzhi\"",
                "t.json:31: rules[0].if.category: \"zuzhi\" is not a "
                "category (expected lianjie, gongzuo, unclassified)");
    /* unclassified is a category a rule may name. */
    CHECK_STR(
        error_of("\"category\": \"lianjie\"", "\"category\": \"unclassified\""),
        "(loaded)");
}

void test_rules_error_actions(void)
{
    CHECK_ERROR("\"priority\": \"high\"", "\"priority\": \"critical\"",
                "t.json:32: rules[0].then.priority: \"critical\" is not one "
                "of low, normal, high, urgent");
    CHECK_ERROR("\"copy_to\": \"parent\"", "\"copy_to\": \"grandparent\"",
                "t.json:32: rules[0].then.copy_to: \"grandparent\" is not "
                "supported (expected \"parent\")");
    CHECK_ERROR("\"queue\": \"review\"", "\"queue\": \"Review Desk\"",
                "t.json:35: rules[1].then.queue: \"Review Desk\" is not a "
                "queue name ([a-z0-9_-], 1 to 32 characters)");
    CHECK_ERROR("\"queue\": \"review\"",
                "\"queue\": \"a23456789012345678901234567890123\"",
                "t.json:35: rules[1].then.queue: "
                "\"a23456789012345678901234567890123\" is not a queue name");
    CHECK_ERROR("\"name\": \"过短短信人工复核\"", "\"name\": \"一把手问题\"",
                "t.json:33: rules[1].name: \"一把手问题\" is a duplicate of "
                "rules[0].name (line 29)");
    CHECK_ERROR("\"name\": \"过短短信人工复核\",\n", "",
                "t.json:33: rules[1]: missing key \"name\"");
}

void test_rules_error_limits(void)
{
    struct norm *n = shared_norm();
    CHECK(n != NULL);
    char err[512];
    /* A file over 16 MiB is refused before it is read. */
    char path[] = "/tmp/tipd-test-rules-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    int rc = ftruncate(fd, RULES_MAX_FILE_BYTES + 1);
    close(fd);
    struct rules *r = rc == 0 ? rules_load(path, n, err, sizeof(err)) : NULL;
    unlink(path);
    CHECK_INT(rc, 0);
    CHECK(r == NULL);
    char want[512];
    snprintf(want, sizeof(want), "%s: more than the 16 MiB", path);
    CHECK(strncmp(err, want, strlen(want)) == 0);
    CHECK(rules_parse(BASE, RULES_MAX_FILE_BYTES + 1, "big.json", n, err,
                      sizeof(err)) == NULL);
    CHECK(strncmp(err, "big.json: ", 10) == 0);

    CHECK(rules_load("/nonexistent/rules.json", n, err, sizeof(err)) == NULL);
    CHECK(strncmp(err, "/nonexistent/rules.json: cannot open: ", 38) == 0);
    CHECK(rules_load("/tmp", n, err, sizeof(err)) == NULL);
    CHECK(strncmp(err, "/tmp: cannot read: ", 19) == 0);

    /* More keywords than the file may hold, counted over every list. */
    size_t cap = 16 * (RULES_MAX_KEYWORDS + 10) + 64;
    char *list = malloc(cap);
    CHECK(list != NULL);
    size_t len = 0;
    list[len++] = '[';
    for (int k = 0; k < RULES_MAX_KEYWORDS - 2; k++)
        len += (size_t)snprintf(list + len, cap - len, "%s\"k%d\"",
                                k ? "," : "", k);
    list[len++] = ']';
    list[len] = '\0';
    const char *got = error_of("[\"一把手\"]", list);
    free(list);
    CHECK_STR(got, "t.json:30: rules[0].if.any_keyword: makes more than "
                   "10000 keywords in the file");
}
