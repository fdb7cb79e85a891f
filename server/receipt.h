/*
 * receipt: the code a reporter keeps to follow up a report.
 *
 * 20 characters of Crockford base32 (100 bits), shown as
 * XXXXX-XXXXX-XXXXX-XXXXX. The database holds only
 * HMAC-SHA256(receipt key, code), so a copy of the database opens nobody's
 * follow-up (spec/api.md).
 *
 * A request without an idempotency key gets a random code. A request with
 * one gets a code derived from the key and the request's SHA-256 under the
 * server's secret: a retry of the same request computes the same code, so
 * a replay can answer with the first receipt although the code was never
 * stored, while anyone without the secret, the key and the exact request
 * cannot compute it.
 */
#ifndef TIPD_RECEIPT_H
#define TIPD_RECEIPT_H

#include <stddef.h>

#define RECEIPT_CHARS 20     /* code characters, without dashes */
#define RECEIPT_TEXT_SIZE 24 /* displayed form with dashes, plus NUL */

/* A fresh random code in displayed form. 0, or -1 if the system's random
 * source failed. */
int receipt_random(char out[RECEIPT_TEXT_SIZE]);

/* The code of an idempotent request (see above), in displayed form. */
void receipt_derive(const unsigned char key[32], const char *scope,
                    const char *idem_key, const unsigned char request_sha[32],
                    char out[RECEIPT_TEXT_SIZE]);

/*
 * Reduces what a person typed to the 20 canonical characters: case is
 * ignored, dashes and spaces dropped, O read as 0 and I, L as 1. 0, or -1
 * if it cannot be a receipt code.
 */
int receipt_normalize(const char *in, size_t len, char out[RECEIPT_CHARS + 1]);

/* The stored form: HMAC-SHA256(key, canonical code). */
void receipt_hash(const unsigned char key[32],
                  const char canonical[RECEIPT_CHARS + 1],
                  unsigned char out[32]);

#endif
