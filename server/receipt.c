/*
 * receipt: encoding and hashing. Every HMAC input starts with a label
 * ("receipt-code", "receipt-hash") so the two uses of the one key can never
 * produce each other's values.
 */
#include "receipt.h"

#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Writes 100 bits of bytes (13 bytes used) as a dashed code. */
static void encode(const unsigned char *bytes, char out[RECEIPT_TEXT_SIZE])
{
    size_t o = 0;
    for (int i = 0; i < RECEIPT_CHARS; i++) {
        int bit = i * 5;
        unsigned v = (unsigned)bytes[bit / 8] << 8 | bytes[bit / 8 + 1];
        unsigned c = (v >> (11 - bit % 8)) & 31;
        if (i > 0 && i % 5 == 0)
            out[o++] = '-';
        out[o++] = alphabet[c];
    }
    out[o] = '\0';
}

int receipt_random(char out[RECEIPT_TEXT_SIZE])
{
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof(bytes)) != 1)
        return -1;
    encode(bytes, out);
    return 0;
}

void receipt_derive(const unsigned char key[32], const char *scope,
                    const char *idem_key, const unsigned char request_sha[32],
                    char out[RECEIPT_TEXT_SIZE])
{
    unsigned char md[32];
    unsigned int n = 0;
    /* label \0 scope \0 key \0 sha: NULs keep the fields apart. */
    size_t ls = strlen(scope), lk = strlen(idem_key);
    unsigned char msg[13 + 1 + 100 + 1 + 200 + 1 + 32];
    size_t m = 13;
    memcpy(msg, "receipt-code", 13); /* with its NUL */
    if (ls > 100)
        ls = 100;
    if (lk > 200)
        lk = 200;
    memcpy(msg + m, scope, ls);
    m += ls;
    msg[m++] = '\0';
    memcpy(msg + m, idem_key, lk);
    m += lk;
    msg[m++] = '\0';
    memcpy(msg + m, request_sha, 32);
    m += 32;
    HMAC(EVP_sha256(), key, 32, msg, m, md, &n);
    encode(md, out);
}

static int value_of(char ch)
{
    if (ch >= 'a' && ch <= 'z')
        ch = (char)(ch - 'a' + 'A');
    if (ch == 'O')
        ch = '0';
    if (ch == 'I' || ch == 'L')
        ch = '1';
    const char *p = strchr(alphabet, ch);
    return ch != '\0' && p != NULL ? (int)(p - alphabet) : -1;
}

int receipt_normalize(const char *in, size_t len, char out[RECEIPT_CHARS + 1])
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch == '-' || ch == ' ')
            continue;
        int v = value_of(ch);
        if (v < 0 || n == RECEIPT_CHARS)
            return -1;
        out[n++] = alphabet[v];
    }
    if (n != RECEIPT_CHARS)
        return -1;
    out[n] = '\0';
    return 0;
}

void receipt_hash(const unsigned char key[32],
                  const char canonical[RECEIPT_CHARS + 1],
                  unsigned char out[32])
{
    unsigned char msg[13 + RECEIPT_CHARS];
    unsigned int n = 0;
    memcpy(msg, "receipt-hash", 13);
    memcpy(msg + 13, canonical, RECEIPT_CHARS);
    HMAC(EVP_sha256(), key, 32, msg, sizeof(msg), out, &n);
}
