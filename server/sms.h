/*
 * sms: the SMS gateways' callbacks (spec/api.md), each a thin adapter that
 * checks the gateway's proof, turns the message into a report of channel
 * sms and hands it to intake's group commit; the answer carries the reply
 * SMS with the receipt code.
 *
 *   GET/POST /sms/kannel   Kannel sms-service get-url/post-url; proof: the
 *                          optional shared `key` parameter; idempotency:
 *                          (smsc, id)
 *   POST /sms/twilio       Twilio-style form; proof: X-Twilio-Signature
 *                          (HMAC-SHA1 of the URL and sorted parameters);
 *                          idempotency: MessageSid
 *   POST /sms/generic      JSON; proof: X-Signature: sha256=HEX, an
 *                          HMAC-SHA256 of the body; idempotency: message_id
 *
 * The sender's number is kept only as HMAC(receipt key, "sms-sender" ||
 * number): follow-ups from one number thread together, and the number is
 * never stored or logged. A callback whose proof fails is 403 and leaves
 * nothing behind (spec/reliability.md B3); one whose message id was seen
 * gets the first answer again (B1).
 */
#ifndef TIPD_SMS_H
#define TIPD_SMS_H

#include "router.h"

int sms_kannel(void *app, struct http_conn *conn, struct http_request *req,
               struct http_response *res);
int sms_twilio(void *app, struct http_conn *conn, struct http_request *req,
               struct http_response *res);
int sms_generic(void *app, struct http_conn *conn, struct http_request *req,
                struct http_response *res);
/* POST /sms/aliyun: Alibaba Cloud SMS's uplink push (sms_aliyun.c). */
int sms_aliyun(void *app, struct http_conn *conn, struct http_request *req,
               struct http_response *res);

/* --- shared by the adapters (sms.c, sms_aliyun.c) ------------------------ */

struct worker;
struct arena;

/* HMAC(receipt key, "sms-sender" NUL number) into out: threads a sender's
 * messages without keeping the number. */
void sms_sender_hash(const struct worker *w, const char *number,
                     unsigned char out[32]);

/*
 * For a message without a gateway message id: the idempotency key that
 * makes the same sender and text (identity, len bytes) within
 * sms_repeat_window_s one report, and *scope replaced by its "repeat:"
 * scope; both in a. NULL (scope unchanged) when the window is 0.
 */
const char *sms_repeat_key(const struct worker *w, struct arena *a,
                           const char *identity, size_t len,
                           const char **scope);

/*
 * Twilio's signature of url and the form parameters: base64 of
 * HMAC-SHA1(token, url + name1 + value1 + ... sorted by name). Writes a
 * NUL-terminated value into out (at least 29 bytes). For tests.
 */
struct form;
void sms_twilio_signature(const char *token, const char *url,
                          const struct form *params, char *out);

#endif
