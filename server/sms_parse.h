/*
 * sms_parse: what an SMS gateway's callback says, decoded and checked
 * without a worker, a database or a connection. A request goes in; out
 * comes a plain struct sms_message (a cloud push: an array of them) or a
 * refusal with the HTTP status, a static reason and the field it names.
 *
 * The design idea: everything a callback's bytes decide is decided here,
 * in the order a gateway sees the answers (a malformed query before the
 * proof on Kannel, the proof before the body on the others, then the
 * fields), so the route handlers (sms.c, sms_aliyun.c) keep only what
 * needs the server (the sender hash, the repeat window, status lookups,
 * parts, intake) and the fuzz harnesses (tests/fuzz/fuzz_sms_*.c) can run
 * every byte of the decoding on its own. The gateways' secrets and the
 * limits come in a struct sms_parse_config; nothing here reads a clock.
 *
 * Memory: the parsers borrow the request, the config and the arena for the
 * call; every string of a message is in the arena (or static) and lives
 * until its next reset. Nothing else is allocated that outlives the call.
 */
#ifndef TIPD_SMS_PARSE_H
#define TIPD_SMS_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "http.h"
#include "receipt.h"
#include "sms_parts.h"

/* The characters of one part of a long message: an SMS part holds at most
 * 160, and 200 bounds the joined text of sms_parts_max (<= 100) parts by
 * the 20,000 of a report. */
#define SMS_PART_MAX_CHARS 200
#define SMS_SENDER_MAX_BYTES 64 /* a sender's number */
#define SMS_ID_MAX_BYTES 200    /* a gateway's message id */

/* Borrowed for the call; a secret "" is not configured (every callback of
 * that gateway is 403). */
struct sms_parse_config {
    const char *kannel_key;      /* the get-url's key parameter */
    const char *twilio_token;    /* signs X-Twilio-Signature */
    const char *twilio_url;      /* sms_twilio_url, part of what is signed */
    const char *generic_key;     /* signs X-Signature */
    const char *aliyun_key;      /* the push URL's key parameter */
    const char *status_keywords; /* sms_status_keywords, comma-separated */
    unsigned parts_max;          /* sms_parts_max */
    size_t cloud_batch_max;      /* sms_cloud_batch_max */
    double now;                  /* Unix seconds: Kannel's %T may not be
                                    more than a day ahead of it */
};

/* A refused callback: status 400, 403, 413, 415 or 422; reason static and
 * user-safe (never input); field NULL or the field named. */
struct sms_refusal {
    int status;
    const char *reason;
    const char *field;
};

enum sms_kind {
    SMS_REPORT,       /* a report to store */
    SMS_STATUS_QUERY, /* only a receipt code (after an optional keyword):
                         nothing is stored, the reply is the state */
    SMS_PART,         /* one part of a long message (Kannel's UDH) */
};

struct sms_message {
    enum sms_kind kind;
    const char *scope; /* the idempotency scope: "kannel:<smsc>", "twilio",
                          "generic", "aliyun"; arena or static */
    const char *id;    /* the gateway's message id, 1..SMS_ID_MAX_BYTES
                          bytes, or NULL (none, or unusable) */
    const char *from;  /* the sender's number, 1..SMS_SENDER_MAX_BYTES */
    const char *text;  /* UTF-8 without controls but newlines: 1 to
                          REPORT_CONTENT_MAX characters (a part: 1 to
                          SMS_PART_MAX_CHARS); a U+0000 in Kannel's text
                          (%00, UCS-2) or a JSON gateway's (\u0000) is
                          kept as U+FFFD, never an early end (Twilio's
                          form data refuses one: form.h) */
    bool has_sent;     /* when the gateway received it is known */
    double sent;       /* then: Unix seconds */
    char code[RECEIPT_CHARS + 1]; /* SMS_STATUS_QUERY: canonical code */
    struct sms_part part;         /* SMS_PART: 2 <= total <= parts_max */
};

/*
 * Each returns 0 with *out filled, or a refusal's status with *why filled
 * (and *out unspecified).
 *
 * kannel: GET/POST /sms/kannel, the fields in the query (Kannel's
 * get-url; a post-url's text is the body): key, text, from, id, smsc,
 * time (%T), coding (%c), charset (%C: UTF-16BE text is UCS-2 from the
 * phone and is turned into UTF-8), udh (%u: a concatenation element makes
 * the message an SMS_PART).
 */
int sms_parse_kannel(struct arena *a, const struct http_request *req,
                     const struct sms_parse_config *cfg,
                     struct sms_message *out, struct sms_refusal *why);

/* twilio: POST /sms/twilio, a form body (From, Body, MessageSid) signed by
 * X-Twilio-Signature. */
int sms_parse_twilio(struct arena *a, const struct http_request *req,
                     const struct sms_parse_config *cfg,
                     struct sms_message *out, struct sms_refusal *why);

/* generic: POST /sms/generic, a JSON object (message_id, from, text,
 * received_at) signed by X-Signature: sha256=HEX of the body. */
int sms_parse_generic(struct arena *a, const struct http_request *req,
                      const struct sms_parse_config *cfg,
                      struct sms_message *out, struct sms_refusal *why);

/*
 * aliyun: POST /sms/aliyun?key=SECRET, a JSON array of 1 to
 * cloud_batch_max messages (sms_aliyun.c names the fields), every one
 * checked before any is returned: *msgs (count *count, in the arena) are
 * all SMS_REPORTs, since a push has no reply channel for a status.
 */
int sms_parse_aliyun(struct arena *a, const struct http_request *req,
                     const struct sms_parse_config *cfg,
                     struct sms_message **msgs, size_t *count,
                     struct sms_refusal *why);

/*
 * The checks every whole message passes, whichever gateway brought it
 * (the parsers above call it; sms.c calls it for a long message's joined
 * text): m's text and sender are checked, an unusable id is dropped, and
 * m->kind becomes SMS_STATUS_QUERY (with m->code) or SMS_REPORT. 0, or
 * 422 with *why.
 */
int sms_parse_check(const struct sms_parse_config *cfg, struct sms_message *m,
                    struct sms_refusal *why);

/*
 * Twilio's signature of url and the form parameters: base64 of
 * HMAC-SHA1(token, url + name1 + value1 + ... sorted by name). Writes a
 * NUL-terminated value into out (at least 29 bytes).
 */
struct form;
void sms_parse_twilio_signature(const char *token, const char *url,
                                const struct form *params, char *out);

#endif
