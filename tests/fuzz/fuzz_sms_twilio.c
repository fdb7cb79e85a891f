/*
 * fuzz_sms_twilio: Twilio's callback (sms_parse_twilio): the form body and
 * the signature's input (the URL and the sorted parameters).
 *
 * Input: a mode byte, then the rest. Mode '0' (the byte mod 3): the rest
 * is the body and the harness signs it as Twilio would, so the fuzzer gets
 * past the proof to the fields; a correctly signed callback must never be
 * called forged (403). Mode '1': the rest is SIGNATURE '\n' BODY, a
 * forgery, which must be refused unless it happens to be the signature.
 * Mode '2': the rest is the body, sent without a signature: always 403.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "sms_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The signature Twilio sends for body, into out; false if the body is no
 * form at all (the parser refuses it before the signature). */
static bool sign(struct arena *a, const char *body, size_t len, char *out)
{
    static const struct form_limits lim = {
        .max_fields = 1u << 20,
        .max_name_bytes = 1u << 20,
        .max_value_bytes = 1u << 24,
    };
    struct form form;
    const char *reason;
    if (form_parse_urlencoded(a, body != NULL ? body : "", len, &lim, &form,
                              &reason) != 0)
        return false;
    sms_parse_twilio_signature(sms_fuzz_config.twilio_token,
                               sms_fuzz_config.twilio_url, &form, out);
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int mode = data[0] % 3;
    data++;
    size--;
    const char *forged = NULL;
    size_t forged_len = 0;
    if (mode == 1 && !sms_fuzz_line(&data, &size, &forged, &forged_len))
        return 0;
    struct sms_fuzz f;
    sms_fuzz_init(&f, HTTP_METHOD_POST, "", 0, (const char *)data, size);
    char want[64] = "";
    bool signable = sign(&f.arena, f.req.body.data, f.req.body.len, want);
    if (mode == 0)
        sms_fuzz_header(&f, "X-Twilio-Signature", want, strlen(want));
    else if (mode == 1)
        sms_fuzz_header(&f, "X-Twilio-Signature", forged, forged_len);

    struct sms_message m;
    struct sms_refusal why;
    int status = sms_parse_twilio(&f.arena, &f.req, &sms_fuzz_config, &m, &why);
    if (status != 0) {
        if (status != why.status)
            abort();
        sms_fuzz_check_refusal(&why);
        if (mode == 0 && signable && status == 403)
            abort(); /* Twilio's own signature called forged */
        sms_fuzz_cleanup(&f);
        return 0;
    }
    sms_fuzz_check_message(&m);
    if (strcmp(m.scope, "twilio") != 0 || m.kind == SMS_PART)
        abort();
    if (mode == 2 || !signable ||
        (mode == 1 &&
         (forged_len != strlen(want) || memcmp(forged, want, forged_len) != 0)))
        abort(); /* a forgery accepted */
    sms_fuzz_cleanup(&f);
    return 0;
}
