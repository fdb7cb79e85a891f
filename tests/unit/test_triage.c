/*
 * Unit tests of triage: every routing rule of spec/triage.md section 4 with
 * real GB/T 2260 codes from the shipped rules file (deploy/rules.json),
 * including a municipality and traditional script, then whole decisions:
 * clusters, same-accused keys, categories and rules.
 */
#include <stdlib.h>
#include <string.h>

#include "norm.h"
#include "route.h"
#include "rules.h"
#include "test.h"
#include "triage.h"

struct fixture {
    struct norm *norm;
    struct rules *rules;
};

static int fixture_init(struct fixture *f)
{
    char err[512];
    f->norm = norm_new(err, sizeof(err));
    if (f->norm == NULL) {
        fprintf(stderr, "norm_new: %s\n", err);
        return -1;
    }
    f->rules = rules_load(TIPD_SOURCE_DIR "/deploy/rules.json", f->norm, err,
                          sizeof(err));
    if (f->rules == NULL) {
        fprintf(stderr, "rules_load: %s\n", err);
        norm_free(f->norm);
        return -1;
    }
    return 0;
}

static void fixture_cleanup(struct fixture *f)
{
    rules_free(f->rules);
    norm_free(f->norm);
}

/* The unit for region and rank (verbatim: normalised here as triage does). */
static const char *unit_for(struct fixture *f, const char *region,
                            const char *rank)
{
    static char unit[7];
    char *r = NULL;
    size_t len;
    if (rank != NULL)
        r = norm_text(f->norm, rank, strlen(rank), &len);
    bool ok = route_unit(f->rules, region, r, unit);
    free(r);
    return ok ? unit : "none";
}

static const char *region_of(struct fixture *f, const char *text)
{
    static char region[7];
    size_t len;
    char *t = norm_text(f->norm, text, strlen(text), &len);
    bool ok = route_region_from_text(f->rules, t, region);
    free(t);
    return ok ? region : "none";
}

void test_triage_routing_rules(void)
{
    struct fixture f;
    CHECK(fixture_init(&f) == 0);
    /* 1-2: the rank's level picks the region's ancestor at that level.
     * 410105 is Zhengzhou's Jinshui district. */
    CHECK_STR(unit_for(&f, "410105", "正科级"), "410105");
    CHECK_STR(unit_for(&f, "410105", "正处级"), "410100");
    CHECK_STR(unit_for(&f, "410105", "副厅级"), "410000");
    CHECK_STR(unit_for(&f, "410105", "村干部"), "410105");
    /* Missing or unknown rank: jurisdiction.default_level (county). */
    CHECK_STR(unit_for(&f, "410105", NULL), "410105");
    CHECK_STR(unit_for(&f, "410105", "科员"), "410105");
    /* Rank text is normalised first: traditional script is the same rank. */
    CHECK_STR(unit_for(&f, "410105", "正處級"), "410100");
    CHECK_STR(unit_for(&f, "410105", "副廳級"), "410000");
    /* Never below the region's own level: a city region at county level
     * stays with the city, a province region with the province. */
    CHECK_STR(unit_for(&f, "410100", "正科级"), "410100");
    CHECK_STR(unit_for(&f, "410000", "一般干部"), "410000");
    /* 3: a municipality has no city level. Chongqing's Wanzhou district
     * (500101) at city level: 500100 is no unit, so the nearest configured
     * ancestor, 500000; at county level the district itself. */
    CHECK_STR(unit_for(&f, "500101", "正处级"), "500000");
    CHECK_STR(unit_for(&f, "500101", "正科级"), "500101");
    CHECK_STR(unit_for(&f, "500233", "正處級"), "500000"); /* Zhong county */
    /* Jiyuan (419001) is a county-level city under the province directly:
     * its city 419000 is no unit either. */
    CHECK_STR(unit_for(&f, "419001", "正处级"), "410000");
    /* A region no unit covers, in a province that is not configured. */
    CHECK_STR(unit_for(&f, "130102", "正科级"), "none");

    /* 4: the region from the place names of the text. */
    CHECK_STR(region_of(&f, "关于金水区教育局局长问题的反映"), "410105");
    CHECK_STR(region_of(&f, "郑州市交通运输局局长"), "410100");
    CHECK_STR(region_of(&f, "河南省交通运输厅处长"), "410000");
    /* Deepest level wins: the district, though its city is named too. */
    CHECK_STR(region_of(&f, "郑州市金水区城管局"), "410105");
    /* Two 市中区 (Neijiang 511002 and Leshan 511102): ambiguous alone,
     * settled by the city named with it. */
    CHECK_STR(region_of(&f, "市中区教育局股长"), "none");
    CHECK_STR(region_of(&f, "乐山市市中区教育局股长"), "511102");
    CHECK_STR(region_of(&f, "內江市市中區稅務局局長"), "511002");
    /* 卫东区 (410403) also contains the name of 东区 (510402): two county
     * matches, no city or province named, so no county; no city either. */
    CHECK_STR(region_of(&f, "卫东区柳河镇镇长"), "none");
    /* Traditional script names the same places. */
    CHECK_STR(region_of(&f, "鄭州市金水區"), "410105");
    CHECK_STR(region_of(&f, "没有地名的短信"), "none");

    /* 5: copy_to parent goes one configured level up. */
    char parent[7];
    CHECK(route_parent(f.rules, "410105", parent));
    CHECK_STR(parent, "410100");
    CHECK(route_parent(f.rules, "500101", parent));
    CHECK_STR(parent, "500000");
    CHECK(!route_parent(f.rules, "410000", parent));
    fixture_cleanup(&f);
}

static void decide(struct triage *t, const struct triage_report *r,
                   struct triage_decision *d)
{
    triage_decide(t, r, d);
}

void test_triage_decisions(void)
{
    struct fixture f;
    CHECK(fixture_init(&f) == 0);
    struct triage *t = triage_new(f.norm, f.rules);
    struct triage_decision d1, d2, d3, d4, d5;

    struct triage_report a = {
        .id = "a",
        .channel = RULES_CHANNEL_WEB,
        .content =
            "实名反映：金水区教育局局长王建国借女儿升学收受礼金共计5万元，"
            "具体情况可以调查。",
        .region = "410105",
        .accused_name = "王建国",
        .accused_position = "局长",
        .accused_rank = "正科级",
    };
    decide(t, &a, &d1);
    CHECK_STR(d1.unit, "410105");
    CHECK_STR(d1.cluster, "a");
    CHECK_STR(d1.accused_key, "410105/王建国");
    CHECK_STR(d1.category, "lianjie");
    CHECK_STR(d1.queue, "default");
    CHECK(d1.priority == RULES_PRIORITY_NORMAL);
    CHECK_INT(d1.copy_count, 0);

    /* The same report in traditional script, the sum written another way,
     * by SMS without fields: a duplicate, same accused, same unit. */
    struct triage_report b = {
        .id = "b",
        .channel = RULES_CHANNEL_SMS,
        .content = "實名反映：金水區教育局局長王建國借女兒升學收受禮金共計"
                   "５００００元，具體情況可以調查。",
    };
    decide(t, &b, &d2);
    CHECK_STR(d2.cluster, "a");
    CHECK(d2.duplicate);
    CHECK_INT(d2.cluster_size, 2);
    CHECK_STR(d2.accused_key, "410105/王建国");
    CHECK_STR(d2.unit, "410105");

    /* The same wording about another person: another incident. */
    struct triage_report c = a;
    c.id = "c";
    c.content = "实名反映：金水区教育局局长李明借女儿升学收受礼金共计5万元，"
                "具体情况可以调查。";
    c.accused_name = "李明";
    decide(t, &c, &d3);
    CHECK_STR(d3.cluster, "c");
    CHECK_STR(d3.accused_key, "410105/李明");

    /* The same person, another misconduct: linked by the accused key, not
     * a duplicate; a head of unit (一把手) copies to the parent and raises
     * the priority. */
    struct triage_report e = a;
    e.id = "e";
    e.content = "实名反映：金水区教育局局长王建国长期公车私用，他是单位一把手，"
                "没人敢管。";
    decide(t, &e, &d4);
    CHECK_STR(d4.cluster, "e");
    CHECK_STR(d4.accused_key, "410105/王建国");
    CHECK_INT(d4.accused_reports, 3);
    CHECK_STR(d4.category, "lianjie");
    CHECK(d4.priority == RULES_PRIORITY_HIGH);
    CHECK_INT(d4.copy_count, 1);
    CHECK_STR(d4.copies[0], "410100");
    CHECK_INT(d4.rule_count, 1);
    CHECK_STR(d4.rules[0], "一把手问题");

    /* A short SMS naming no place: the review queue of the channel's
     * default unit, unclassified. */
    struct triage_report s = {
        .id = "s", .channel = RULES_CHANNEL_SMS, .content = "有人贪污"};
    decide(t, &s, &d5);
    CHECK_STR(d5.unit, "410000");
    CHECK_STR(d5.queue, "review");
    CHECK_STR(d5.category, "unclassified");
    CHECK(d5.accused_key == NULL);

    char *json = triage_decision_json(&e, &d4);
    CHECK(strstr(json, "\"unit\":\"410105\"") != NULL);
    CHECK(strstr(json, "\"copies\":[\"410100\"]") != NULL);
    CHECK(strstr(json, "\"priority\":\"high\"") != NULL);
    free(json);
    triage_decision_cleanup(&d1);
    triage_decision_cleanup(&d2);
    triage_decision_cleanup(&d3);
    triage_decision_cleanup(&d4);
    triage_decision_cleanup(&d5);
    triage_free(t);
    fixture_cleanup(&f);
}

/* Reports that name nobody are clustered through the LSH buckets. */
void test_triage_unnamed_reports_cluster(void)
{
    struct fixture f;
    CHECK(fixture_init(&f) == 0);
    struct triage *t = triage_new(f.norm, f.rules);
    struct triage_decision d1, d2, d3;
    struct triage_report a = {
        .id = "n1",
        .channel = RULES_CHANNEL_WEB,
        .content =
            "我们村的低保名单里全是干部的亲戚，真正困难的人家一户都没有，"
            "去年的补贴也被截留了，请上级派人来查一查。",
    };
    struct triage_report b = a, c = a;
    b.id = "n2";
    b.content = "我們村的低保名單裡全是幹部的親戚，真正困難的人家一戶都沒有，"
                "去年的補貼也被截留了。";
    c.id = "n3";
    c.content = "镇上的中学食堂承包给了校长的小舅子，饭菜又贵又差，学生家长"
                "意见很大，请上级派人来查一查。";
    triage_decide(t, &a, &d1);
    triage_decide(t, &b, &d2);
    triage_decide(t, &c, &d3);
    CHECK(d1.accused_key == NULL && d2.accused_key == NULL);
    CHECK_STR(d2.cluster, "n1");
    CHECK_STR(d3.cluster, "n3");
    triage_decision_cleanup(&d1);
    triage_decision_cleanup(&d2);
    triage_decision_cleanup(&d3);
    triage_free(t);
    fixture_cleanup(&f);
}

/* A triage restored from stored decisions decides the next report as the
 * one that made them. */
void test_triage_restore_matches_decide(void)
{
    struct fixture f;
    CHECK(fixture_init(&f) == 0);
    struct triage *made = triage_new(f.norm, f.rules);
    struct triage *back = triage_new(f.norm, f.rules);
    struct triage_report r[3] = {
        {.id = "1",
         .channel = RULES_CHANNEL_PHONE,
         .content = "洛阳市自然资源局局长张伟长期违规干预执法，为8家企业说情。",
         .region = "410300",
         .accused_name = "张伟",
         .accused_rank = "正处级"},
        {.id = "2",
         .channel = RULES_CHANNEL_SMS,
         .content = "洛陽市自然資源局局長張偉長期違規干預執法，為8家企業說情"},
        {.id = "3",
         .channel = RULES_CHANNEL_WEB,
         .content = "洛阳市自然资源局局长张伟公款吃喝，一年花费20万元。",
         .region = "410300",
         .accused_name = "张伟",
         .accused_rank = "正处级"},
    };
    for (int i = 0; i < 3; i++) {
        struct triage_decision d;
        triage_decide(made, &r[i], &d);
        triage_restore(back, &r[i], d.cluster, d.accused_key);
        triage_decision_cleanup(&d);
    }
    struct triage_report next = r[1];
    next.id = "4";
    struct triage_decision x, y;
    triage_decide(made, &next, &x);
    triage_decide(back, &next, &y);
    CHECK_STR(x.cluster, "1");
    CHECK_STR(y.cluster, "1");
    CHECK_INT(x.cluster_size, 3);
    CHECK_INT(y.cluster_size, 3);
    CHECK_INT(y.accused_reports, 4);
    CHECK_STR(y.accused_key, "410300/张伟");
    triage_decision_cleanup(&x);
    triage_decision_cleanup(&y);
    triage_free(made);
    triage_free(back);
    fixture_cleanup(&f);
}
