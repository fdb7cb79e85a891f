/*
 * regions: one SELECT of the units, grouped into <optgroup>s by code.
 *
 * GB/T 2260 codes nest by digits: 41xxxx is in province 410000, 4101xx in
 * city 410100. The rows come ordered by code, so a province is followed by
 * its cities and each city by its counties; a new group starts at every
 * province and every city. A unit's region name is its name without the
 * commission suffix ("金水区纪委监委" -> "金水区").
 *
 * A read's rows land in the request's arena; its done callback also copies
 * them into the worker's cache (malloc), which the next renders borrow.
 */
#include "regions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "pages.h"
#include "server.h"
#include "util.h"
#include "worker.h"

static const char units_sql[] =
    "SELECT id, name FROM units WHERE id ~ '^[0-9]{6}$' ORDER BY id";

static int send_units(struct db_job *job, PGconn *pg)
{
    return PQsendQueryParams(pg, units_sql, 0, NULL, NULL, NULL, NULL, 0) == 1
               ? 0
               : -1;
}

static const char *short_name(struct arena *a, const char *name)
{
    static const char suffix[] = "纪委监委";
    size_t n = strlen(name), s = sizeof(suffix) - 1;
    if (n > s && memcmp(name + n - s, suffix, s) == 0)
        n -= s;
    return arena_strndup(a, name, n);
}

static void on_units(struct db_job *job, const PGresult *res)
{
    struct regions_request *q = container_of(job, struct regions_request, job);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return;
    int rows = PQntuples(res);
    q->regions =
        arena_alloc(q->arena, (size_t)(rows ? rows : 1) * sizeof(*q->regions));
    q->count = 0;
    for (int i = 0; i < rows; i++) {
        const char *code = PQgetvalue(res, i, 0);
        if (strlen(code) != 6)
            continue; /* the query promises six digits; rows are input */
        struct region *r = &q->regions[q->count++];
        memcpy(r->code, code, 7);
        r->name = short_name(q->arena, PQgetvalue(res, i, 1));
    }
}

void regions_cache_cleanup(struct regions_cache *c)
{
    free(c->regions);
    free(c->names);
    memset(c, 0, sizeof(*c));
}

/* Replaces the cache's copy with q's list (read just now). */
static void cache_store(struct regions_cache *c,
                        const struct regions_request *q)
{
    size_t bytes = 0;
    for (size_t i = 0; i < q->count; i++)
        bytes += strlen(q->regions[i].name) + 1;
    struct region *list = xmalloc((q->count ? q->count : 1) * sizeof(*list));
    char *names = xmalloc(bytes ? bytes : 1), *p = names;
    for (size_t i = 0; i < q->count; i++) {
        size_t n = strlen(q->regions[i].name) + 1;
        memcpy(list[i].code, q->regions[i].code, sizeof(list[i].code));
        memcpy(p, q->regions[i].name, n);
        list[i].name = p;
        p += n;
    }
    regions_cache_cleanup(c);
    c->regions = list;
    c->names = names;
    c->count = q->count;
    c->loaded_ms = util_now_ms();
}

static void on_done(struct db_job *job, int status)
{
    struct regions_request *q = container_of(job, struct regions_request, job);
    struct regions_cache *c = q->cache;
    c->loading = false;
    if (status == 0) {
        cache_store(c, q);
    } else {
        q->regions = c->regions; /* an old copy, if any, rather than none */
        q->count = c->count;
    }
    q->done(q, status != 0 ? 503 : 0);
}

int regions_start(struct regions_request *q, struct worker *w,
                  struct arena *arena, regions_done_cb done, void *data)
{
    memset(q, 0, sizeof(*q));
    q->arena = arena;
    q->done = done;
    q->data = data;
    q->cache = &w->regions;
    struct regions_cache *c = q->cache;
    uint64_t max_age = w->server->config->form_regions_max_age_ms;
    bool fresh = c->loaded_ms != 0 && util_now_ms() - c->loaded_ms < max_age;
    if (fresh || (c->loaded_ms != 0 && c->loading)) {
        q->regions = c->regions;
        q->count = c->count;
        return 1;
    }
    q->job.send = send_units;
    q->job.result = on_units;
    q->job.done = on_done;
    if (db_session_submit(&w->db, &q->job) != 0) {
        /* The database is away: an old copy is better than none. */
        q->regions = c->regions;
        q->count = c->count;
        return c->loaded_ms != 0 ? 1 : -1;
    }
    c->loading = true;
    return 0;
}

static bool is_province(const char *c)
{
    return strcmp(c + 2, "0000") == 0;
}
static bool is_city(const char *c)
{
    return !is_province(c) && strcmp(c + 4, "00") == 0;
}

/* The name of the unit with code, or NULL. */
static const char *name_of(const struct regions_request *q, const char *code)
{
    for (size_t i = 0; i < q->count; i++)
        if (strcmp(q->regions[i].code, code) == 0)
            return q->regions[i].name;
    return NULL;
}

static void option(struct buf *b, const struct region *r, const char *text,
                   const char *selected)
{
    buf_printf(b, "<option value=\"%s\"", r->code);
    if (selected != NULL && strcmp(selected, r->code) == 0)
        buf_appends(b, " selected");
    buf_appends(b, " data-name=\"");
    pages_escape(b, r->name);
    buf_appends(b, "\">");
    pages_escape(b, text);
    buf_appends(b, "</option>");
}

void regions_field(struct buf *b, const struct regions_request *q,
                   const char *selected, const char *described_by, bool invalid)
{
    if (q == NULL || q->count == 0) {
        buf_appends(b, "<input id=\"region\" name=\"region\" "
                       "inputmode=\"numeric\" maxlength=\"6\" "
                       "placeholder=\"六位地区代码，如 410105\"");
        if (described_by != NULL)
            buf_printf(b, " aria-describedby=\"%s\"", described_by);
        if (invalid)
            buf_appends(b, " aria-invalid=\"true\"");
        if (selected != NULL) {
            buf_appends(b, " value=\"");
            pages_escape(b, selected);
            buf_appends(b, "\"");
        }
        buf_appends(b, ">");
        return;
    }
    buf_appends(b, "<select id=\"region\" name=\"region\"");
    if (described_by != NULL)
        buf_printf(b, " aria-describedby=\"%s\"", described_by);
    if (invalid)
        buf_appends(b, " aria-invalid=\"true\"");
    buf_appends(b, "><option value=\"\">请选择（不清楚可不选）</option>");
    bool open = false;
    char text[2048];
    for (size_t i = 0; i < q->count; i++) {
        const struct region *r = &q->regions[i];
        char parent[7];
        const char *province = NULL, *city = NULL;
        memcpy(parent, r->code, 2);
        memcpy(parent + 2, "0000", 5);
        province = name_of(q, parent);
        memcpy(parent, r->code, 4);
        memcpy(parent + 4, "00", 3);
        city = name_of(q, parent);
        if (is_province(r->code) || is_city(r->code)) {
            if (open)
                buf_appends(b, "</optgroup>");
            buf_appends(b, "<optgroup label=\"");
            if (is_city(r->code) && province != NULL) {
                pages_escape(b, province);
                buf_appends(b, " ");
            }
            pages_escape(b, r->name);
            buf_appends(b, "\">");
            open = true;
        }
        /* The text names the whole path, so a screen reader that does
         * not announce groups still says which 中原区. */
        if (is_province(r->code))
            snprintf(text, sizeof(text), "%s（省级）", r->name);
        else if (is_city(r->code))
            snprintf(text, sizeof(text), "%s%s（市级）",
                     province ? province : "", r->name);
        else
            snprintf(text, sizeof(text), "%s%s%s", province ? province : "",
                     city ? city : "", r->name);
        option(b, r, text, selected);
    }
    if (open)
        buf_appends(b, "</optgroup>");
    buf_appends(b, "</select>");
}
