/*
 * sms_fuzz: what the SMS gateway harnesses (fuzz_sms_*.c) share: a
 * request built from fuzz input the way the connection hands one to a
 * handler, the gateways' configuration they parse against, and the
 * invariants every parsed message and every refusal must meet (a broken
 * one aborts, so the fuzzer finds logic bugs as well as memory errors).
 *
 * Every piece of a request (query, body, header value) is its own heap
 * block of exactly its size, and the arena hands out one block per
 * allocation, so ASan sees a read or write one byte past any of them (a
 * normal arena chunk would hide it).
 */
#ifndef TIPD_SMS_FUZZ_H
#define TIPD_SMS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "sms_parse.h"

/* The secrets and limits the harnesses' seeds are written for (the
 * defaults of config.h; the secrets of tests/e2e/test_sms.c). */
extern const struct sms_parse_config sms_fuzz_config;

struct sms_fuzz {
    struct arena arena;
    struct http_request req;
    struct http_header header; /* at most one: the gateway's proof */
    char *query;               /* owned, NUL-terminated */
    char *body;                /* owned, exactly body.len bytes, or NULL */
    char *header_value;        /* owned, exactly header.value_len bytes */
};

/* A request with query (a C string from qlen bytes, cut at a NUL as a
 * request target would never hold one) and body (blen bytes). */
void sms_fuzz_init(struct sms_fuzz *f, enum http_method method,
                   const char *query, size_t qlen, const char *body,
                   size_t blen);
/* Gives the request its one header, name (static) and value (copied). */
void sms_fuzz_header(struct sms_fuzz *f, const char *name, const char *value,
                     size_t len);
void sms_fuzz_cleanup(struct sms_fuzz *f);

/* Cuts *data at its first '\n': the line before it into *line (*len
 * bytes), the rest stays in *data. false (nothing changed) if there is no
 * newline. */
bool sms_fuzz_line(const uint8_t **data, size_t *size, const char **line,
                   size_t *len);

/* The value of name in a urlencoded string (values as raw bytes), or NULL;
 * *len its length. In f's arena. */
const char *sms_fuzz_form_value(struct sms_fuzz *f, const char *s, size_t n,
                                const char *name, size_t *len);

/* Aborts unless m is a message the handlers can act on (sms_parse.h's
 * contract for m->kind). */
void sms_fuzz_check_message(const struct sms_message *m);
/* Aborts unless why is a refusal as sms_parse.h describes it. */
void sms_fuzz_check_refusal(const struct sms_refusal *why);

#endif
