/*
 * ratelimit: HMAC-SHA256 of the masked address for the client key, and an
 * open-addressed table probed over a window of 8 slots.
 */
#include "ratelimit.h"

#include <netinet/in.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PROBE 8

struct ratelimit_slot {
    uint64_t client; /* 0: empty */
    double tokens;
    uint64_t last_ms;
};

int ratelimit_key_init(struct ratelimit_key *k, uint64_t now_ms)
{
    k->made_ms = now_ms;
    return RAND_bytes(k->bytes, sizeof(k->bytes)) == 1 ? 0 : -1;
}

uint64_t ratelimit_client(const struct ratelimit_key *k,
                          const struct sockaddr *addr, unsigned v4_bits,
                          unsigned v6_bits)
{
    unsigned char prefix[17] = {0};
    size_t len;
    unsigned bits;
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        memcpy(prefix + 1, &a->sin_addr, 4);
        prefix[0] = 4;
        len = 5;
        bits = v4_bits > 32 ? 32 : v4_bits;
    } else if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
        memcpy(prefix + 1, &a->sin6_addr, 16);
        prefix[0] = 6;
        len = 17;
        bits = v6_bits > 128 ? 128 : v6_bits;
    } else {
        return 0;
    }
    /* Zero the bits past the prefix. */
    for (size_t i = 0; i < len - 1; i++) {
        unsigned keep = bits > 8 * i ? bits - 8 * (unsigned)i : 0;
        if (keep < 8)
            prefix[1 + i] &= (unsigned char)(0xff00u >> keep);
    }
    unsigned char md[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), k->bytes, sizeof(k->bytes), prefix, len, md, &n);
    uint64_t h;
    memcpy(&h, md, sizeof(h));
    OPENSSL_cleanse(prefix, sizeof(prefix));
    return h != 0 ? h : 1;
}

void ratelimit_init(struct ratelimit *r, size_t slots, uint64_t per_minute,
                    uint64_t burst)
{
    size_t n = PROBE;
    while (n < slots)
        n *= 2;
    r->count = n;
    r->slots = per_minute ? xcalloc(n, sizeof(*r->slots)) : NULL;
    r->per_ms = (double)per_minute / 60000.0;
    r->burst = burst > 0 ? (double)burst : 1.0;
}

void ratelimit_init_per_hour(struct ratelimit *r, size_t slots,
                             uint64_t per_hour, uint64_t burst)
{
    ratelimit_init(r, slots, per_hour, burst);
    r->per_ms = (double)per_hour / 3600000.0;
}

void ratelimit_cleanup(struct ratelimit *r)
{
    free(r->slots);
    r->slots = NULL;
}

void ratelimit_reset(struct ratelimit *r)
{
    if (r->slots != NULL)
        memset(r->slots, 0, r->count * sizeof(*r->slots));
}

unsigned ratelimit_take(struct ratelimit *r, uint64_t client, uint64_t now_ms)
{
    if (r->slots == NULL || client == 0)
        return 0;
    size_t base = (size_t)(client & (r->count - 1));
    struct ratelimit_slot *slot = NULL, *stalest = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        struct ratelimit_slot *s = &r->slots[(base + i) & (r->count - 1)];
        if (s->client == client) {
            slot = s;
            break;
        }
        if (stalest == NULL || s->last_ms < stalest->last_ms)
            stalest = s;
    }
    if (slot == NULL) {
        slot = stalest;
        slot->client = client;
        slot->tokens = r->burst;
        slot->last_ms = now_ms;
    }
    double earned = (double)(now_ms - slot->last_ms) * r->per_ms;
    slot->tokens =
        slot->tokens + earned > r->burst ? r->burst : slot->tokens + earned;
    slot->last_ms = now_ms;
    if (slot->tokens >= 1.0) {
        slot->tokens -= 1.0;
        return 0;
    }
    double wait_ms = (1.0 - slot->tokens) / r->per_ms;
    unsigned seconds = (unsigned)((wait_ms + 999.0) / 1000.0);
    return seconds > 0 ? seconds : 1;
}
