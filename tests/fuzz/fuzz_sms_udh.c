/*
 * fuzz_sms_udh: a multi-part SMS's user data header as gateways pass it on
 * (server/sms_parts.c): whatever it says, the reader answers within the
 * header's bytes, and a part it accepts is a possible one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "sms_parts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sms_part p;
    int rc = sms_parts_parse_udh(data, size, &p);
    if (rc == 1 && (p.total < 2 || p.total > 255 || p.seq < 1 ||
                    p.seq > p.total || p.ref > 0xffff))
        abort(); /* an impossible part accepted */
    return 0;
}
