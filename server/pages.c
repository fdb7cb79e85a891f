/*
 * pages: HTML built into the response buffer. The form is decoded with
 * form.c into the same struct report the JSON API uses, so the web form
 * and the API share one validation and one path to the database.
 */
#include "pages.h"

#include <cjson/cJSON.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "form.h"
#include "http_conn.h"
#include "intake.h"
#include "server.h"
#include "status.h"
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

/* The headers of spec/reliability.md E4 and the page's start. */
static void page_begin(struct http_response *res, const char *title)
{
    res->content_type = "text/html; charset=utf-8";
    http_response_header(res, "Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; "
                         "form-action 'self'; frame-ancestors 'none'; "
                         "base-uri 'none'");
    http_response_header(res, "Referrer-Policy", "no-referrer");
    http_response_header(res, "X-Frame-Options", "DENY");
    buf_appends(&res->body,
                "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head>"
                "<meta charset=\"utf-8\">"
                "<meta name=\"viewport\" content=\"width=device-width, "
                "initial-scale=1\"><title>");
    pages_escape(&res->body, title);
    buf_appends(&res->body,
                "</title><style>body{font-family:sans-serif;max-width:40em;"
                "margin:1em auto;padding:0 1em;line-height:1.6}label{display:"
                "block;margin-top:.8em;font-weight:bold}input,select,textarea{"
                "width:100%;box-sizing:border-box;font-size:1em}textarea{"
                "min-height:10em}.code{font-size:2em;font-family:monospace;"
                "letter-spacing:.1em;padding:.5em;border:2px solid;text-align:"
                "center}.error{color:#a00}</style></head><body><h1>");
    pages_escape(&res->body, title);
    buf_appends(&res->body, "</h1>");
}

static void page_end(struct http_response *res)
{
    buf_appends(&res->body, "</body></html>\n");
}

static void field(struct buf *b, const char *name, const char *label,
                  const char *hint)
{
    buf_printf(b, "<label for=\"%s\">", name);
    pages_escape(b, label);
    buf_printf(b, "</label><input id=\"%s\" name=\"%s\"", name, name);
    if (hint != NULL) {
        buf_appends(b, " placeholder=\"");
        pages_escape(b, hint);
        buf_appends(b, "\"");
    }
    buf_appends(b, ">");
}

int pages_index(void *app, struct http_conn *conn, struct http_request *req,
                struct http_response *res)
{
    /* A fresh key per form makes a resubmitted form (a refresh, a double
     * click) one report, without a cookie. */
    unsigned char raw[16];
    char key[33];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return http_response_error(res, 503, "no randomness available", NULL);
    for (int i = 0; i < 16; i++)
        snprintf(key + 2 * i, 3, "%02x", raw[i]);
    res->status = 200;
    page_begin(res, "网上举报");
    struct buf *b = &res->body;
    buf_appends(b,
                "<p>反映党员、干部和监察对象的违纪违法问题。举报内容会被完整"
                "保存并转交有管辖权的纪检监察机关。本站不记录您的IP地址，不使"
                "用Cookie，也不加载任何外部资源；匿名举报请保存好提交后显示的"
                "回执码，凭码查询处理进展、补充材料。</p>"
                "<form method=\"post\" action=\"/report\" "
                "enctype=\"multipart/form-data\">");
    buf_printf(b,
               "<input type=\"hidden\" name=\"idempotency_key\" "
               "value=\"%s\">",
               key);
    buf_appends(b, "<label for=\"content\">举报内容（必填）</label>"
                   "<textarea id=\"content\" name=\"content\" required>"
                   "</textarea>");
    field(b, "region", "被举报人所在地区代码", "如 410105");
    field(b, "accused_name", "被举报人姓名", NULL);
    field(b, "accused_unit", "被举报人单位", NULL);
    field(b, "accused_position", "职务", NULL);
    field(b, "accused_rank", "职级", "如 正科级");
    buf_appends(b, "<label for=\"attachment\">证据材料（可选）</label>"
                   "<input id=\"attachment\" type=\"file\" name=\"attachment\""
                   " multiple>"
                   "<label><input type=\"checkbox\" name=\"real_name\" "
                   "value=\"true\" style=\"width:auto\"> 实名举报</label>");
    field(b, "reporter_name", "实名举报人姓名", NULL);
    field(b, "reporter_contact", "联系方式", NULL);
    buf_appends(b, "<p><button type=\"submit\">提交举报</button></p></form>"
                   "<p><a href=\"/status\">凭回执码查询进展</a></p>");
    page_end(res);
    return 200;
}

/* The page for a refused form: what to fix, next to which field. */
static int form_error(struct http_response *res, int status,
                      const char *field_name, const char *reason)
{
    buf_reset(&res->body);
    res->status = status;
    page_begin(res, "举报未能提交");
    buf_appends(&res->body, "<p class=\"error\" role=\"alert\">");
    if (field_name != NULL) {
        buf_appends(&res->body, "字段 ");
        pages_escape(&res->body, field_name);
        buf_appends(&res->body, "：");
    }
    pages_escape(&res->body, reason);
    buf_appends(&res->body, "</p><p>请返回修改后重新提交。"
                            "<a href=\"/\">返回举报页面</a></p>");
    page_end(res);
    return status;
}

static void render_receipt(struct intake_submission *s,
                           struct http_response *res)
{
    if (s->item.status != 201) {
        form_error(res, s->item.status == 409 ? 409 : 503, NULL,
                   "暂时无法保存您的举报，请稍后重新提交。");
        if (s->item.status != 409)
            http_response_header(res, "Retry-After", "1");
        return;
    }
    res->status = 201;
    page_begin(res, "举报已收到");
    struct buf *b = &res->body;
    buf_appends(b, "<p>您的举报已完整保存。这是您的回执码，只显示这一次：</p>"
                   "<p class=\"code\">");
    pages_escape(b, s->receipt);
    buf_appends(b, "</p><p>请抄写或妥善保存回执码，不要与他人分享。凭回执码"
                   "可以在<a href=\"/status\">查询页面</a>查看处理状态、阅读"
                   "工作人员的回复并补充材料。回执码丢失后无法找回。</p>");
    page_end(res);
}

static const char *value(const struct form *f, const char *name)
{
    const struct form_field *x = form_get(f, name);
    return x != NULL && x->value_len > 0 ? x->value : NULL;
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
        .max_files = cfg->form_max_files,
        .max_file_bytes = cfg->form_max_file_bytes,
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
        return form_error(res, status, NULL, reason);

    struct report *r = arena_alloc(req->arena, sizeof(*r));
    memset(r, 0, sizeof(*r));
    r->channel = REPORT_WEB;
    r->content = value(&f, "content");
    r->region = value(&f, "region");
    r->accused_name = value(&f, "accused_name");
    r->accused_unit = value(&f, "accused_unit");
    r->accused_position = value(&f, "accused_position");
    r->accused_rank = value(&f, "accused_rank");
    r->category_hint = value(&f, "category_hint");
    const char *real = value(&f, "real_name");
    r->real_name =
        real != NULL && (strcmp(real, "true") == 0 || strcmp(real, "on") == 0 ||
                         strcmp(real, "1") == 0);
    r->reporter_name = value(&f, "reporter_name");
    r->reporter_contact = value(&f, "reporter_contact");
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

    struct report_error err;
    if (report_validate(r, REPORT_SOURCE_PUBLIC, &err) != 0)
        return form_error(res, err.status, err.field, err.reason);

    const char *key = value(&f, "idempotency_key");
    if (key != NULL && strlen(key) > 200)
        key = NULL;
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
        form_error(res, 503, NULL, "系统繁忙，请稍后重新提交。");
        http_response_header(res, "Retry-After", "1");
        return 503;
    }
    return HTTP_ASYNC;
}

int pages_status_form(void *app, struct http_conn *conn,
                      struct http_request *req, struct http_response *res)
{
    res->status = 200;
    page_begin(res, "查询举报进展");
    buf_appends(&res->body,
                "<form method=\"post\" action=\"/status\">"
                "<label for=\"receipt\">回执码</label>"
                "<input id=\"receipt\" name=\"receipt\" required "
                "autocomplete=\"off\" placeholder=\"XXXXX-XXXXX-XXXXX-XXXXX\">"
                "<label for=\"message\">补充材料（可选）</label>"
                "<textarea id=\"message\" name=\"message\"></textarea>"
                "<p><button type=\"submit\">查询</button></p></form>");
    page_end(res);
    return 200;
}

static void render_status(struct http_response *res, int outcome,
                          const char *row)
{
    if (outcome == 503) {
        form_error(res, 503, NULL, "暂时无法查询，请稍后再试。");
        http_response_header(res, "Retry-After", "1");
        return;
    }
    if (outcome == 404) {
        form_error(res, 404, "receipt", "没有与此回执码对应的举报。");
        return;
    }
    res->status = 200;
    page_begin(res, outcome == 201 ? "补充材料已收到" : "举报进展");
    if (outcome == 201) {
        buf_appends(&res->body, "<p>您补充的材料已保存。</p>");
        page_end(res);
        return;
    }
    cJSON *doc = cJSON_Parse(row ? row : "{}");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(doc, "state");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(doc, "messages");
    static const char *const states[][2] = {
        {"received", "已收到，等待分办"},
        {"accepted", "已受理，等待办理"},
        {"in_progress", "正在办理"},
        {"closed", "已办结"},
    };
    const char *text = "处理中";
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        if (cJSON_IsString(state) &&
            strcmp(state->valuestring, states[i][0]) == 0)
            text = states[i][1];
    buf_appends(&res->body, "<p>状态：");
    pages_escape(&res->body, text);
    buf_appends(&res->body, "</p><h2>往来消息</h2><ul>");
    const cJSON *m;
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *from = cJSON_GetObjectItemCaseSensitive(m, "from");
        const cJSON *body = cJSON_GetObjectItemCaseSensitive(m, "body");
        buf_appends(&res->body, "<li>");
        pages_escape(&res->body, cJSON_IsString(from) &&
                                         strcmp(from->valuestring, "staff") == 0
                                     ? "工作人员："
                                     : "您：");
        pages_escape(&res->body, cJSON_IsString(body) ? body->valuestring : "");
        buf_appends(&res->body, "</li>");
    }
    buf_appends(&res->body, "</ul>");
    cJSON_Delete(doc);
    page_end(res);
}

int pages_status(void *app, struct http_conn *conn, struct http_request *req,
                 struct http_response *res)
{
    static const struct form_limits lim = {
        .max_fields = 4, .max_name_bytes = 16, .max_value_bytes = 65536};
    const char *reason = NULL;
    struct form f;
    int status =
        form_parse_urlencoded(req->arena, req->body.data ? req->body.data : "",
                              req->body.len, &lim, &f, &reason);
    if (status != 0)
        return form_error(res, status, NULL, reason);
    const char *receipt = value(&f, "receipt");
    const char *message = value(&f, "message");
    if (receipt == NULL)
        return form_error(res, 422, "receipt", "请输入回执码。");
    if (message != NULL && !status_message_ok(message))
        return form_error(res, 422, "message",
                          "补充材料须为 1 至 5000 字的文本。");
    return status_start(app, conn, req, res, receipt, message, render_status);
}
