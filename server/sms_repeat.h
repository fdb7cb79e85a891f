/*
 * sms_repeat: which window a message without a gateway message id belongs
 * to, so that instant repeats (a gateway or a phone sending the same text
 * twice) are one report.
 *
 * The idempotency key of such a message is its sender-and-text hash plus
 * a window number, floor(wall clock / sms_repeat_window_s): every worker
 * and node computes the same key, and the key of a message after the
 * window differs (so does its receipt, which is derived from the key).
 * Fixed windows alone would split a repeat that crosses a window's edge;
 * this table remembers, per process, when each hash was first seen and in
 * which window, and a repeat within sms_repeat_window_s of the first
 * sighting gets the first one's window. So within one node the window
 * slides from the first message; across nodes (or after a restart, or for
 * a hash pushed out of the table) a repeat across an edge is stored twice,
 * which duplicates but never loses.
 *
 * The table is shared by the workers (a mutex; only messages without an id
 * take it), holds sms_repeat_slots entries of 32 bytes and reuses the
 * stalest of a short probe when full. It keeps hashes, never numbers.
 */
#ifndef TIPD_SMS_REPEAT_H
#define TIPD_SMS_REPEAT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct sms_repeat_slot;

struct sms_repeats {
    uv_mutex_t lock;
    struct sms_repeat_slot *slots; /* owned */
    size_t count;                  /* a power of two */
};

/* slots is rounded up to a power of two. 0, or a negative libuv error. */
int sms_repeats_init(struct sms_repeats *r, size_t slots);
void sms_repeats_cleanup(struct sms_repeats *r);

/*
 * The window number of the message whose hash is id, at wall-clock time
 * now_ms, with windows of window_ms: the first sighting's if that was less
 * than window_ms ago, else now's (and now becomes the first sighting).
 * Thread-safe.
 */
int64_t sms_repeats_window(struct sms_repeats *r, const unsigned char id[16],
                           uint64_t now_ms, uint64_t window_ms);

#endif
