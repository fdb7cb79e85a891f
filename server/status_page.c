/*
 * status_page: the receipt form and what a code shows, built with pages.h's
 * page frame over status.h's lookup. The code as typed goes through the
 * same path as every other (E3); what is shown back is escaped.
 */
#include "status_page.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "form.h"
#include "intake.h"
#include "pages.h"
#include "report.h"
#include "status.h"

/* The receipt form, with what was wrong (field "receipt" or "message"). */
static void status_form(struct http_response *res, int status,
                        const char *receipt, const char *message,
                        const char *field, const char *error)
{
    buf_reset(&res->body);
    res->status = status;
    pages_begin(res, "查询举报进展", error != NULL);
    struct buf *b = &res->body;
    bool on_receipt = error != NULL && strcmp(field, "receipt") == 0;
    if (error != NULL) {
        buf_printf(b,
                   "<div class=\"summary\" id=\"error-summary\" "
                   "role=\"alert\" tabindex=\"-1\"><h2>请修改以下 1 处</h2>"
                   "<ul><li><a href=\"#%s\">%s：",
                   field, on_receipt ? "回执码" : "补充材料");
        pages_escape(b, error);
        buf_appends(b, "</a></li></ul></div>");
    }
    buf_appends(b, "<p>输入举报后得到的回执码，查看办理进展和工作人员的回复；"
                   "也可以同时补充材料。</p><form method=\"post\" "
                   "action=\"/status\" novalidate><div class=\"field");
    buf_appends(b, on_receipt ? " invalid" : "");
    buf_appends(b, "\"><label for=\"receipt\">回执码</label><p class=\"hint\" "
                   "id=\"receipt-hint\">20 位字母和数字，短横线可省略</p>");
    if (on_receipt) {
        buf_appends(b, "<p class=\"error\" id=\"receipt-error\">错误：");
        pages_escape(b, error);
        buf_appends(b, "</p>");
    }
    buf_printf(b,
               "<input id=\"receipt\" name=\"receipt\" autocomplete=\"off\" "
               "autocapitalize=\"characters\" spellcheck=\"false\" "
               "maxlength=\"64\" aria-describedby=\"%sreceipt-hint\"%s",
               on_receipt ? "receipt-error " : "",
               on_receipt ? " aria-invalid=\"true\"" : "");
    if (receipt != NULL) {
        buf_appends(b, " value=\"");
        pages_escape(b, receipt);
        buf_appends(b, "\"");
    }
    buf_appends(b, "></div><div class=\"field");
    buf_appends(b, error != NULL && !on_receipt ? " invalid" : "");
    buf_appends(b, "\"><label for=\"message\">补充材料（可选）</label>"
                   "<p class=\"hint\" id=\"message-hint\">回答工作人员的提问"
                   "或补充新的情况，不超过 5000 字</p>");
    if (error != NULL && !on_receipt) {
        buf_appends(b, "<p class=\"error\" id=\"message-error\">错误：");
        pages_escape(b, error);
        buf_appends(b, "</p>");
    }
    buf_printf(b,
               "<textarea id=\"message\" name=\"message\" "
               "aria-describedby=\"%smessage-hint\"%s>",
               error != NULL && !on_receipt ? "message-error " : "",
               error != NULL && !on_receipt ? " aria-invalid=\"true\"" : "");
    if (message != NULL)
        pages_escape(b, message);
    buf_appends(b, "</textarea></div><button type=\"submit\">查询</button>"
                   "</form><p><a href=\"/\">返回举报页面</a></p>");
    pages_end(res, true);
}

int status_page_get(void *app, struct http_conn *conn, struct http_request *req,
                    struct http_response *res)
{
    status_form(res, 200, NULL, NULL, NULL, NULL);
    return 200;
}

/* What the lookup needs to render its page: the code as typed (shown
 * back in the form of the next step). */
struct status_view {
    const char *receipt; /* as typed: looked up */
    const char *shown;   /* shown back in the form; NULL if absurdly long */
    const char *message;
};

static void render_status(struct http_response *res, int outcome,
                          const char *row, void *data)
{
    const struct status_view *sv = data;
    if (outcome == 503) {
        status_form(res, 503, sv->shown, sv->message, "receipt",
                    "暂时无法查询，请稍后再试。");
        http_response_header(res, "Retry-After", "1");
        return;
    }
    if (outcome == 404) {
        status_form(res, 404, sv->shown, sv->message, "receipt",
                    "没有与此回执码对应的举报，请核对后重新输入。");
        return;
    }
    buf_reset(&res->body);
    res->status = 200;
    pages_begin(res, outcome == 201 ? "补充材料已收到" : "举报进展", false);
    struct buf *b = &res->body;
    if (outcome == 201) {
        buf_appends(b, "<p role=\"status\">您补充的材料已保存，工作人员会在"
                       "办理时看到。</p>");
    } else {
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
        buf_appends(b, "<p>办理状态：<strong id=\"state\">");
        pages_escape(b, text);
        buf_appends(b, "</strong></p><h2>往来消息</h2>");
        if (cJSON_GetArraySize(msgs) == 0)
            buf_appends(b, "<p>还没有消息。</p>");
        const cJSON *m;
        cJSON_ArrayForEach(m, msgs)
        {
            const cJSON *from = cJSON_GetObjectItemCaseSensitive(m, "from");
            const cJSON *body = cJSON_GetObjectItemCaseSensitive(m, "body");
            const cJSON *at = cJSON_GetObjectItemCaseSensitive(m, "at");
            bool staff =
                cJSON_IsString(from) && strcmp(from->valuestring, "staff") == 0;
            buf_printf(b, "<div class=\"msg%s\"><p><strong>%s</strong> ",
                       staff ? " staff" : "", staff ? "工作人员" : "您");
            /* The day only, in Beijing time (UTC+8, no daylight saving):
             * the reporter's day, not the database's. */
            double t;
            if (cJSON_IsString(at) &&
                report_parse_time(at->valuestring, &t) == 0) {
                time_t local = (time_t)t + 8 * 3600;
                struct tm tm;
                char day[16];
                if (gmtime_r(&local, &tm) != NULL &&
                    strftime(day, sizeof(day), "%Y-%m-%d", &tm) > 0)
                    pages_escape(b, day);
            }
            buf_appends(b, "</p><p>");
            pages_escape(b, cJSON_IsString(body) ? body->valuestring : "");
            buf_appends(b, "</p></div>");
        }
        cJSON_Delete(doc);
    }
    /* The next step carries the code, so the reporter need not type it
     * again; the page is never cached (no-store). */
    buf_appends(b, "<h2>补充材料</h2><form method=\"post\" action=\"/status\">"
                   "<input type=\"hidden\" name=\"receipt\" value=\"");
    pages_escape(b, sv->receipt);
    buf_appends(b, "\"><label for=\"message\">回答工作人员的提问或补充新的"
                   "情况（不超过 5000 字）</label><textarea id=\"message\" "
                   "name=\"message\"></textarea><button type=\"submit\">"
                   "提交补充材料</button></form><form method=\"post\" "
                   "action=\"/status\"><input type=\"hidden\" "
                   "name=\"receipt\" value=\"");
    pages_escape(b, sv->receipt);
    buf_appends(b, "\"><button type=\"submit\">刷新进展</button></form>"
                   "<p><a href=\"/\">返回举报页面</a></p>");
    pages_end(res, false);
}

int status_page_post(void *app, struct http_conn *conn,
                     struct http_request *req, struct http_response *res)
{
    static const struct form_limits lim = {
        .max_fields = 4, .max_name_bytes = 16, .max_value_bytes = 65536};
    const char *reason = NULL;
    struct form f;
    int status =
        form_parse_urlencoded(req->arena, req->body.data ? req->body.data : "",
                              req->body.len, &lim, &f, &reason);
    if (status != 0)
        return pages_refusal(res, status, NULL, reason);
    struct status_view *sv = arena_alloc(req->arena, sizeof(*sv));
    sv->receipt = pages_form_value(&f, "receipt");
    sv->message = pages_form_value(&f, "message");
    /* A code that long is no code: looked up all the same (the same path
     * for every code), but not shown back. */
    sv->shown =
        sv->receipt != NULL && strlen(sv->receipt) <= 64 ? sv->receipt : NULL;
    if (sv->receipt == NULL) {
        status_form(res, 422, NULL, sv->message, "receipt", "请输入回执码。");
        return 422;
    }
    if (sv->message != NULL && !status_message_ok(sv->message)) {
        status_form(res, 422, sv->shown, NULL, "message",
                    "补充材料须为 1 至 5000 字的文本。");
        return 422;
    }
    return status_start(app, conn, req, res, sv->receipt, sv->message,
                        render_status, sv);
}

int status_page_admit(void *app, struct http_conn *conn,
                      struct http_response *res)
{
    return pages_refused(res, intake_admit_rate(app, conn, res));
}
