/*
 * norm: NFKC case folding and traditional -> simplified through one flat
 * table per BMP code point.
 *
 * The table is built in two bulk steps. ICU's NFKC_Casefold normaliser maps
 * each code point alone (that is also where the "fast" bit comes from: a code
 * point with a normalisation boundary before it normalises independently of
 * the text before it). Then every CJK character those mappings produce is
 * written, one per line, into one string that OpenCC's t2s converts in a
 * single call; one character per line keeps its phrase tables from
 * rewriting neighbours, so each line's answer is that character's own
 * simplified form. The final mapping of a code point is NFKC_Casefold
 * followed by t2s, as UTF-8 in one pool.
 */
#include "norm.h"

#include <opencc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include "oom.h"

#define BMP 0x10000
#define MAP_MAX                                                                \
    64 /* bytes of one code point's mapping; longer ones (none in              \
          Unicode 15 exceed 54) fall back to the slow path */

/* A code point's entry: offset into pool (24 bits), length (8 bits). */
struct norm {
    uint32_t map[BMP];
    uint8_t flags[BMP];
    char *pool;        /* owned */
    uint32_t t2s[BMP]; /* owned; traditional -> simplified per character */
    const UNormalizer2 *icu;
};

enum { FLAG_FAST = 1, FLAG_SEPARATOR = 2 };

uint32_t norm_next(const char **p)
{
    const unsigned char *s = (const unsigned char *)*p;
    uint32_t cp;
    int n;
    if (s[0] < 0x80) {
        cp = s[0];
        n = 1;
    } else if ((s[0] & 0xE0) == 0xC0) {
        cp = s[0] & 0x1F;
        n = 2;
    } else if ((s[0] & 0xF0) == 0xE0) {
        cp = s[0] & 0x0F;
        n = 3;
    } else {
        cp = s[0] & 0x07;
        n = 4;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *p += i;
            return 0xFFFD;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *p += n;
    return cp;
}

size_t norm_put(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static bool is_cjk(uint32_t cp)
{
    return (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) ||
           (cp >= 0xF900 && cp <= 0xFAFF);
}

/* Strictly valid UTF-8 decoding for input text: returns the code point, or
 * -1 for an invalid sequence (then skip one byte). */
static int32_t decode_strict(const unsigned char *s, size_t len, size_t *n)
{
    uint32_t cp;
    size_t need;
    if (s[0] < 0x80) {
        *n = 1;
        return s[0];
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        cp = s[0] & 0x1F;
        need = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        cp = s[0] & 0x0F;
        need = 3;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        cp = s[0] & 0x07;
        need = 4;
    } else {
        return -1;
    }
    if (len < need)
        return -1;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return -1;
    *n = need;
    return (int32_t)cp;
}

static bool separator_class(UChar32 c)
{
    switch (u_charType(c)) {
    case U_SPACE_SEPARATOR:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
        return true;
    default:
        return false;
    }
}

/* t2s for every CJK character in one OpenCC call. */
static int build_t2s(struct norm *n, char *err, size_t errlen)
{
    for (uint32_t cp = 0; cp < BMP; cp++)
        n->t2s[cp] = cp;
    opencc_t cc = opencc_open("t2s.json");
    if (cc == (opencc_t)-1) {
        snprintf(err, errlen,
                 "OpenCC cannot open t2s.json (%s): install libopencc-data",
                 opencc_error());
        return -1;
    }
    size_t cap = (size_t)0x10000 * 4, len = 0;
    char *in = malloc(cap);
    if (in == NULL)
        oom_abort();
    for (uint32_t cp = 0; cp < BMP; cp++) {
        if (!is_cjk(cp))
            continue;
        len += norm_put(in + len, cp);
        in[len++] = '\n';
    }
    in[len] = '\0';
    char *out = opencc_convert_utf8(cc, in, len);
    opencc_close(cc);
    if (out == NULL) {
        free(in);
        snprintf(err, errlen, "OpenCC t2s conversion failed: %s",
                 opencc_error());
        return -1;
    }
    /* Walk both strings line by line: a line that is one character maps
     * that character; anything else (never seen) keeps it. */
    const char *a = in, *b = out;
    while (*a != '\0' && *b != '\0') {
        uint32_t from = norm_next(&a);
        uint32_t to = norm_next(&b);
        bool one = *b == '\n';
        while (*b != '\0' && *b != '\n')
            b++;
        if (*b == '\n')
            b++;
        a++; /* the '\n' */
        if (one && to < BMP && from < BMP)
            n->t2s[from] = to;
    }
    opencc_convert_utf8_free(out);
    free(in);
    return 0;
}

/* Applies t2s to UTF-8 text in place of a copy: returns the bytes written
 * to out (room for len bytes: t2s never lengthens a BMP character's UTF-8,
 * both sides being 3-byte CJK). */
static size_t apply_t2s(const struct norm *n, const char *s, size_t len,
                        char *out)
{
    const char *p = s, *end = s + len;
    size_t o = 0;
    while (p < end) {
        uint32_t cp = norm_next(&p);
        o += norm_put(out + o, cp < BMP ? n->t2s[cp] : cp);
    }
    return o;
}

struct norm *norm_new(char *err, size_t errlen)
{
    struct norm *n = calloc(1, sizeof(*n));
    if (n == NULL)
        oom_abort();
    UErrorCode status = U_ZERO_ERROR;
    n->icu = unorm2_getNFKCCasefoldInstance(&status);
    if (U_FAILURE(status)) {
        snprintf(err, errlen, "ICU has no NFKC_Casefold data: %s",
                 u_errorName(status));
        free(n);
        return NULL;
    }
    if (build_t2s(n, err, errlen) != 0) {
        free(n);
        return NULL;
    }
    size_t cap = (size_t)BMP * 4, used = 0;
    n->pool = malloc(cap);
    if (n->pool == NULL)
        oom_abort();
    for (uint32_t cp = 0; cp < BMP; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            n->map[cp] = 0; /* never decoded from valid UTF-8 */
            continue;
        }
        UChar src[1] = {(UChar)cp}, dst[32];
        UErrorCode st = U_ZERO_ERROR;
        int32_t dlen = unorm2_normalize(n->icu, src, 1, dst, 32, &st);
        char u8[MAP_MAX * 2], mapped[MAP_MAX * 2];
        int32_t u8len = 0;
        if (U_SUCCESS(st))
            u_strToUTF8(u8, (int32_t)sizeof(u8), &u8len, dst, dlen, &st);
        bool fast = U_SUCCESS(st) && u8len <= MAP_MAX &&
                    unorm2_hasBoundaryBefore(n->icu, (UChar32)cp);
        size_t mlen = fast ? apply_t2s(n, u8, (size_t)u8len, mapped) : 0;
        if (used + mlen > cap) {
            cap *= 2;
            n->pool = realloc(n->pool, cap);
            if (n->pool == NULL)
                oom_abort();
        }
        memcpy(n->pool + used, mapped, mlen);
        n->map[cp] = (uint32_t)(used << 8) | (uint32_t)mlen;
        used += mlen;
        n->flags[cp] =
            (uint8_t)((fast ? FLAG_FAST : 0) |
                      (separator_class((UChar32)cp) ? FLAG_SEPARATOR : 0));
    }
    return n;
}

void norm_free(struct norm *n)
{
    if (n == NULL)
        return;
    free(n->pool);
    free(n);
}

bool norm_is_separator(const struct norm *n, uint32_t cp)
{
    if (cp < BMP)
        return (n->flags[cp] & FLAG_SEPARATOR) != 0;
    return separator_class((UChar32)cp);
}

/* ICU over the whole text, then t2s. */
static char *slow_path(const struct norm *n, const char *s, size_t len,
                       size_t *out_len)
{
    /* Valid UTF-8 only: invalid bytes are dropped first. */
    char *clean = malloc(len + 1);
    if (clean == NULL)
        oom_abort();
    size_t c = 0;
    for (size_t i = 0; i < len;) {
        size_t k;
        int32_t cp = decode_strict((const unsigned char *)s + i, len - i, &k);
        if (cp < 0) {
            i++;
            continue;
        }
        memcpy(clean + c, s + i, k);
        c += k;
        i += k;
    }
    UErrorCode st = U_ZERO_ERROR;
    int32_t ulen = 0;
    u_strFromUTF8(NULL, 0, &ulen, clean, (int32_t)c, &st);
    st = U_ZERO_ERROR;
    UChar *u = malloc(((size_t)ulen + 1) * sizeof(UChar));
    if (u == NULL)
        oom_abort();
    u_strFromUTF8(u, ulen + 1, NULL, clean, (int32_t)c, &st);
    free(clean);
    st = U_ZERO_ERROR;
    int32_t nlen = unorm2_normalize(n->icu, u, ulen, NULL, 0, &st);
    st = U_ZERO_ERROR;
    UChar *nu = malloc(((size_t)nlen + 1) * sizeof(UChar));
    if (nu == NULL)
        oom_abort();
    unorm2_normalize(n->icu, u, ulen, nu, nlen + 1, &st);
    free(u);
    int32_t u8len = 0;
    st = U_ZERO_ERROR;
    u_strToUTF8(NULL, 0, &u8len, nu, nlen, &st);
    st = U_ZERO_ERROR;
    char *u8 = malloc((size_t)u8len + 1);
    if (u8 == NULL)
        oom_abort();
    u_strToUTF8(u8, u8len + 1, NULL, nu, nlen, &st);
    free(nu);
    char *out = malloc((size_t)u8len + 1);
    if (out == NULL)
        oom_abort();
    *out_len = apply_t2s(n, u8, (size_t)u8len, out);
    out[*out_len] = '\0';
    free(u8);
    return out;
}

char *norm_text(const struct norm *n, const char *s, size_t len,
                size_t *out_len)
{
    /* Normalised Chinese text is as long as its input; the few characters
     * that expand (ligatures, squared words) grow the buffer. */
    size_t cap = len + MAP_MAX + 1, o = 0;
    char *out = malloc(cap);
    if (out == NULL)
        oom_abort();
    for (size_t i = 0; i < len;) {
        size_t k;
        int32_t cp = decode_strict((const unsigned char *)s + i, len - i, &k);
        if (cp < 0) {
            i++;
            continue;
        }
        if (cp >= BMP || !(n->flags[cp] & FLAG_FAST)) {
            free(out);
            return slow_path(n, s, len, out_len);
        }
        uint32_t e = n->map[cp];
        if (o + MAP_MAX + 1 > cap) {
            cap *= 2;
            out = realloc(out, cap);
            if (out == NULL)
                oom_abort();
        }
        memcpy(out + o, n->pool + (e >> 8), e & 0xFF);
        o += e & 0xFF;
        i += k;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}
