/*
 * textsig: the similarity form, its 3-gram shingles and the amounts.
 *
 * The text is walked once as code points. A run of digits (with thousands
 * commas and a decimal point, as NFKC leaves them) followed by 万 or 亿 is
 * read as one number and written back as plain digits; everything that is a
 * separator (norm_is_separator) is skipped. Shingles are FNV-1a hashes of
 * three consecutive code points of that form.
 */
#include "textsig.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "oom.h"

/* Sorts a[0..n) with an LSD radix sort on bytes: a report's few hundred
 * shingles sort in a few microseconds, several times faster than qsort's
 * comparison calls. tmp has room for n. */
static void radix_sort(uint32_t *a, uint32_t *tmp, size_t n)
{
    for (int shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((a[i] >> shift) & 0xFF) + 1]++;
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++)
            tmp[count[(a[i] >> shift) & 0xFF]++] = a[i];
        uint32_t *swap = a;
        a = tmp;
        tmp = swap;
    }
    /* Four passes: the sorted data is back in the caller's a. */
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool is_digit(uint32_t cp)
{
    return cp >= '0' && cp <= '9';
}

/*
 * Reads a number starting at cps[i] (a digit). Returns the index after it
 * (including a 万/亿 multiplier) and its value in *value; values beyond
 * 10^15 are clamped (they only need to compare).
 */
static size_t read_number(const uint32_t *cps, size_t n, size_t i,
                          int64_t *value)
{
    double v = 0;
    size_t j = i;
    while (j < n) {
        if (is_digit(cps[j])) {
            v = v * 10 + (cps[j] - '0');
            j++;
        } else if (cps[j] == ',' && j + 3 < n && is_digit(cps[j + 1]) &&
                   is_digit(cps[j + 2]) && is_digit(cps[j + 3]) &&
                   (j + 4 >= n || !is_digit(cps[j + 4]))) {
            j++; /* a thousands separator: exactly three digits follow */
        } else {
            break;
        }
    }
    if (j + 1 < n && cps[j] == '.' && is_digit(cps[j + 1])) {
        double scale = 0.1;
        j++;
        while (j < n && is_digit(cps[j])) {
            v += (cps[j] - '0') * scale;
            scale /= 10;
            j++;
        }
    }
    if (j < n && cps[j] == 0x4E07) { /* 万 */
        v *= 1e4;
        j++;
    } else if (j < n && cps[j] == 0x4EBF) { /* 亿 */
        v *= 1e8;
        j++;
    }
    *value = v > 1e15 ? (int64_t)1e15 : (int64_t)(v + 0.5);
    return j;
}

/* 32 bits: a report has a few hundred shingles, so two different ones of
 * two reports collide about once in ten million comparisons, and half the
 * memory of 64-bit hashes keeps the triage memory small. */
static uint32_t gram_hash(uint32_t a, uint32_t b, uint32_t c)
{
    uint64_t h = 14695981039346656037ULL;
    uint32_t cps[3] = {a, b, c};
    for (int k = 0; k < 3; k++) {
        for (int s = 0; s < 32; s += 8) {
            h ^= (cps[k] >> s) & 0xFF;
            h *= 1099511628211ULL;
        }
    }
    return (uint32_t)(h ^ (h >> 32));
}

void textsig_init(struct textsig *f, const struct norm *norm,
                  const char *normalised)
{
    memset(f, 0, sizeof(*f));
    size_t len = strlen(normalised);
    uint32_t *cps = malloc((len + 1) * sizeof(*cps));
    if (cps == NULL)
        oom_abort();
    size_t n = 0;
    for (const char *p = normalised; *p != '\0';)
        cps[n++] = norm_next(&p);
    /* A number of k >= 1 characters is written back in at most 16 digits:
     * the form is at most 16 times as long as the text, but usually as
     * long, so it grows on demand. */
    size_t form_cap = n + 32, m = 0;
    uint32_t *form = malloc(form_cap * sizeof(*form));
    if (form == NULL)
        oom_abort();
    for (size_t i = 0; i < n;) {
        if (m + 24 > form_cap) { /* room for one number's digits */
            form_cap = form_cap * 2 + 24;
            form = realloc(form, form_cap * sizeof(*form));
            if (form == NULL)
                oom_abort();
        }
        if (is_digit(cps[i])) {
            int64_t v;
            i = read_number(cps, n, i, &v);
            if (f->amount_count < TEXTSIG_MAX_AMOUNTS)
                f->amounts[f->amount_count++] = v;
            char digits[24];
            size_t d = 0;
            do {
                digits[d++] = (char)('0' + v % 10);
                v /= 10;
            } while (v > 0);
            while (d > 0)
                form[m++] = (uint32_t)digits[--d];
            continue;
        }
        if (!norm_is_separator(norm, cps[i]))
            form[m++] = cps[i];
        i++;
    }
    f->chars = m;
    qsort(f->amounts, f->amount_count, sizeof(f->amounts[0]), cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < f->amount_count; i++)
        if (u == 0 || f->amounts[u - 1] != f->amounts[i])
            f->amounts[u++] = f->amounts[i];
    f->amount_count = u;

    size_t g = m >= 3 ? m - 2 : (m > 0 ? 1 : 0);
    f->grams = malloc((g + 1) * sizeof(*f->grams));
    if (f->grams == NULL)
        oom_abort();
    if (m >= 3) {
        for (size_t i = 0; i + 2 < m; i++)
            f->grams[i] = gram_hash(form[i], form[i + 1], form[i + 2]);
    } else if (m > 0) {
        f->grams[0] = gram_hash(form[0], m > 1 ? form[1] : 0, 0);
    }
    uint32_t *tmp = malloc((g + 1) * sizeof(*tmp));
    if (tmp == NULL)
        oom_abort();
    radix_sort(f->grams, tmp, g);
    free(tmp);
    u = 0;
    for (size_t i = 0; i < g; i++)
        if (u == 0 || f->grams[u - 1] != f->grams[i])
            f->grams[u++] = f->grams[i];
    f->gram_count = u;
    free(cps);
    free(form);
}

void textsig_cleanup(struct textsig *f)
{
    free(f->grams);
    f->grams = NULL;
    f->gram_count = 0;
}

double textsig_overlap(const struct textsig *a, const struct textsig *b)
{
    size_t i = 0, j = 0, common = 0;
    while (i < a->gram_count && j < b->gram_count) {
        if (a->grams[i] < b->grams[j]) {
            i++;
        } else if (a->grams[i] > b->grams[j]) {
            j++;
        } else {
            common++;
            i++;
            j++;
        }
    }
    size_t smaller =
        a->gram_count < b->gram_count ? a->gram_count : b->gram_count;
    return smaller == 0 ? 0.0 : (double)common / (double)smaller;
}

int textsig_amounts_conflict(const struct textsig *a, const struct textsig *b)
{
    if (a->amount_count == 0 || b->amount_count == 0)
        return 0;
    size_t i = 0, j = 0;
    while (i < a->amount_count && j < b->amount_count) {
        if (a->amounts[i] == b->amounts[j])
            return 0;
        if (a->amounts[i] < b->amounts[j])
            i++;
        else
            j++;
    }
    return 1;
}
