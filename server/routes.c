/*
 * routes: every route tipd serves, in one table. A route's body cap is
 * declared here beside its handler; the connection refuses a larger body
 * (413) before reading it. Later modules add their routes here.
 */
#include "casework.h"
#include "console.h"
#include "intake.h"
#include "ops.h"
#include "pages.h"
#include "router.h"
#include "sms.h"
#include "status.h"
#include "status_page.h"
#include "util.h"

static const struct route table[] = {
    {HTTP_METHOD_GET, "/", pages_index, 0, "index", NULL},
    /* The form with up to form_max_files attachments. */
    {HTTP_METHOD_POST, "/report", pages_report, 4194304, "report_form",
     pages_admit_report},
    {HTTP_METHOD_GET, "/status", status_page_get, 0, "status_page", NULL},
    {HTTP_METHOD_POST, "/status", status_page_post, 131072, "status_form",
     status_page_admit},
    {HTTP_METHOD_GET, "/form.js", pages_form_script, 0, "form_script", NULL},
    /* The staff console: a static page and script over the staff API. */
    {HTTP_METHOD_GET, "/staff", console_redirect, 0, "staff_redirect", NULL},
    {HTTP_METHOD_GET, "/staff/", console_page, 0, "staff_console", NULL},
    {HTTP_METHOD_GET, "/staff/console.js", console_script, 0,
     "staff_console_script", NULL},
    {HTTP_METHOD_GET, "/healthz", ops_healthz, 0, "healthz", NULL},
    {HTTP_METHOD_GET, "/readyz", ops_readyz, 0, "readyz", NULL},
    {HTTP_METHOD_GET, "/metrics", ops_metrics, 0, "metrics", NULL},
    /* A report: 20,000 characters of content at up to 3 bytes each, plus
     * the other fields and JSON's escapes. */
    {HTTP_METHOD_POST, "/api/v1/reports", intake_post_report, 131072, "reports",
     intake_admit_public},
    {HTTP_METHOD_POST, "/api/v1/staff/intake", intake_post_staff, 131072,
     "staff_intake", intake_admit},
    /* JSON lines: up to intake_batch_max_lines reports. */
    {HTTP_METHOD_POST, "/api/v1/staff/intake/batch", intake_post_staff_batch,
     16777216, "staff_intake_batch", intake_admit},
    /* SMS gateways: one message of at most 20,000 characters, encoded. */
    {HTTP_METHOD_GET, "/sms/kannel", sms_kannel, 0, "sms_kannel", intake_admit},
    {HTTP_METHOD_POST, "/sms/kannel", sms_kannel, 131072, "sms_kannel",
     intake_admit},
    {HTTP_METHOD_POST, "/sms/twilio", sms_twilio, 262144, "sms_twilio",
     intake_admit},
    {HTTP_METHOD_POST, "/sms/generic", sms_generic, 131072, "sms_generic",
     intake_admit},
    /* A cloud platform's push: up to sms_cloud_batch_max messages. */
    {HTTP_METHOD_POST, "/sms/aliyun", sms_aliyun, 1048576, "sms_aliyun",
     intake_admit},
    /* Staff case work (casework.c); bodies are a few fields and a note. */
    {HTTP_METHOD_GET, "/api/v1/staff/queues", casework_get_queues, 0,
     "staff_queues", NULL},
    {HTTP_METHOD_POST, "/api/v1/staff/queues/{queue}/claim",
     casework_post_claim, 4096, "staff_claim", NULL},
    {HTTP_METHOD_GET, "/api/v1/staff/cases/{id}", casework_get_case, 0,
     "staff_case", NULL},
    {HTTP_METHOD_POST, "/api/v1/staff/cases/{id}/disposition",
     casework_post_disposition, 65536, "staff_disposition", NULL},
    {HTTP_METHOD_POST, "/api/v1/staff/cases/{id}/transfer",
     casework_post_transfer, 65536, "staff_transfer", NULL},
    {HTTP_METHOD_POST, "/api/v1/staff/cases/{id}/messages",
     casework_post_message, 65536, "staff_message", NULL},
    {HTTP_METHOD_POST, "/api/v1/staff/cases/{id}/release",
     casework_post_release, 4096, "staff_release", NULL},
    {HTTP_METHOD_POST, "/api/v1/staff/cases/{id}/assign", casework_post_assign,
     4096, "staff_assign", NULL},
    {HTTP_METHOD_GET, "/api/v1/staff/assigned", casework_get_assigned, 0,
     "staff_assigned", NULL},
    {HTTP_METHOD_GET, "/api/v1/staff/audit", casework_get_audit, 0,
     "staff_audit", NULL},
    {HTTP_METHOD_POST, "/api/v1/status", status_post_lookup, 4096, "status",
     intake_admit_rate},
    {HTTP_METHOD_POST, "/api/v1/status/messages", status_post_message, 65536,
     "status_messages", intake_admit_rate},
};

const struct router router_main = {table, ARRAY_SIZE(table)};
