/*
 * fuzz_http_conn: bytes from a client, through the whole connection
 * handler (head scan, llhttp, limits, routing, answers, keep-alive,
 * pipelining) over the loopback transport of tests/loopback.
 *
 * The first input byte chooses how the rest is cut into reads (1 to 256
 * bytes each), so that split points are explored too (spec/reliability.md
 * C2); the clock moves between reads so deadlines fire.
 */
#include <stddef.h>
#include <stdint.h>

#include "loopback/fake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t piece = (size_t)data[0] + 1;
    data++;
    size--;
    struct fake f;
    fake_init(&f);
    fake_start(&f);
    for (size_t at = 0; at < size && !f.closed; at += piece) {
        size_t n = size - at < piece ? size - at : piece;
        fake_feed(&f, (const char *)data + at, n);
        fake_pump(&f);
        fake_advance(&f, 7);
    }
    fake_advance(&f, 60000); /* every deadline passes: the connection ends */
    fake_pump(&f);
    fake_cleanup(&f);
    return 0;
}
