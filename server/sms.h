/*
 * sms: the SMS gateways' callbacks (spec/api.md), each a thin adapter that
 * has the gateway's callback decoded and its proof checked (sms_parse.h),
 * turns the message into a report of channel sms and hands it to intake's
 * group commit; the answer carries the reply SMS with the receipt code.
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
 * gets the first answer again (B1); without an id, the same sender and
 * text within sms_repeat_window_s does. A message that could not be stored
 * (database down, intake full) is answered 503 within intake's queue and
 * job timeouts, so the gateway retries (B2); when it is stored at last it
 * keeps the gateway's time of the message (Kannel's %T, the generic
 * received_at) as received_at.
 *
 * A message that is only a receipt code, optionally after a keyword of
 * sms_status_keywords ("查询 ABCDE-…"), is a status query: the reply is the
 * report's state and the newest staff message, nothing is stored, and a
 * sender (by hash) gets sms_status_per_hour answers per worker. Kannel's
 * callbacks with a UDH concatenation element are parts of a long message
 * (sms_parts.h, B4).
 */
#ifndef TIPD_SMS_H
#define TIPD_SMS_H

#include "router.h"
#include "sms_parse.h"

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

/* The gateways' secrets and the limits of sms_parse.h as w's server has
 * them (borrowed: they live as long as the server), and now. */
void sms_gateway_config(const struct worker *w, struct sms_parse_config *out);

#endif
