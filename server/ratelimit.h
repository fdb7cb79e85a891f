/*
 * ratelimit: token buckets per client, where a client is known only by a
 * keyed hash of its address prefix (spec/reliability.md E2).
 *
 * The worker hashes a connection's peer address once, at accept, with a
 * key that exists only in memory (random at start, replaced every
 * rate_limit_key_rotation_s), keeps the 64-bit hash and forgets the
 * address. So nothing on disk or in a log can tie a bucket, a request or a
 * report to an address, and after a restart or a rotation the same address
 * hashes differently. A table of fixed size per worker holds the buckets;
 * when it is full the stalest bucket of a probe window is reused, so memory
 * never grows with the number of clients.
 */
#ifndef TIPD_RATELIMIT_H
#define TIPD_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ratelimit_key {
    unsigned char bytes[32]; /* random, in memory only */
    uint64_t made_ms;        /* when it was drawn */
};

/* Draws a fresh key. 0, or -1 if the system has no randomness. */
int ratelimit_key_init(struct ratelimit_key *k, uint64_t now_ms);

/*
 * The client key of an address: a keyed hash of its first v4_bits (IPv4)
 * or v6_bits (IPv6) bits. Never 0 (0 means "unknown client").
 */
uint64_t ratelimit_client(const struct ratelimit_key *k,
                          const struct sockaddr *addr, unsigned v4_bits,
                          unsigned v6_bits);

struct ratelimit_slot;

struct ratelimit {
    struct ratelimit_slot *slots; /* owned */
    size_t count;                 /* a power of two */
    double per_ms;                /* tokens earned per millisecond */
    double burst;                 /* bucket size */
};

/* per_minute 0 disables limiting. slots is rounded up to a power of two. */
void ratelimit_init(struct ratelimit *r, size_t slots, uint64_t per_minute,
                    uint64_t burst);
/* The same with a rate per hour, for slow limits (status SMS). */
void ratelimit_init_per_hour(struct ratelimit *r, size_t slots,
                             uint64_t per_hour, uint64_t burst);
void ratelimit_cleanup(struct ratelimit *r);
/* Forgets every bucket (after a key rotation). */
void ratelimit_reset(struct ratelimit *r);

/*
 * Takes one token for client. 0 if allowed; otherwise the seconds until
 * a token is available (for Retry-After). Client 0 is never limited.
 */
unsigned ratelimit_take(struct ratelimit *r, uint64_t client, uint64_t now_ms);

#endif
