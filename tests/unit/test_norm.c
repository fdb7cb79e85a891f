/*
 * Unit tests of triage's normalisation (norm) and text signatures
 * (textsig): what spec/triage.md section 1 says the normalised text is, and
 * that amounts written another way are the same amount.
 */
#include <stdlib.h>
#include <string.h>

#include "norm.h"
#include "test.h"
#include "textsig.h"

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

static int same_norm(struct norm *n, const char *in, const char *want)
{
    size_t len;
    char *got = norm_text(n, in, strlen(in), &len);
    int ok = strcmp(got, want) == 0 && len == strlen(want);
    if (!ok)
        fprintf(stderr, "norm(\"%s\") = \"%s\", want \"%s\"\n", in, got, want);
    free(got);
    return ok;
}

void test_norm_nfkc_t2s_casefold(void)
{
    struct norm *n = shared_norm();
    CHECK(n != NULL);
    /* Full-width digits, letters and punctuation become half-width. */
    CHECK(same_norm(n, "３０００", "3000"));
    CHECK(same_norm(n, "，", ","));
    CHECK(same_norm(n, "ＡＢＣ", "abc"));
    /* Traditional to simplified, character by character. */
    CHECK(same_norm(n, "舉報", "举报"));
    CHECK(same_norm(n, "正處級", "正处级"));
    CHECK(
        same_norm(n, "嚴翔浩（瀘定縣人社局股長）", "严翔浩(泸定县人社局股长)"));
    /* Case folding of Latin letters, and of the German sharp s. */
    CHECK(same_norm(n, "QQ号 Straße", "qq号 strasse"));
    /* CJK compatibility ideographs map to the unified ones, which are then
     * simplified: U+F900 -> 豈 (U+8C48) -> 岂. */
    CHECK(same_norm(n, "\xef\xa4\x80", "岂"));
    /* Zero-width characters disappear (NFKC_Casefold drops ignorables). */
    CHECK(same_norm(n, "举\xe2\x80\x8b报", "举报"));
    /* Simplified text is unchanged. */
    CHECK(same_norm(n, "实名反映：局长", "实名反映:局长"));
}

void test_norm_slow_path_and_bad_bytes(void)
{
    struct norm *n = shared_norm();
    CHECK(n != NULL);
    /* e + combining acute composes: the per-character table cannot do it,
     * the ICU path does, and t2s still applies to the rest. */
    CHECK(same_norm(n, "Cafe\xcc\x81 舉報", "caf\xc3\xa9 举报"));
    /* A character outside the BMP takes the slow path too. */
    CHECK(same_norm(n, "\xf0\x9d\x90\x80", "a")); /* MATHEMATICAL BOLD A */
    /* Invalid UTF-8 is dropped, not copied. */
    CHECK(same_norm(n,
                    "a\xff"
                    "b\xc3",
                    "ab"));
    CHECK(same_norm(n, "", ""));
    CHECK(norm_is_separator(n, ','));
    CHECK(norm_is_separator(n, ' '));
    CHECK(norm_is_separator(n, 0x3002)); /* 。 */
    CHECK(!norm_is_separator(n, 0x4E3E));
    CHECK(!norm_is_separator(n, '5'));
}

static void sig(struct norm *n, const char *text, struct textsig *s)
{
    size_t len;
    char *t = norm_text(n, text, strlen(text), &len);
    textsig_init(s, n, t);
    free(t);
}

void test_textsig_amounts_and_overlap(void)
{
    struct norm *n = shared_norm();
    CHECK(n != NULL);
    struct textsig a, b, c, d, e;
    sig(n, "收受礼金共计5万元，具体情况可以调查。", &a);
    sig(n, "收受礼金共计50,000元 具体情况可以调查", &b);
    sig(n, "收受禮金共計５００００元，具體情況可以調查。", &c);
    sig(n, "收受礼金共计8万元，具体情况可以调查。", &d);
    sig(n, "收受礼金共计5万元", &e);
    CHECK_INT(a.amount_count, 1);
    CHECK_INT(a.amounts[0], 50000);
    CHECK_INT(b.amounts[0], 50000);
    CHECK_INT(c.amounts[0], 50000);
    CHECK_INT(d.amounts[0], 80000);
    /* Written three ways, one text: every shingle shared. */
    CHECK(textsig_overlap(&a, &b) == 1.0);
    CHECK(textsig_overlap(&a, &c) == 1.0);
    CHECK(!textsig_amounts_conflict(&a, &c));
    /* Another sum contradicts; a shorter copy (cut short) still matches. */
    CHECK(textsig_amounts_conflict(&a, &d));
    CHECK(textsig_overlap(&a, &e) == 1.0);
    textsig_cleanup(&a);
    textsig_cleanup(&b);
    textsig_cleanup(&c);
    textsig_cleanup(&d);
    textsig_cleanup(&e);
}
