/*
 * sms_repeat: open addressing over a fixed array; a hash probes PROBE
 * slots from its own and takes its slot, an empty one, or the stalest.
 */
#include "sms_repeat.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PROBE 8

struct sms_repeat_slot {
    unsigned char id[16];
    uint64_t first_ms; /* wall clock; 0: empty */
    int64_t window;
};

int sms_repeats_init(struct sms_repeats *r, size_t slots)
{
    size_t n = PROBE;
    while (n < slots)
        n *= 2;
    r->count = n;
    r->slots = xcalloc(n, sizeof(*r->slots));
    return uv_mutex_init(&r->lock);
}

void sms_repeats_cleanup(struct sms_repeats *r)
{
    if (r->slots == NULL)
        return;
    uv_mutex_destroy(&r->lock);
    free(r->slots);
    r->slots = NULL;
}

int64_t sms_repeats_window(struct sms_repeats *r, const unsigned char id[16],
                           uint64_t now_ms, uint64_t window_ms)
{
    int64_t now_window = (int64_t)(now_ms / window_ms);
    uint64_t h;
    memcpy(&h, id, sizeof(h));
    uv_mutex_lock(&r->lock);
    struct sms_repeat_slot *slot = NULL, *stalest = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        struct sms_repeat_slot *s = &r->slots[(h + i) & (r->count - 1)];
        if (s->first_ms != 0 && memcmp(s->id, id, 16) == 0) {
            slot = s;
            break;
        }
        if (stalest == NULL || s->first_ms < stalest->first_ms)
            stalest = s;
    }
    int64_t window;
    if (slot != NULL && now_ms >= slot->first_ms &&
        now_ms - slot->first_ms < window_ms) {
        window = slot->window;
    } else {
        if (slot == NULL)
            slot = stalest;
        memcpy(slot->id, id, 16);
        slot->first_ms = now_ms;
        slot->window = now_window;
        window = now_window;
    }
    uv_mutex_unlock(&r->lock);
    return window;
}
