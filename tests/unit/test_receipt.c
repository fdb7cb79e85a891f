/*
 * Unit tests of receipt: the code's shape, its entropy source, derivation
 * for idempotent requests, normalisation of what people type, the hash.
 */
#include <string.h>

#include "receipt.h"
#include "test.h"

static const unsigned char key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

void test_receipt_codes(void)
{
    char a[RECEIPT_TEXT_SIZE], b[RECEIPT_TEXT_SIZE];
    CHECK_INT(receipt_random(a), 0);
    CHECK_INT(receipt_random(b), 0);
    CHECK_INT(strlen(a), 23);
    CHECK(strcmp(a, b) != 0);
    CHECK(a[5] == '-' && a[11] == '-' && a[17] == '-');

    /* Derived codes: same inputs, same code; any input changed, another. */
    unsigned char sha[32] = {0};
    receipt_derive(key, "web", "k1", sha, a);
    receipt_derive(key, "web", "k1", sha, b);
    CHECK_STR(a, b);
    receipt_derive(key, "web", "k2", sha, b);
    CHECK(strcmp(a, b) != 0);
    receipt_derive(key, "sms", "k1", sha, b);
    CHECK(strcmp(a, b) != 0);
    sha[31] = 1;
    receipt_derive(key, "web", "k1", sha, b);
    CHECK(strcmp(a, b) != 0);

    /* Normalisation: case, dashes, spaces, O/I/L read as 0/1. */
    char c1[RECEIPT_CHARS + 1], c2[RECEIPT_CHARS + 1];
    CHECK_INT(receipt_normalize(a, strlen(a), c1), 0);
    char typed[64];
    size_t n = 0;
    for (const char *p = a; *p; p++) {
        char ch = *p;
        if (ch == '-') {
            typed[n++] = ' ';
            continue;
        }
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch == '0')
            ch = 'o';
        if (ch == '1')
            ch = 'l';
        typed[n++] = ch;
    }
    typed[n] = '\0';
    CHECK_INT(receipt_normalize(typed, n, c2), 0);
    CHECK_STR(c1, c2);
    CHECK_INT(receipt_normalize("ABCDE", 5, c2), -1);
    CHECK_INT(receipt_normalize("UUUUU-UUUUU-UUUUU-UUUUU", 23, c2), -1);
    CHECK_INT(receipt_normalize("00000-00000-00000-000000", 24, c2), -1);

    /* The stored hash depends on the key and the code only. */
    unsigned char h1[32], h2[32];
    CHECK_INT(receipt_normalize(typed, n, c2), 0);
    receipt_hash(key, c1, h1);
    receipt_hash(key, c2, h2);
    CHECK(memcmp(h1, h2, 32) == 0);
    unsigned char other[32] = {9};
    receipt_hash(other, c1, h2);
    CHECK(memcmp(h1, h2, 32) != 0);
}
