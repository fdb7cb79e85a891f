/*
 * pages: HTML built into the response buffer. The form is decoded with
 * form.c into the same struct report the JSON API uses, so the web form
 * and the API share one validation and one path to the database.
 */
#include "pages.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "assets.h"
#include "form.h"
#include "http_conn.h"
#include "intake.h"
#include "regions.h"
#include "report.h"
#include "server.h"
#include "utf8.h"
#include "util.h"
#include "worker.h"

int pages_escape(struct buf *b, const char *s)
{
    int rc = 0;
    for (const char *p = s; *p; p++) {
        const char *run = p;
        while (*p && !strchr("&<>\"'", *p))
            p++;
        rc |= buf_append(b, run, (size_t)(p - run));
        if (*p == '\0')
            break;
        switch (*p) {
        case '&':
            rc |= buf_appends(b, "&amp;");
            break;
        case '<':
            rc |= buf_appends(b, "&lt;");
            break;
        case '>':
            rc |= buf_appends(b, "&gt;");
            break;
        case '"':
            rc |= buf_appends(b, "&quot;");
            break;
        default:
            rc |= buf_appends(b, "&#39;");
        }
    }
    return rc;
}

/* The headers of spec/reliability.md E4 (http_conn adds no-store and
 * nosniff to every answer). Scripts only from tipd itself: form.js, which
 * the form does not need. */
void pages_headers(struct http_response *res)
{
    res->content_type = "text/html; charset=utf-8";
    http_response_header(res, "Content-Security-Policy",
                         "default-src 'none'; script-src 'self'; "
                         "style-src 'unsafe-inline'; form-action 'self'; "
                         "frame-ancestors 'none'; base-uri 'none'");
    http_response_header(res, "Referrer-Policy", "no-referrer");
    http_response_header(res, "X-Frame-Options", "DENY");
}

/* The page's start: one style sheet inline, sized for a phone first. */
void pages_begin(struct http_response *res, const char *title, bool has_errors)
{
    pages_headers(res);
    buf_appends(&res->body,
                "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head>"
                "<meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, "
                "initial-scale=1\"><title>");
    if (has_errors)
        buf_appends(&res->body, "错误：");
    pages_escape(&res->body, title);
    buf_appends(
        &res->body,
        "</title><style>body{font-family:\"Noto Sans CJK SC\",\"WenQuanYi "
        "Zen Hei\",sans-serif;max-width:40em;margin:0 auto;padding:0 1em 2em;"
        "line-height:1.6;color:#111}header{border-bottom:4px solid #b00;"
        "margin-bottom:1em}h1{font-size:1.5em;margin:.6em 0}label,legend{"
        "display:block;margin-top:1em;font-weight:bold}input,select,textarea,"
        "button{width:100%;box-sizing:border-box;font-size:1em;padding:.4em}"
        "input[type=checkbox]{width:auto}textarea{min-height:10em}"
        "button{background:#b00;color:#fff;border:0;padding:.7em;"
        "margin-top:1em}:focus{outline:3px solid #fd0;outline-offset:1px}"
        ".hint{color:#555;margin:.2em 0;font-size:.9em}.invalid{border-left:"
        "4px solid #b00;padding-left:.8em}.error{color:#b00;font-weight:bold;"
        "margin:.2em 0}.summary{border:4px solid #b00;padding:.5em 1em;"
        "margin:1em 0}.summary a{color:#b00}.code{font-size:2em;font-family:"
        "monospace;letter-spacing:.1em;padding:.5em;border:3px solid;"
        "text-align:center}.group{white-space:nowrap}fieldset{border:1px solid "
        "#ccc;margin-top:1em}.msg{border-left:4px solid #ccc;padding:.2em "
        ".8em;margin:.5em 0}.staff{border-color:#06c}</style></head><body>"
        "<header><h1>");
    pages_escape(&res->body, title);
    buf_appends(&res->body, "</h1></header><main>");
}

void pages_end(struct http_response *res, bool with_script)
{
    buf_appends(&res->body, "</main>");
    if (with_script)
        buf_appends(&res->body, "<script src=\"/form.js\"></script>");
    buf_appends(&res->body, "</body></html>\n");
}

/* --- the report form ------------------------------------------------------
 */

enum field_kind { FIELD_TEXT, FIELD_TEXTAREA, FIELD_REGION };

/* The form's fields in page order, named as the JSON API's. */
static const struct form_spec {
    const char *name;
    const char *label;
    const char *hint; /* NULL: none */
    size_t max;       /* characters */
    enum field_kind kind;
} specs[] = {
    {"content", "举报内容（必填）",
     "请写明被举报人的什么问题、发生的时间地点、经过，以及可以核实的线索。"
     "不要写您自己的姓名，除非您选择实名举报。",
     REPORT_CONTENT_MAX, FIELD_TEXTAREA},
    {"region", "被举报人所在地区",
     "按省、市、县（区）选择被举报人工作单位所在地；由有管辖权的纪委监委"
     "受理。",
     6, FIELD_REGION},
    {"accused_name", "被举报人姓名", NULL, REPORT_NAME_MAX, FIELD_TEXT},
    {"accused_unit", "被举报人工作单位", NULL, REPORT_UNIT_MAX, FIELD_TEXT},
    {"accused_position", "被举报人职务", "如 局长、镇党委书记",
     REPORT_POSITION_MAX, FIELD_TEXT},
    {"accused_rank", "被举报人职级", "如 正科级、副处级", REPORT_RANK_MAX,
     FIELD_TEXT},
    {"reporter_name", "您的姓名", NULL, REPORT_NAME_MAX, FIELD_TEXT},
    {"reporter_contact", "您的联系方式", "电话、通信地址或电子邮箱",
     REPORT_CONTACT_MAX, FIELD_TEXT},
};
#define SPEC_COUNT (sizeof(specs) / sizeof(specs[0]))
#define FIRST_REPORTER_FIELD 6 /* specs[6..]: inside the real-name box */

/* What one render of the form shows: the values sent, what is wrong with
 * them, and the form's idempotency key. Lives in the request's arena. */
struct form_view {
    struct regions_request regions;
    struct http_conn *conn; /* borrowed: waits for the render */
    int status;             /* 200, or the refusal's 4xx */
    const char *values[SPEC_COUNT];
    const char *errors[SPEC_COUNT]; /* NULL: the field is fine */
    const char *attachment_error;
    bool real_name;
    char key[33];
    uint64_t max_file_kb; /* form_max_file_bytes, for the hint */
};

/* "不能超过 N 字。" for each field, written once. */
static char too_long_texts[SPEC_COUNT][64];
static void too_long_init(void)
{
    for (size_t i = 0; i < SPEC_COUNT; i++)
        snprintf(too_long_texts[i], sizeof(too_long_texts[i]),
                 "不能超过 %zu 字，请删减。", specs[i].max);
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

static size_t spec_index(const char *name)
{
    for (size_t i = 0; i < SPEC_COUNT; i++)
        if (name != NULL && strcmp(specs[i].name, name) == 0)
            return i;
    return SPEC_COUNT;
}

static size_t error_count(const struct form_view *v)
{
    size_t n = v->attachment_error != NULL;
    for (size_t i = 0; i < SPEC_COUNT; i++)
        n += v->errors[i] != NULL;
    return n;
}

static void field_html(struct buf *b, const struct form_view *v, size_t i)
{
    const struct form_spec *s = &specs[i];
    const char *err = v->errors[i];
    char described[64] = "";
    if (err != NULL && s->hint != NULL)
        snprintf(described, sizeof(described), "%s-error %s-hint", s->name,
                 s->name);
    else if (err != NULL || s->hint != NULL)
        snprintf(described, sizeof(described), "%s-%s", s->name,
                 err != NULL ? "error" : "hint");
    buf_printf(b, "<div class=\"field%s\">", err ? " invalid" : "");
    buf_printf(b, "<label for=\"%s\">", s->name);
    pages_escape(b, s->label);
    buf_appends(b, "</label>");
    if (s->hint != NULL) {
        buf_printf(b, "<p class=\"hint\" id=\"%s-hint\">", s->name);
        pages_escape(b, s->hint);
        buf_appends(b, "</p>");
    }
    if (err != NULL) {
        buf_printf(b, "<p class=\"error\" id=\"%s-error\">错误：", s->name);
        pages_escape(b, err);
        buf_appends(b, "</p>");
    }
    const char *val = v->values[i];
    if (s->kind == FIELD_REGION) {
        regions_field(b, &v->regions, val, described[0] ? described : NULL,
                      err != NULL);
    } else {
        buf_printf(b, "<%s id=\"%s\" name=\"%s\"",
                   s->kind == FIELD_TEXTAREA ? "textarea" : "input", s->name,
                   s->name);
        if (i == 0)
            buf_appends(b, " required");
        if (described[0])
            buf_printf(b, " aria-describedby=\"%s\"", described);
        if (err != NULL)
            buf_appends(b, " aria-invalid=\"true\"");
        if (s->kind == FIELD_TEXTAREA) {
            buf_appends(b, ">");
            if (val != NULL)
                pages_escape(b, val);
            buf_appends(b, "</textarea>");
        } else {
            buf_printf(b, " maxlength=\"%zu\"", s->max);
            if (val != NULL) {
                buf_appends(b, " value=\"");
                pages_escape(b, val);
                buf_appends(b, "\"");
            }
            buf_appends(b, ">");
        }
    }
    buf_appends(b, "</div>");
}

/* The whole form page, with v's values and errors. */
static void render_form(struct http_response *res, const struct form_view *v)
{
    size_t errors = error_count(v);
    buf_reset(&res->body);
    res->status = v->status;
    pages_begin(res, "网上举报", errors > 0);
    struct buf *b = &res->body;
    if (errors > 0) {
        /* The summary first, each line a link to its field (focus moves
         * there); form.js moves focus to the summary itself. */
        buf_printf(b,
                   "<div class=\"summary\" id=\"error-summary\" "
                   "role=\"alert\" tabindex=\"-1\"><h2>举报尚未提交：请修改"
                   "以下 %zu 处</h2><ul>",
                   errors);
        for (size_t i = 0; i < SPEC_COUNT; i++) {
            if (v->errors[i] == NULL)
                continue;
            buf_printf(b, "<li><a href=\"#%s\">", specs[i].name);
            pages_escape(b, specs[i].label);
            buf_appends(b, "：");
            pages_escape(b, v->errors[i]);
            buf_appends(b, "</a></li>");
        }
        if (v->attachment_error != NULL) {
            buf_appends(b, "<li><a href=\"#attachment\">证据材料：");
            pages_escape(b, v->attachment_error);
            buf_appends(b, "</a></li>");
        }
        buf_appends(b, "</ul></div>");
    } else {
        buf_appends(
            b, "<p>在这里反映党员、干部和监察对象的违纪违法问题，如贪污"
               "受贿、滥用职权、违反中央八项规定精神等。举报会被完整保存，"
               "并转交对被举报人有管辖权的纪检监察机关办理。</p>"
               "<h2>我们如何保护您</h2><ul><li>可以匿名举报：不必留下姓名"
               "和联系方式。</li><li>本站不记录您的IP地址，不使用Cookie，"
               "不加载任何外部资源；关闭JavaScript（如Tor浏览器“最安全”"
               "模式）也能正常使用。</li><li>提交后会显示一个回执码，只显示"
               "一次。凭回执码可以查询办理进展、阅读工作人员的回复、补充"
               "材料。</li></ul>");
    }
    buf_appends(b, "<form method=\"post\" action=\"/report\" "
                   "enctype=\"multipart/form-data\" novalidate>");
    buf_printf(b,
               "<input type=\"hidden\" name=\"idempotency_key\" "
               "value=\"%s\">",
               v->key);
    for (size_t i = 0; i < FIRST_REPORTER_FIELD; i++)
        field_html(b, v, i);
    buf_printf(b,
               "<div class=\"field%s\"><label for=\"attachment\">证据材料"
               "（可选）</label><p class=\"hint\" id=\"attachment-hint\">"
               "照片、文件等，每个不超过 %llu KB。",
               v->attachment_error ? " invalid" : "",
               (unsigned long long)v->max_file_kb);
    if (v->status != 200)
        buf_appends(b, "如已选择，请重新选择。");
    buf_appends(b, "</p>");
    if (v->attachment_error != NULL) {
        buf_appends(b, "<p class=\"error\" id=\"attachment-error\">错误：");
        pages_escape(b, v->attachment_error);
        buf_appends(b, "</p>");
    }
    buf_appends(b, "<input id=\"attachment\" type=\"file\" "
                   "name=\"attachment\" multiple "
                   "aria-describedby=\"attachment-hint\"></div>"
                   "<fieldset><legend>实名举报（可选）</legend>"
                   "<p class=\"hint\">实名举报优先办理，并会告知您处理结果。"
                   "不勾选时，下面两项不会被保存。</p><label><input "
                   "type=\"checkbox\" id=\"real_name\" name=\"real_name\" "
                   "value=\"true\"");
    if (v->real_name)
        buf_appends(b, " checked");
    buf_appends(b, "> 我选择实名举报</label>");
    for (size_t i = FIRST_REPORTER_FIELD; i < SPEC_COUNT; i++)
        field_html(b, v, i);
    buf_appends(b, "</fieldset><button type=\"submit\">提交举报</button>"
                   "</form><p><a href=\"/status\">已经举报过？凭回执码查询"
                   "进展</a></p>");
    pages_end(res, true);
}

static void regions_ready(struct regions_request *q, int status)
{
    struct form_view *v = q->data;
    render_form(&v->conn->res, v);
    http_conn_respond(v->conn, util_now_ms());
}

/* Renders v with the region list: at once from the worker's copy (or with
 * a text field for the region if there is none and the database is not
 * up), or HTTP_ASYNC once it is read. */
static int show_form(struct worker *w, struct http_request *req,
                     struct form_view *v)
{
    if (regions_start(&v->regions, w, req->arena, regions_ready, v) == 0)
        return HTTP_ASYNC;
    render_form(&v->conn->res, v); /* the worker's copy, or a text field */
    return v->status;
}

static struct form_view *view_new(struct worker *w, struct http_conn *conn,
                                  struct http_request *req)
{
    struct form_view *v = arena_alloc(req->arena, sizeof(*v));
    memset(v, 0, sizeof(*v));
    v->conn = conn;
    v->status = 200;
    v->max_file_kb = w->server->config->form_max_file_bytes / 1024;
    return v;
}

/* A fresh key per form makes a resubmitted form (a refresh, a double
 * click) one report, without a cookie. */
static int new_key(char key[33])
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    for (int i = 0; i < 16; i++)
        snprintf(key + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

int pages_index(void *app, struct http_conn *conn, struct http_request *req,
                struct http_response *res)
{
    struct form_view *v = view_new(app, conn, req);
    if (new_key(v->key) != 0)
        return http_response_error(res, 503, "no randomness available", NULL);
    return show_form(app, req, v);
}

int pages_refusal(struct http_response *res, int status, const char *field_name,
                  const char *reason)
{
    buf_reset(&res->body);
    res->status = status;
    pages_begin(res, "举报未能提交", true);
    buf_appends(&res->body, "<div class=\"summary\" role=\"alert\"><p>");
    if (field_name != NULL) {
        buf_appends(&res->body, "字段 ");
        pages_escape(&res->body, field_name);
        buf_appends(&res->body, "：");
    }
    pages_escape(&res->body, reason);
    buf_appends(&res->body, "</p></div><p>请返回修改后重新提交。"
                            "<a href=\"/\">返回举报页面</a></p>");
    pages_end(res, false);
    return status;
}

static void render_receipt(struct intake_submission *s,
                           struct http_response *res)
{
    if (s->item.status != 201) {
        pages_refusal(res, s->item.status == 409 ? 409 : 503, NULL,
                      "暂时无法保存您的举报，请稍后重新提交。");
        if (s->item.status != 409)
            http_response_header(res, "Retry-After", "1");
        return;
    }
    res->status = 201;
    pages_begin(res, "举报已收到", false);
    struct buf *b = &res->body;
    buf_appends(b, "<p>您的举报已完整保存。这是您的<strong>回执码</strong>，"
                   "<strong>只显示这一次</strong>：</p>"
                   "<p class=\"code\" id=\"receipt\">");
    /* In groups that never break inside, so a phone wraps at a dash. */
    for (const char *g = s->receipt; *g != '\0';) {
        size_t n = strcspn(g, "-");
        n += g[n] == '-';
        char group[32];
        snprintf(group, sizeof(group), "%.*s", (int)n, g);
        buf_appends(b, "<span class=\"group\">");
        pages_escape(b, group);
        buf_appends(b, "</span>");
        g += n;
    }
    buf_appends(b,
                "</p><h2>回执码有什么用</h2><p>回执码是您这次举报唯一的凭证。"
                "凭它可以在<a href=\"/status\">查询页面</a>查看办理进展、阅读"
                "工作人员的回复和提问、补充材料。我们不保存回执码本身，"
                "丢失后无法找回，也无法补发。</p><h2>如何妥善保管</h2><ul>"
                "<li>抄写在纸上，放在只有您能拿到的地方。</li>"
                "<li>不要发给他人，不要存放在别人能看到的手机、电脑或网盘里；"
                "拿到回执码的人就能看到工作人员给您的回复。</li>"
                "<li>在公用电脑上，记下回执码后请关闭浏览器窗口。</li></ul>"
                "<p><a href=\"/status\">前往查询页面</a></p>");
    pages_end(res, false);
}

const char *pages_form_value(const struct form *f, const char *name)
{
    const struct form_field *x = form_get(f, name);
    return x != NULL && x->value_len > 0 ? x->value : NULL;
}

/* Whether every field is one the form can send: the messages say what to
 * change, in the page's language. 0, or -1 with v->errors set. */
static int check_form(struct form_view *v)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, too_long_init);
    int rc = 0;
    for (size_t i = 0; i < SPEC_COUNT; i++) {
        const char *x = v->values[i];
        if (x == NULL)
            continue;
        size_t n = strlen(x);
        if (!utf8_valid(x, n) ||
            utf8_has_controls(x, n, specs[i].kind == FIELD_TEXTAREA))
            v->errors[i] = "含有无法识别的字符，请删除后重试。";
        else if (utf8_count(x, n) > specs[i].max)
            v->errors[i] = too_long_texts[i];
        if (v->errors[i] != NULL)
            rc = -1;
    }
    const char *content = v->values[0];
    if (content == NULL || blank(content))
        v->errors[0] = "请填写举报内容。", rc = -1;
    const char *region = v->values[1];
    if (region != NULL && v->errors[1] == NULL) {
        bool ok = strlen(region) == 6;
        for (int i = 0; ok && i < 6; i++)
            ok = region[i] >= '0' && region[i] <= '9';
        if (!ok)
            v->errors[1] = "请从列表中选择地区（六位地区代码）。", rc = -1;
    }
    if (v->real_name && v->values[FIRST_REPORTER_FIELD] == NULL &&
        v->errors[FIRST_REPORTER_FIELD] == NULL)
        v->errors[FIRST_REPORTER_FIELD] =
            "实名举报请填写您的姓名；不愿留名请取消勾选“实名举报”。",
        rc = -1;
    return rc;
}

/* Whether the attachments are within form_max_files and
 * form_max_file_bytes; else v->attachment_error says which to change. */
static void check_files(struct form_view *v, struct arena *arena,
                        const struct report_attachment *at, size_t files,
                        const struct config *cfg)
{
    char *text = arena_alloc(arena, 512);
    if (files > cfg->form_max_files) {
        snprintf(text, 512, "最多可以附 %llu 个文件，您选择了 %zu 个。",
                 (unsigned long long)cfg->form_max_files, files);
        v->attachment_error = text;
        return;
    }
    for (size_t i = 0; i < files; i++) {
        if (at[i].len <= cfg->form_max_file_bytes)
            continue;
        /* The name as sent (escaped when shown), unless too long to help. */
        const char *name = at[i].filename;
        snprintf(text, 512, "文件“%s”超过 %llu KB，请压缩或拆分后重新选择。",
                 strlen(name) <= 200 ? name : "……",
                 (unsigned long long)(cfg->form_max_file_bytes / 1024));
        v->attachment_error = text;
        return;
    }
}

int pages_report(void *app, struct http_conn *conn, struct http_request *req,
                 struct http_response *res)
{
    struct worker *w = app;
    const struct config *cfg = w->server->config;
    const struct form_limits lim = {
        .max_fields = 32,
        .max_name_bytes = 64,
        .max_value_bytes = 65536,
        /* Files over form_max_files or form_max_file_bytes are refused
         * below, with the form shown again filled in; the parser only
         * stops what the route's body cap already bounds. */
        .max_files = 32,
        .max_file_bytes = cfg->max_body_bytes,
    };
    const struct http_header *ct = http_request_header(req, "content-type");
    const char *body = req->body.data ? req->body.data : "";
    const char *reason = NULL;
    struct form f;
    int status;
    if (ct != NULL && util_ieq(ct->value, strcspn(ct->value, "; "),
                               "application/x-www-form-urlencoded"))
        status = form_parse_urlencoded(req->arena, body, req->body.len, &lim,
                                       &f, &reason);
    else if (ct != NULL)
        status = form_parse_multipart(req->arena, ct->value, ct->value_len,
                                      body, req->body.len, &lim, &f, &reason);
    else
        status = 415, reason = "send the form as multipart/form-data";
    if (status != 0)
        return pages_refusal(res, status, NULL, reason);

    struct report *r = arena_alloc(req->arena, sizeof(*r));
    memset(r, 0, sizeof(*r));
    r->channel = REPORT_WEB;
    r->content = pages_form_value(&f, "content");
    r->region = pages_form_value(&f, "region");
    r->accused_name = pages_form_value(&f, "accused_name");
    r->accused_unit = pages_form_value(&f, "accused_unit");
    r->accused_position = pages_form_value(&f, "accused_position");
    r->accused_rank = pages_form_value(&f, "accused_rank");
    r->category_hint = pages_form_value(&f, "category_hint");
    const char *real = pages_form_value(&f, "real_name");
    r->real_name =
        real != NULL && (strcmp(real, "true") == 0 || strcmp(real, "on") == 0 ||
                         strcmp(real, "1") == 0);
    r->reporter_name = pages_form_value(&f, "reporter_name");
    r->reporter_contact = pages_form_value(&f, "reporter_contact");
    if (!r->real_name)
        r->reporter_name = r->reporter_contact = NULL; /* never kept */

    size_t files = 0;
    for (size_t i = 0; i < f.count; i++)
        if (f.fields[i].filename != NULL && f.fields[i].value_len > 0)
            files++;
    struct report_attachment *at =
        arena_alloc(req->arena, (files ? files : 1) * sizeof(*at));
    for (size_t i = 0, n = 0; i < f.count; i++) {
        const struct form_field *x = &f.fields[i];
        if (x->filename == NULL || x->value_len == 0)
            continue; /* an empty file input sends an empty part */
        at[n].filename = x->filename;
        at[n].content_type = x->content_type;
        at[n].data = x->value;
        at[n++].len = x->value_len;
    }
    r->attachments = at;
    r->attachment_count = files;

    struct form_view *v = view_new(w, conn, req);
    for (size_t i = 0; i < SPEC_COUNT; i++)
        v->values[i] = pages_form_value(&f, specs[i].name);
    v->real_name = r->real_name;
    const char *key = pages_form_value(&f, "idempotency_key");
    if (key != NULL && strlen(key) > 32)
        key = NULL;
    /* A refused form keeps its key: nothing was stored under it. */
    if (key != NULL)
        snprintf(v->key, sizeof(v->key), "%s", key);
    else if (new_key(v->key) != 0)
        return http_response_error(res, 503, "no randomness available", NULL);
    int fields_bad = check_form(v);
    check_files(v, req->arena, at, files, cfg);
    if (fields_bad != 0 || v->attachment_error != NULL) {
        v->status = fields_bad != 0 ? 422 : 413;
        return show_form(w, req, v);
    }
    /* The shared validation has the last word; check_form should have said
     * everything it can say. */
    struct report_error err;
    if (report_validate(r, REPORT_SOURCE_PUBLIC, &err) != 0) {
        size_t i = spec_index(err.field);
        if (i == SPEC_COUNT)
            i = 0;
        v->errors[i] = err.reason;
        v->status = err.status;
        return show_form(w, req, v);
    }

    struct intake_submission *s = arena_alloc(req->arena, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->conn = conn;
    s->render = render_receipt;
    /* The request's identity for its idempotency key is what the form
     * said, not its bytes: a browser resending the form picks another
     * multipart boundary. */
    struct buf id;
    buf_init(&id, req->body.len * 2 + 4096);
    const char *parts[] = {r->content,          r->region,
                           r->accused_name,     r->accused_unit,
                           r->accused_position, r->accused_rank,
                           r->category_hint,    r->real_name ? "1" : "0",
                           r->reporter_name,    r->reporter_contact};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        buf_appends(&id, parts[i] ? parts[i] : "");
        buf_append(&id, "", 1);
    }
    for (size_t i = 0; i < files; i++) {
        buf_appends(&id, at[i].filename);
        buf_append(&id, "", 1);
        buf_append(&id, at[i].data, at[i].len);
    }
    char *identity = arena_alloc(req->arena, id.len ? id.len : 1);
    memcpy(identity, id.data ? id.data : "", id.len);
    size_t identity_len = id.len;
    buf_cleanup(&id);
    if (intake_submit(w, req, s, r, "web", key, identity, identity_len) != 0) {
        pages_refusal(res, 503, NULL, "系统繁忙，请稍后重新提交。");
        http_response_header(res, "Retry-After", "1");
        return 503;
    }
    return HTTP_ASYNC;
}

int pages_form_script(void *app, struct http_conn *conn,
                      struct http_request *req, struct http_response *res)
{
    const struct asset *a = assets_find("form.js");
    if (a == NULL)
        return http_response_error(res, 404, "no such file", NULL);
    res->status = 200;
    res->content_type = "text/javascript; charset=utf-8";
    buf_append(&res->body, a->data, a->len);
    return 200;
}

/* --- admission ------------------------------------------------------------
 */

int pages_refused(struct http_response *res, int status)
{
    if (status == 0)
        return 0;
    return pages_refusal(res, status, NULL,
                         status == 429
                             ? "提交过于频繁，请稍等片刻再试。"
                             : "系统繁忙，暂时无法受理。您填写的内容没有保存："
                               "请稍后返回上一页，再次提交。");
}

int pages_admit_report(void *app, struct http_conn *conn,
                       struct http_response *res)
{
    return pages_refused(res, intake_admit_public(app, conn, res));
}
