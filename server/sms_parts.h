/*
 * sms_parts: long SMS whose parts reach tipd one callback each (a gateway
 * that does not join them, such as Kannel with
 * sms-combine-concatenated-mo = false): spec/reliability.md B4.
 *
 * A part is named by its user data header's concatenation element: a
 * reference shared by the message's parts, their number, and its own
 * sequence number. Each part is stored in sms_parts
 * (migrations/0007_sms.sql) in one transaction that first takes an advisory
 * lock on the message's group, so parts arriving at once on different
 * workers or nodes see each other; a duplicate part changes nothing. The
 * transaction answers how many parts are there and, when all are, their
 * text joined in sequence order: the caller then submits that text as one
 * report through intake, keyed by the group and the text, so the part that
 * completes the message (or any of its re-deliveries) gets the receipt.
 *
 * sms_sweep turns groups still incomplete after sms_parts_window_s into
 * fragment reports (each missing part marked in the text), so no part a
 * gateway was told was received is ever dropped. A part that arrives after
 * its group was swept completes the message as a new report; the fragment
 * stays.
 */
#ifndef TIPD_SMS_PARTS_H
#define TIPD_SMS_PARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"

struct sms_part {
    unsigned ref;   /* concatenation reference (8 or 16 bits) */
    unsigned total; /* parts of the message, 2..255 */
    unsigned seq;   /* this part, 1..total */
};

/*
 * Reads the concatenation element of a user data header (IEI 0x00: 8-bit
 * reference, 0x08: 16-bit). 1 with p filled if udh names part seq of a
 * message of total >= 2 parts; 0 if it names none (no header, or no such
 * element); -1 if the header is malformed or the numbers impossible.
 */
int sms_parts_parse_udh(const unsigned char *udh, size_t len,
                        struct sms_part *p);

struct sms_parts_request;
/* status 0: r->have and r->joined are set; negative: not stored (503). */
typedef void (*sms_parts_cb)(struct sms_parts_request *r, int status);

/* One part on its way to the database; caller storage (the request's
 * arena), valid until done is called. */
struct sms_parts_request {
    struct db_job job;
    struct arena *arena; /* borrowed: joined is allocated here */
    char group_key[300];
    char sender_hex[2 + 64 + 1]; /* \x and the sender hash */
    char total[8], seq[8], window[24];
    const char *text; /* borrowed: the part's text, UTF-8 */
    sms_parts_cb done;
    void *data; /* for done */
    /* Outcome: */
    int have;         /* parts stored for the group */
    char *joined;     /* all parts' text in order when have == total */
    bool failed;      /* a statement failed, or COMMIT did not commit */
    int result_index; /* internal */
};

/*
 * Stores the part text of scope's message p from the sender with hash
 * sender_hash, on db; done reports the outcome. 0, or -1 if the session
 * is not up (done is then never called).
 */
int sms_parts_add(struct db_session *db, struct sms_parts_request *r,
                  const char *scope, const unsigned char sender_hash[32],
                  const struct sms_part *p, const char *text,
                  uint64_t window_s);

#endif
