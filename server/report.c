/*
 * report: JSON decoding with cJSON, then one validation pass shared by
 * every channel. Strings are copied into the request's arena so the cJSON
 * tree can be freed at once.
 */
#include "report.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

#include "utf8.h"
#include "util.h"

const char *report_channel_name(enum report_channel c)
{
    switch (c) {
#define X(name, text)                                                          \
    case REPORT_##name:                                                        \
        return text;
        REPORT_CHANNEL_MAP(X)
#undef X
    }
    return "web";
}

static int fail(struct report_error *err, int status, const char *field,
                const char *reason)
{
    err->status = status;
    err->field = field;
    err->reason = reason;
    err->hostile = false;
    return -1;
}

/* Deepest nesting of arrays and objects, scanning outside strings. */
static int json_depth(const char *s, size_t len)
{
    int depth = 0, max = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '{' || ch == '[') {
            if (++depth > max)
                max = depth;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return max;
}

/* Checks one optional text field. */
static int check_text(const char *value, const char *field, size_t max_chars,
                      bool multiline, struct report_error *err)
{
    if (value == NULL)
        return 0;
    size_t len = strlen(value);
    if (!utf8_valid(value, len))
        return fail(err, 422, field, "must be valid UTF-8 text");
    if (utf8_has_controls(value, len, multiline))
        return fail(err, 422, field, "must not contain control characters");
    if (utf8_count(value, len) > max_chars)
        return fail(err, 422, field, "is too long");
    return 0;
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

int report_validate(const struct report *r, enum report_source source,
                    struct report_error *err)
{
    if (source == REPORT_SOURCE_PUBLIC && r->channel != REPORT_WEB &&
        r->channel != REPORT_SMS)
        return fail(err, 422, "channel",
                    "must be \"web\" here (phone, letter and visit reports "
                    "go through the staff intake API)");
    if (source == REPORT_SOURCE_STAFF && r->channel != REPORT_PHONE &&
        r->channel != REPORT_LETTER && r->channel != REPORT_VISIT)
        return fail(err, 422, "channel",
                    "must be \"phone\", \"letter\" or \"visit\"");
    if (r->content == NULL || blank(r->content))
        return fail(err, 422, "content", "is required");
    if (check_text(r->content, "content", REPORT_CONTENT_MAX, true, err) != 0)
        return -1;
    if (r->region != NULL) {
        bool ok = strlen(r->region) == 6;
        for (int i = 0; ok && i < 6; i++)
            ok = r->region[i] >= '0' && r->region[i] <= '9';
        if (!ok)
            return fail(err, 422, "region",
                        "must be a six-digit GB/T 2260 region code");
    }
    if (check_text(r->accused_name, "accused_name", REPORT_NAME_MAX, false,
                   err) != 0 ||
        check_text(r->accused_unit, "accused_unit", REPORT_UNIT_MAX, false,
                   err) != 0 ||
        check_text(r->accused_position, "accused_position", REPORT_POSITION_MAX,
                   false, err) != 0 ||
        check_text(r->accused_rank, "accused_rank", REPORT_RANK_MAX, false,
                   err) != 0 ||
        check_text(r->category_hint, "category_hint", REPORT_CATEGORY_MAX,
                   false, err) != 0 ||
        check_text(r->reporter_name, "reporter_name", REPORT_NAME_MAX, false,
                   err) != 0 ||
        check_text(r->reporter_contact, "reporter_contact", REPORT_CONTACT_MAX,
                   false, err) != 0 ||
        check_text(r->external_id, "external_id", REPORT_EXTERNAL_ID_MAX, false,
                   err) != 0)
        return -1;
    if (!r->real_name && (r->reporter_name || r->reporter_contact))
        return fail(err, 422, "reporter",
                    "is only kept for real-name reports: set real_name to "
                    "true or leave it out");
    if (source == REPORT_SOURCE_STAFF && r->external_id == NULL)
        return fail(err, 422, "external_id",
                    "is required: the call id or letter registration number");
    if (source == REPORT_SOURCE_PUBLIC &&
        (r->external_id != NULL || r->has_received_at))
        return fail(err, 422, r->external_id ? "external_id" : "received_at",
                    "is only accepted from staff intake");
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int report_parse_time(const char *s, double *out)
{
    size_t len = strlen(s);
    if (len < 20 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':')
        return -1;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
    if (y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 ||
        d > days_in_month(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        se < 0 || se > 60)
        return -1;
    const char *p = s + 19;
    double frac = 0, scale = 0.1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (int n = 0; *p >= '0' && *p <= '9'; p++, n++) {
            if (n < 9)
                frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    int offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
                   (se > 59 ? 59 : se) - offset;
    *out = (double)secs + frac;
    return 0;
}

/* Copies a string member into the arena; 0, or -1 if present but not a
 * string. */
static int take_string(struct arena *a, const cJSON *obj, const char *key,
                       const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return -1;
    *out = arena_strndup(a, v->valuestring, strlen(v->valuestring));
    return 0;
}

static int parse_channel(const char *s, enum report_channel *out)
{
#define X(name, text)                                                          \
    if (strcmp(s, text) == 0) {                                                \
        *out = REPORT_##name;                                                  \
        return 0;                                                              \
    }
    REPORT_CHANNEL_MAP(X)
#undef X
    return -1;
}

static const char *const top_keys[] = {
    "channel",   "content",  "region",      "accused",     "category_hint",
    "real_name", "reporter", "external_id", "received_at",
};

static int decode(struct arena *a, const cJSON *root, enum report_source src,
                  struct report *r, struct report_error *err)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(top_keys) / sizeof(top_keys[0]); i++)
            known = known || strcmp(item->string, top_keys[i]) == 0;
        if (!known)
            return fail(err, 422, NULL,
                        "unknown field: the report fields are channel, "
                        "content, region, accused, category_hint, real_name "
                        "and reporter");
    }

    const char *channel = NULL, *received = NULL;
    if (take_string(a, root, "channel", &channel) != 0)
        return fail(err, 422, "channel", "must be a string");
    r->channel = src == REPORT_SOURCE_PUBLIC ? REPORT_WEB : REPORT_PHONE;
    if (channel != NULL && parse_channel(channel, &r->channel) != 0)
        return fail(err, 422, "channel",
                    "must be web, sms, phone, letter or visit");
    if (take_string(a, root, "content", &r->content) != 0)
        return fail(err, 422, "content", "must be a string");
    if (take_string(a, root, "region", &r->region) != 0)
        return fail(err, 422, "region", "must be a string");
    if (take_string(a, root, "category_hint", &r->category_hint) != 0)
        return fail(err, 422, "category_hint", "must be a string");
    if (take_string(a, root, "external_id", &r->external_id) != 0)
        return fail(err, 422, "external_id", "must be a string");
    if (take_string(a, root, "received_at", &received) != 0)
        return fail(err, 422, "received_at", "must be a string");
    if (received != NULL) {
        if (report_parse_time(received, &r->received_at) != 0)
            return fail(err, 422, "received_at",
                        "must be an RFC 3339 time such as "
                        "2026-11-22T09:30:00+08:00");
        r->has_received_at = true;
    }

    const cJSON *real = cJSON_GetObjectItemCaseSensitive(root, "real_name");
    if (real != NULL && !cJSON_IsNull(real) && !cJSON_IsBool(real))
        return fail(err, 422, "real_name", "must be true or false");
    r->real_name = real != NULL && cJSON_IsTrue(real);

    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(root, "accused");
    if (acc != NULL && !cJSON_IsNull(acc)) {
        if (!cJSON_IsObject(acc))
            return fail(err, 422, "accused",
                        "must be an object with name, unit, position, rank");
        if (take_string(a, acc, "name", &r->accused_name) != 0)
            return fail(err, 422, "accused_name", "must be a string");
        if (take_string(a, acc, "unit", &r->accused_unit) != 0)
            return fail(err, 422, "accused_unit", "must be a string");
        if (take_string(a, acc, "position", &r->accused_position) != 0)
            return fail(err, 422, "accused_position", "must be a string");
        if (take_string(a, acc, "rank", &r->accused_rank) != 0)
            return fail(err, 422, "accused_rank", "must be a string");
    }
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(root, "reporter");
    if (rep != NULL && !cJSON_IsNull(rep)) {
        if (!cJSON_IsObject(rep))
            return fail(err, 422, "reporter",
                        "must be an object with name and contact");
        if (take_string(a, rep, "name", &r->reporter_name) != 0)
            return fail(err, 422, "reporter_name", "must be a string");
        if (take_string(a, rep, "contact", &r->reporter_contact) != 0)
            return fail(err, 422, "reporter_contact", "must be a string");
    }
    return report_validate(r, src, err);
}

int report_from_json(struct arena *a, const char *body, size_t len,
                     enum report_source source, int max_depth, struct report *r,
                     struct report_error *err)
{
    memset(r, 0, sizeof(*r));
    if (json_depth(body, len) > max_depth) {
        fail(err, 400, NULL, "JSON nested too deeply");
        err->hostile = true;
        return -1;
    }
    if (!utf8_valid(body, len))
        return fail(err, 400, NULL, "the body must be UTF-8");
    /* Refused rather than cut short: the sender can see why and resend. */
    if (util_json_nul_escape(body, len, 0) < len)
        return fail(err, 422, NULL,
                    "a string holds \\u0000 (a NUL character): remove it");
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (root == NULL)
        return fail(err, 400, NULL, "the body is not valid JSON");
    int rc = cJSON_IsObject(root)
                 ? decode(a, root, source, r, err)
                 : fail(err, 400, NULL, "the body must be a JSON object");
    cJSON_Delete(root);
    return rc;
}
