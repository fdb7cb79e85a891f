/*
 * fuzz_form: the web form's decoders (server/form.c). The input's first
 * line is the Content-Type value; the rest is the body, given to the
 * multipart decoder with that type and to the urlencoded decoder.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    size_t ct_len = nl != NULL ? (size_t)(nl - text) : size;
    const char *body = nl != NULL ? nl + 1 : text + size;
    size_t body_len = size - (size_t)(body - text);
    const struct form_limits lim = {
        .max_fields = 32,
        .max_name_bytes = 64,
        .max_files = 4,
        .max_file_bytes = 4096,
        .max_value_bytes = 2048,
    };
    struct arena a;
    const char *reason;
    struct form form;
    arena_init(&a, 4096);
    (void)form_parse_multipart(&a, text, ct_len, body, body_len, &lim, &form,
                               &reason);
    arena_reset(&a);
    (void)form_parse_urlencoded(&a, body, body_len, &lim, &form, &reason);
    arena_cleanup(&a);
    return 0;
}
