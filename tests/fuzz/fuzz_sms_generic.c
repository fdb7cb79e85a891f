/*
 * fuzz_sms_generic: the generic JSON gateway's callback
 * (sms_parse_generic): the signature header and the JSON object.
 *
 * Input: a mode byte, then the rest. Mode '0' (the byte mod 3): the rest
 * is the body, signed by the harness (X-Signature: sha256=HEX, upper-case
 * hex when the byte's bit 4 is set, as some gateways send it), so the
 * fuzzer gets past the proof; a correctly signed body is never 403. Mode
 * '1': the rest is HEADER '\n' BODY, a forgery: refused unless it is the
 * signature. Mode '2': no header, always 403.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sms_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* X-Signature's value for body: "sha256=" and 64 hex digits. */
static void sign(const char *body, size_t len, bool upper, char out[72])
{
    const char *key = sms_fuzz_config.generic_key;
    unsigned char md[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key),
         (const unsigned char *)(body != NULL ? body : ""), len, md, &n);
    memcpy(out, "sha256=", 7);
    for (int i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, upper ? "%02X" : "%02x", md[i]);
}

/* Whether a header value is the signature, hex case ignored. */
static bool is_signature(const char *v, size_t n, const char want[72])
{
    if (n != 71 || memcmp(v, want, 7) != 0)
        return false;
    for (size_t i = 7; i < 71; i++) {
        char c = v[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (c != want[i])
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int mode = data[0] % 3;
    bool upper = (data[0] & 0x10) != 0;
    data++;
    size--;
    const char *forged = NULL;
    size_t forged_len = 0;
    if (mode == 1 && !sms_fuzz_line(&data, &size, &forged, &forged_len))
        return 0;
    struct sms_fuzz f;
    sms_fuzz_init(&f, HTTP_METHOD_POST, "", 0, (const char *)data, size);
    char want[72];
    sign(f.req.body.data, f.req.body.len, upper, want);
    if (mode == 0)
        sms_fuzz_header(&f, "X-Signature", want, 71);
    else if (mode == 1)
        sms_fuzz_header(&f, "X-Signature", forged, forged_len);
    sign(f.req.body.data, f.req.body.len, false, want);

    struct sms_message m;
    struct sms_refusal why;
    int status =
        sms_parse_generic(&f.arena, &f.req, &sms_fuzz_config, &m, &why);
    if (status != 0) {
        if (status != why.status)
            abort();
        sms_fuzz_check_refusal(&why);
        if (mode == 0 && status == 403)
            abort(); /* the gateway's own signature called forged */
        sms_fuzz_cleanup(&f);
        return 0;
    }
    sms_fuzz_check_message(&m);
    if (strcmp(m.scope, "generic") != 0 || m.kind == SMS_PART)
        abort();
    if (mode == 2 || (mode == 1 && !is_signature(forged, forged_len, want)))
        abort(); /* a forgery accepted */
    sms_fuzz_cleanup(&f);
    return 0;
}
