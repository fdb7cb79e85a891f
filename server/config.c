/*
 * config: a descriptor table built from CONFIG_MAP drives parsing, bounds
 * checks and help, so adding a key is one line in config.h.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct key {
    const char *name;
    bool is_string;
    uint64_t def, min, max; /* integers only */
    const char *def_string; /* strings only */
    const char *help;
    size_t offset; /* of the field in struct config */
};

static const struct key keys[] = {
#define U(name, def, min, max, help)                                           \
    {#name, false, def, min, max, NULL, help, offsetof(struct config, name)},
#define S(name, def, help)                                                     \
    {#name, true, 0, 0, 0, def, help, offsetof(struct config, name)},
    CONFIG_MAP(U, S)
#undef U
#undef S
};

static const struct key *find_key(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

static uint64_t *u_field(struct config *c, const struct key *k)
{
    return (uint64_t *)((char *)c + k->offset);
}

static char **s_field(struct config *c, const struct key *k)
{
    return (char **)((char *)c + k->offset);
}

void config_init(struct config *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        if (keys[i].is_string)
            *s_field(c, &keys[i]) = xstrdup(keys[i].def_string);
        else
            *u_field(c, &keys[i]) = keys[i].def;
    }
}

void config_cleanup(struct config *c)
{
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        if (keys[i].is_string) {
            free(*s_field(c, &keys[i]));
            *s_field(c, &keys[i]) = NULL;
        }
    }
}

int config_set(struct config *c, const char *key, const char *value,
               const char *origin, char *err, size_t errlen)
{
    const struct key *k = find_key(key);
    if (k == NULL) {
        snprintf(err, errlen,
                 "%s: unknown key '%s' (`tipd serve --help` lists the keys)",
                 origin, key);
        return -1;
    }
    if (k->is_string) {
        if (strcmp(key, "log_level") == 0 && log_level_parse(value) < 0) {
            snprintf(err, errlen,
                     "%s: log_level: must be debug, info, warn or error "
                     "(got '%s')",
                     origin, value);
            return -1;
        }
        char **f = s_field(c, k);
        free(*f);
        *f = xstrdup(value);
        return 0;
    }
    uint64_t v;
    if (util_parse_u64(value, strlen(value), &v) != 0) {
        snprintf(err, errlen,
                 "%s: %s: must be a whole number without sign or unit "
                 "(got '%s')",
                 origin, key, value);
        return -1;
    }
    if (v < k->min || v > k->max) {
        snprintf(err, errlen,
                 "%s: %s: must be between %llu and %llu (got %llu)", origin,
                 key, (unsigned long long)k->min, (unsigned long long)k->max,
                 (unsigned long long)v);
        return -1;
    }
    *u_field(c, k) = v;
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                     s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int config_load_file(struct config *c, const char *path, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open config file: %s", path,
                 strerror(errno));
        return -1;
    }
    char line[4096];
    char origin[512];
    int lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        snprintf(origin, sizeof(origin), "%s:%d", path, lineno);
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(err, errlen, "%s: line longer than %zu bytes", origin,
                     sizeof(line) - 2);
            rc = -1;
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "%s: expected 'key = value'", origin);
            rc = -1;
            break;
        }
        *eq = '\0';
        if (config_set(c, trim(s), trim(eq + 1), origin, err, errlen) != 0) {
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

int config_load_env(struct config *c, char *err, size_t errlen)
{
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        char var[128] = "TIPD_";
        size_t n = 5;
        for (const char *p = keys[i].name; *p && n < sizeof(var) - 1; p++) {
            char ch = *p;
            var[n++] = (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
        }
        var[n] = '\0';
        const char *value = getenv(var);
        if (value == NULL)
            continue;
        if (config_set(c, keys[i].name, value, var, err, errlen) != 0)
            return -1;
    }
    return 0;
}

int config_validate(const struct config *c, char *err, size_t errlen)
{
    if (c->max_request_line_bytes > c->max_head_bytes) {
        snprintf(err, errlen,
                 "max_request_line_bytes (%llu) must not exceed "
                 "max_head_bytes (%llu)",
                 (unsigned long long)c->max_request_line_bytes,
                 (unsigned long long)c->max_head_bytes);
        return -1;
    }
    if (c->max_header_line_bytes > c->max_head_bytes) {
        snprintf(err, errlen,
                 "max_header_line_bytes (%llu) must not exceed "
                 "max_head_bytes (%llu)",
                 (unsigned long long)c->max_header_line_bytes,
                 (unsigned long long)c->max_head_bytes);
        return -1;
    }
    if (c->db_probe_timeout_ms < c->db_probe_interval_ms / 2) {
        snprintf(err, errlen,
                 "db_probe_timeout_ms (%llu) must be at least half of "
                 "db_probe_interval_ms (%llu)",
                 (unsigned long long)c->db_probe_timeout_ms,
                 (unsigned long long)c->db_probe_interval_ms);
        return -1;
    }
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int parse_key(const char *text, unsigned char key[32])
{
    size_t n = strlen(text);
    while (n > 0 &&
           (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        n--;
    if (n != 64)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

int config_receipt_key(const struct config *c, unsigned char key[32], char *err,
                       size_t errlen)
{
    const char *env = getenv("TIPD_RECEIPT_KEY");
    if (env != NULL) {
        if (parse_key(env, key) != 0) {
            snprintf(err, errlen,
                     "TIPD_RECEIPT_KEY: must be 64 hex digits (make one with "
                     "`openssl rand -hex 32`)");
            return -1;
        }
        return 0;
    }
    if (c->receipt_key_file[0] == '\0') {
        snprintf(err, errlen,
                 "receipt_key_file: not set; point it at a file holding 64 "
                 "hex digits (`openssl rand -hex 32 > FILE`), or set "
                 "TIPD_RECEIPT_KEY");
        return -1;
    }
    FILE *f = fopen(c->receipt_key_file, "r");
    if (f == NULL) {
        snprintf(err, errlen, "receipt_key_file: cannot open %s: %s",
                 c->receipt_key_file, strerror(errno));
        return -1;
    }
    char text[256];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    if (parse_key(text, key) != 0) {
        snprintf(err, errlen,
                 "receipt_key_file: %s must hold exactly 64 hex digits",
                 c->receipt_key_file);
        return -1;
    }
    return 0;
}

int config_secret(const char *env, const char *path, char *out, size_t cap,
                  char *err, size_t errlen)
{
    const char *value = getenv(env);
    size_t n;
    if (value != NULL) {
        n = strlen(value);
        if (n == 0 || n >= cap) {
            snprintf(err, errlen, "%s: must hold 1 to %zu characters", env,
                     cap - 1);
            return -1;
        }
        memcpy(out, value, n + 1);
        return 1;
    }
    if (path == NULL || path[0] == '\0')
        return 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open secret file %s: %s", path,
                 strerror(errno));
        return -1;
    }
    n = fread(out, 1, cap - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        n--;
    out[n] = '\0';
    if (n == 0 || more) {
        snprintf(err, errlen, "secret file %s: must hold 1 to %zu characters",
                 path, cap - 1);
        return -1;
    }
    return 1;
}

void config_print_keys(void *file)
{
    FILE *f = file;
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        const struct key *k = &keys[i];
        if (k->is_string)
            fprintf(f, "  %-24s default \"%s\"\n", k->name, k->def_string);
        else
            fprintf(f, "  %-24s default %llu, %llu..%llu\n", k->name,
                    (unsigned long long)k->def, (unsigned long long)k->min,
                    (unsigned long long)k->max);
        fprintf(f, "  %-24s %s\n", "", k->help);
    }
}

size_t config_key_count(void)
{
    return ARRAY_SIZE(keys);
}

const char *config_key_name(size_t i)
{
    return i < ARRAY_SIZE(keys) ? keys[i].name : NULL;
}
