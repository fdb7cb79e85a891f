/*
 * Unit tests of ratelimit: client keys from address prefixes under an
 * in-memory key, and the token buckets.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "ratelimit.h"
#include "test.h"

static uint64_t v4(const struct ratelimit_key *k, const char *ip)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return ratelimit_client(k, (struct sockaddr *)&a, 24, 64);
}

static uint64_t v6(const struct ratelimit_key *k, const char *ip)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return ratelimit_client(k, (struct sockaddr *)&a, 24, 64);
}

void test_ratelimit_clients_and_buckets(void)
{
    struct ratelimit_key k1, k2;
    CHECK_INT(ratelimit_key_init(&k1, 0), 0);
    CHECK_INT(ratelimit_key_init(&k2, 0), 0);

    /* One /24 is one client; the next /24 is another. */
    CHECK(v4(&k1, "192.0.2.1") == v4(&k1, "192.0.2.200"));
    CHECK(v4(&k1, "192.0.2.1") != v4(&k1, "192.0.3.1"));
    CHECK(v6(&k1, "2001:db8:1:2::1") == v6(&k1, "2001:db8:1:2:ffff::9"));
    CHECK(v6(&k1, "2001:db8:1:2::1") != v6(&k1, "2001:db8:1:3::1"));
    /* A new key (a restart, a rotation) gives every address a new name. */
    CHECK(v4(&k1, "192.0.2.1") != v4(&k2, "192.0.2.1"));
    CHECK(v4(&k1, "192.0.2.1") != 0);

    /* 60 per minute with a burst of 3: three at once, then one a second. */
    struct ratelimit r;
    ratelimit_init(&r, 16, 60, 3);
    uint64_t a = v4(&k1, "192.0.2.1"), b = v4(&k1, "198.51.100.7");
    CHECK_INT(ratelimit_take(&r, a, 1000), 0);
    CHECK_INT(ratelimit_take(&r, a, 1000), 0);
    CHECK_INT(ratelimit_take(&r, a, 1000), 0);
    CHECK_INT(ratelimit_take(&r, a, 1000), 1); /* retry after 1 s */
    CHECK_INT(ratelimit_take(&r, b, 1000), 0); /* others unaffected */
    CHECK_INT(ratelimit_take(&r, a, 2000), 0);
    CHECK_INT(ratelimit_take(&r, a, 2000), 1);
    CHECK_INT(ratelimit_take(&r, 0, 2000), 0); /* unknown: not limited */

    /* More clients than slots: memory stays fixed, the stalest goes. */
    for (uint64_t c = 1; c < 1000; c++)
        ratelimit_take(&r, c * 0x9e3779b97f4a7c15ull, 3000 + c);
    CHECK_INT(r.count, 16);
    ratelimit_cleanup(&r);

    /* 0 per minute: never limited. */
    ratelimit_init(&r, 16, 0, 1);
    for (int i = 0; i < 100; i++)
        CHECK_INT(ratelimit_take(&r, a, 1000), 0);
    ratelimit_cleanup(&r);
}
