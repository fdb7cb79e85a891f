/*
 * casework: one SQL statement per action, with its audit row.
 *
 * Each action is a single statement built from CTEs: it locks the case
 * (FOR UPDATE; a claim uses SKIP LOCKED so concurrent claimers never wait
 * for, or get, the same case), checks the caller's right (the unit, the
 * lease token, ownership), changes the case, and appends the audit row
 * through audit_append() in a CTE the final SELECT reads, so the row is
 * written exactly when the action happened. The statement answers one row:
 * an outcome ('ok', 'not_found', 'conflict', 'invalid') and a JSON document.
 * The statement runs on the worker's staff session (staffdb.h), in one
 * transaction with the other actions ready at that moment and bound to the
 * caller's own token, so row-level security checks the unit again; only a
 * transaction that committed makes the answer a success.
 */
#include "casework.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db.h"
#include "http_conn.h"
#include "log.h"
#include "server.h"
#include "utf8.h"
#include "util.h"
#include "worker.h"

#define CLAIM_MAX 100             /* cases per claim, at most */
#define LEASE_SECONDS_DEFAULT 300 /* a claim's lease without lease_seconds */
#define LEASE_SECONDS_MIN 10
#define LEASE_SECONDS_MAX 3600
#define MAX_ATTEMPTS "5" /* leases before a case is parked */
#define NOTE_MAX 5000    /* characters of a note or message */
#define PARAMS_MAX 8

enum op_kind {
    OP_QUEUES,
    OP_CLAIM,
    OP_CASE,
    OP_DISPOSITION,
    OP_TRANSFER,
    OP_MESSAGE,
    OP_RELEASE,
    OP_ASSIGN,
    OP_ASSIGNED,
    OP_AUDIT,
};

struct op {
    struct staff_call call; /* first: staffdb's callbacks get it */
    struct worker *worker;  /* borrowed */
    struct http_conn *conn; /* borrowed: waits in HANDLING */
    enum op_kind kind;
    const char *params[PARAMS_MAX]; /* [0..2]: unit, staff id, role */
    char staff_id[24];
    bool failed;              /* the statement failed */
    char sqlstate[6];         /* its SQLSTATE */
    bool committed;           /* its transaction committed */
    char outcome[16];         /* the statement's first column */
    char *json;               /* the statement's document, in the arena */
    const char *const *roles; /* who may (NULL-ended); NULL: case_roles */
};

static const char *const case_roles[] = {"staff", "supervisor", NULL};
static const char *const supervisor_roles[] = {"supervisor", NULL};

/* --- the statements ---------------------------------------------------------
 */

/* Each queue: what a claim can take now (depth: assigned cases wait in
 * their member's own queue instead), leased, parked, the oldest, overdue. */
static const char queues_sql[] =
    "SELECT 'ok', coalesce(json_agg(json_build_object('queue', q.name,"
    " 'depth', s.depth, 'leased', s.leased, 'parked', s.parked,"
    " 'oldest', s.oldest, 'overdue', s.overdue) ORDER BY q.name), '[]')::text"
    " FROM queues q LEFT JOIN LATERAL (SELECT"
    " count(*) FILTER (WHERE (c.status = 'new' OR (c.status = 'leased'"
    " AND c.lease_expires_at < now())) AND c.assignee_staff_id IS NULL)"
    " AS depth,"
    " count(*) FILTER (WHERE c.status = 'leased'"
    " AND c.lease_expires_at >= now()) AS leased,"
    " count(*) FILTER (WHERE c.status = 'parked') AS parked,"
    " min(c.created_at) FILTER (WHERE c.status IN ('new', 'leased')) AS oldest,"
    " count(*) FILTER (WHERE c.due_at < now()) AS overdue"
    " FROM cases c WHERE c.unit_id = q.unit_id AND c.queue = q.name"
    " AND c.closed_at IS NULL) s ON true"
    " WHERE q.unit_id = $1";

/* $4 queue, $5 max, $6 lease seconds, $7 max attempts. */
/*
 * A claim over the cases SCOPE selects: a unit's queue (cases assigned to
 * someone wait in that member's own queue instead), or the caller's own
 * queue ("mine": the cases a supervisor assigned to them, any queue).
 * $4 queue, $5 max, $6 lease seconds, $7 max attempts. EXISTS_QUEUE is
 * whether the queue exists.
 */
#define CLAIM_SQL(SCOPE, EXISTS_QUEUE)                                         \
    "WITH parked AS (UPDATE cases c SET status = 'parked', lease_token = "     \
    "NULL,"                                                                    \
    " lease_staff_id = NULL, lease_expires_at = NULL, updated_at = now()"      \
    " FROM (SELECT id FROM cases WHERE " SCOPE                                 \
    " AND status = 'leased' AND lease_expires_at < now()"                      \
    " AND attempts >= $7::int FOR UPDATE SKIP LOCKED) x WHERE c.id = x.id"     \
    " RETURNING c.id),"                                                        \
    " fresh AS (SELECT id, priority, real_name, due_at FROM cases "            \
    "WHERE " SCOPE                                                             \
    " AND status = 'new' ORDER BY priority DESC, real_name DESC, due_at, id"   \
    " LIMIT $5::int FOR UPDATE SKIP LOCKED),"                                  \
    " stale AS (SELECT id, priority, real_name, due_at FROM cases "            \
    "WHERE " SCOPE " AND status = 'leased' AND lease_expires_at < now()"       \
    " AND attempts < $7::int ORDER BY lease_expires_at LIMIT $5::int"          \
    " FOR UPDATE SKIP LOCKED),"                                                \
    " picked AS (SELECT id FROM (SELECT * FROM fresh UNION ALL"                \
    " SELECT * FROM stale) AS candidates"                                      \
    " ORDER BY priority DESC, real_name DESC, due_at, id LIMIT $5::int),"      \
    " leased AS (UPDATE cases c SET status = 'leased',"                        \
    " lease_token = gen_random_uuid(), lease_staff_id = $2::bigint,"           \
    " lease_expires_at = now() + make_interval(secs => $6::int),"              \
    " attempts = c.attempts + 1,"                                              \
    " owner_staff_id = coalesce(c.owner_staff_id, $2::bigint),"                \
    " updated_at = now() FROM picked WHERE c.id = picked.id"                   \
    " RETURNING c.id, c.lease_token, c.lease_expires_at, c.priority,"          \
    " c.real_name, c.category, c.due_at, c.report_count, c.attempts),"         \
    " audit AS (SELECT audit_append($2::bigint, $1, $3, 'claim', id,"          \
    " jsonb_build_object('queue', $4::text, 'attempt', attempts)) AS h"        \
    " FROM leased UNION ALL SELECT audit_append(NULL, $1, NULL, 'park', id,"   \
    " jsonb_build_object('queue', $4::text)) FROM parked)"                     \
    " SELECT CASE WHEN " EXISTS_QUEUE " THEN 'ok' ELSE 'not_found' END,"       \
    " json_build_object('queue', $4::text, 'cases', coalesce((SELECT"          \
    " json_agg(json_build_object('id', id, 'lease_token', lease_token,"        \
    " 'lease_expires_at', lease_expires_at, 'priority', priority,"             \
    " 'real_name', real_name, 'category', category, 'due_at', due_at,"         \
    " 'report_count', report_count, 'attempt', attempts) ORDER BY priority "   \
    "DESC, real_name DESC, due_at, id) FROM leased),"                          \
    " '[]'))::text FROM (SELECT count(*) FROM audit) a"

/*
 * A claim on a unit's queue, for every claimer of the queue whose request
 * arrived in the same group (staffdb.h: mergeable calls), in one
 * statement: $1 the claimers, a JSON array of {n, staff, role, max,
 * lease}; $2 unit, $3 queue, $4 max attempts. The most pressing cases are
 * locked once, as many as all claimers asked for, and dealt out in the
 * claimers' order: claimer n gets the slots first..first+max-1. One row per
 * claimer, in order: the outcome and its cases. Cases assigned to a member
 * wait in that member's own queue instead.
 */
static const char claim_queue_sql[] =
    "WITH req AS (SELECT r.n, r.staff, r.role, r.max, r.lease,"
    " (sum(r.max) OVER (ORDER BY r.n) - r.max)::int AS first"
    " FROM jsonb_to_recordset($1::jsonb) AS r(n int, staff bigint,"
    " role text, max int, lease int)),"
    " total AS (SELECT coalesce(sum(max), 0)::int AS k FROM req),"
    " parked AS (UPDATE cases c SET status = 'parked', lease_token = NULL,"
    " lease_staff_id = NULL, lease_expires_at = NULL, updated_at = now()"
    " FROM (SELECT id FROM cases WHERE unit_id = $2 AND queue = $3"
    " AND assignee_staff_id IS NULL AND status = 'leased'"
    " AND lease_expires_at < now() AND attempts >= $4::int"
    " FOR UPDATE SKIP LOCKED) x WHERE c.id = x.id RETURNING c.id),"
    " fresh AS (SELECT id, priority, real_name, due_at FROM cases"
    " WHERE unit_id = $2 AND queue = $3 AND assignee_staff_id IS NULL"
    " AND status = 'new' ORDER BY priority DESC, real_name DESC, due_at, id"
    " LIMIT (SELECT k FROM total) FOR UPDATE SKIP LOCKED),"
    " stale AS (SELECT id, priority, real_name, due_at FROM cases"
    " WHERE unit_id = $2 AND queue = $3 AND assignee_staff_id IS NULL"
    " AND status = 'leased' AND lease_expires_at < now()"
    " AND attempts < $4::int ORDER BY lease_expires_at"
    " LIMIT (SELECT k FROM total) FOR UPDATE SKIP LOCKED),"
    " picked AS (SELECT id, (row_number() OVER (ORDER BY priority DESC,"
    " real_name DESC, due_at, id) - 1)::int AS slot FROM (SELECT * FROM fresh"
    " UNION ALL SELECT * FROM stale) AS candidates ORDER BY priority DESC,"
    " real_name DESC, due_at, id LIMIT (SELECT k FROM total)),"
    " given AS (SELECT p.id, r.n, r.staff, r.lease FROM picked p JOIN req r"
    " ON p.slot >= r.first AND p.slot < r.first + r.max),"
    " leased AS (UPDATE cases c SET status = 'leased',"
    " lease_token = gen_random_uuid(), lease_staff_id = g.staff,"
    " lease_expires_at = now() + make_interval(secs => g.lease),"
    " attempts = c.attempts + 1,"
    " owner_staff_id = coalesce(c.owner_staff_id, g.staff),"
    " updated_at = now() FROM given g WHERE c.id = g.id"
    /* Found by key: with the claimers' count unknown to the planner, a
     * join alone was planned as a merge along the whole primary key (a
     * claim read every case up to the one it took). */
    " AND c.id = ANY ((SELECT array_agg(id) FROM given)::bigint[])"
    " RETURNING c.id, g.n, g.staff, c.lease_token, c.lease_expires_at,"
    " c.priority, c.real_name, c.category, c.due_at, c.report_count,"
    " c.attempts),"
    " audit AS (SELECT audit_append(l.staff, $2, r.role, 'claim', l.id,"
    " jsonb_build_object('queue', $3::text, 'attempt', l.attempts)) AS h"
    " FROM leased l JOIN req r ON r.n = l.n UNION ALL"
    " SELECT audit_append(NULL, $2, NULL, 'park', id,"
    " jsonb_build_object('queue', $3::text)) FROM parked),"
    " done AS (SELECT count(*) FROM audit)"
    " SELECT CASE WHEN EXISTS (SELECT 1 FROM queues WHERE unit_id = $2"
    " AND name = $3) THEN 'ok' ELSE 'not_found' END,"
    " json_build_object('queue', $3::text, 'cases', coalesce((SELECT"
    " json_agg(json_build_object('id', l.id, 'lease_token', l.lease_token,"
    " 'lease_expires_at', l.lease_expires_at, 'priority', l.priority,"
    " 'real_name', l.real_name, 'category', l.category, 'due_at', l.due_at,"
    " 'report_count', l.report_count, 'attempt', l.attempts) ORDER BY"
    " l.priority DESC, l.real_name DESC, l.due_at, l.id) FROM leased l"
    " WHERE l.n = r.n), '[]'))::text FROM req r, done ORDER BY r.n";

static const char claim_mine_sql[] =
    CLAIM_SQL("unit_id = $1 AND assignee_staff_id = $2::bigint", "true");

/* A supervisor's view of the unit's audit trail: the newest 200 entries
 * before $4 (an entry id; 0: the newest), each with its chain hash. */
static const char audit_trail_sql[] =
    "SELECT 'ok', coalesce(json_agg(json_build_object('id', id,"
    " 'at_us', at_us, 'staff_id', staff_id, 'role', role, 'action', action,"
    " 'case_id', case_id, 'detail', detail, 'hash', encode(hash, 'hex'))"
    " ORDER BY id DESC), '[]')::text FROM (SELECT * FROM audit_log"
    " WHERE unit_id = $1 AND ($4::bigint = 0 OR id < $4::bigint)"
    " AND $2::bigint IS NOT NULL AND $3::text IS NOT NULL"
    " ORDER BY id DESC LIMIT 200) AS newest";

/* The caller's own queue: open cases assigned to them. */
static const char assigned_sql[] =
    "SELECT 'ok', coalesce(json_agg(json_build_object('id', id,"
    " 'queue', queue, 'status', status, 'priority', priority,"
    " 'category', category, 'due_at', due_at, 'report_count', report_count)"
    " ORDER BY priority DESC, real_name DESC, due_at, id), '[]')::text FROM "
    "cases"
    " WHERE assignee_staff_id = $2::bigint AND unit_id = $1"
    " AND closed_at IS NULL";

/* $4 case id. A copy unit reads the case too. */
static const char case_sql[] =
    "WITH c AS (SELECT * FROM cases WHERE id = $4::bigint AND (unit_id = $1"
    " OR EXISTS (SELECT 1 FROM case_copies cc WHERE cc.case_id = cases.id"
    " AND cc.unit_id = $1))),"
    " audit AS (SELECT audit_append($2::bigint, $1, $3, 'read', $4::bigint,"
    " '{}') AS h FROM c)"
    " SELECT 'ok', json_build_object('id', c.id, 'unit', c.unit_id,"
    " 'copy', c.unit_id <> $1, 'queue', c.queue, 'status', c.status,"
    " 'priority', c.priority, 'category', c.category,"
    " 'accused_key', c.accused_key, 'report_count', c.report_count,"
    " 'due_at', c.due_at, 'created_at', c.created_at,"
    " 'closed_at', c.closed_at, 'disposition', c.disposition,"
    " 'owner_staff_id', c.owner_staff_id, 'attempts', c.attempts,"
    " 'lease', CASE WHEN c.status = 'leased' THEN json_build_object("
    "'staff_id', c.lease_staff_id, 'expires_at', c.lease_expires_at) END,"
    " 'reports', (SELECT coalesce(json_agg(json_build_object('id', r.id,"
    " 'channel', r.channel, 'received_at', r.received_at,"
    " 'content', r.content, 'region', r.region, 'accused',"
    " json_build_object('name', r.accused_name, 'unit', r.accused_unit,"
    " 'position', r.accused_position, 'rank', r.accused_rank),"
    " 'real_name', r.real_name, 'reporter', r.reporter, 'messages',"
    " (SELECT coalesce(json_agg(json_build_object('from', m.author,"
    " 'body', m.body, 'at', m.created_at) ORDER BY m.id), '[]')"
    " FROM report_messages m WHERE m.report_id = r.id)) ORDER BY r.id), '[]')"
    " FROM case_reports cr JOIN reports r ON r.id = cr.report_id"
    " WHERE cr.case_id = c.id),"
    " 'same_accused', (SELECT coalesce(json_agg(json_build_object("
    "'case_id', o.id, 'status', o.status, 'category', o.category,"
    " 'report_count', o.report_count, 'created_at', o.created_at)"
    " ORDER BY o.id), '[]') FROM cases o WHERE c.accused_key IS NOT NULL"
    " AND o.accused_key = c.accused_key AND o.id <> c.id AND o.unit_id = $1),"
    " 'history', (SELECT coalesce(json_agg(json_build_object('at_us', a.at_us,"
    " 'staff_id', a.staff_id, 'action', a.action, 'detail', a.detail)"
    " ORDER BY a.id), '[]') FROM audit_log a WHERE a.case_id = c.id"
    " AND a.action <> 'read'))::text FROM c, audit";

/* Whether the caller may act on case t: the holder of its live lease, or
 * the owner of a case being worked or held. $2 staff, $5 lease token. */
#define MAY_ACT                                                                \
    " t.status <> 'closed' AND ((t.status = 'leased'"                          \
    " AND t.lease_staff_id = $2::bigint AND t.lease_token::text = $5"          \
    " AND t.lease_expires_at > now()) OR (t.status IN ('working', 'held')"     \
    " AND t.owner_staff_id = $2::bigint))"

#define LOCK_CASE                                                              \
    "WITH t AS (SELECT id, status, lease_token, lease_staff_id,"               \
    " lease_expires_at, owner_staff_id FROM cases WHERE id = $4::bigint"       \
    " AND unit_id = $1 FOR UPDATE)"

#define OUTCOME                                                                \
    " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM t) THEN 'not_found'"          \
    " WHEN EXISTS (SELECT 1 FROM audit) THEN 'ok' ELSE 'conflict' END"

/* $4 case, $5 lease token, $6 disposition, $7 note. */
static const char disposition_sql[] = LOCK_CASE
    ", ok AS (SELECT t.id FROM t WHERE" MAY_ACT "),"
    " done AS (UPDATE cases c SET disposition = $6, status = CASE $6"
    " WHEN 'hold' THEN 'held' WHEN 'close' THEN 'closed'"
    " WHEN 'file_case' THEN 'closed' ELSE 'working' END,"
    " closed_at = CASE WHEN $6 IN ('close', 'file_case') THEN now() END,"
    " lease_token = NULL, lease_staff_id = NULL, lease_expires_at = NULL,"
    " updated_at = now() FROM ok WHERE c.id = ok.id"
    " RETURNING c.id, c.status, c.disposition, c.closed_at),"
    " audit AS (SELECT audit_append($2::bigint, $1, $3, 'disposition',"
    " $4::bigint, jsonb_build_object('disposition', $6::text, 'note',"
    " $7::text)) AS h FROM done)" OUTCOME
    ", (SELECT json_build_object('id', id, 'status', status,"
    " 'disposition', disposition, 'closed_at', closed_at) FROM done)::text";

/* $4 case, $5 lease token, $6 unit to, $7 reason. The move itself is
 * tipd_transfer_case() (migrations/0006_walls.sql): the caller may not
 * write a row into a unit it cannot see. */
static const char transfer_sql[] = LOCK_CASE
    ", dest AS (SELECT id FROM units WHERE id = $6 AND id <> $1),"
    " ok AS (SELECT t.id FROM t, dest WHERE" MAY_ACT "),"
    " done AS (SELECT tipd_transfer_case(ok.id, $6) AS id FROM ok),"
    " audit AS (SELECT audit_append($2::bigint, $1, $3, 'transfer',"
    " $4::bigint, jsonb_build_object('from', $1::text, 'to', $6::text,"
    " 'reason', $7::text)) AS h FROM done WHERE id IS NOT NULL)"
    " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM t) THEN 'not_found'"
    " WHEN NOT EXISTS (SELECT 1 FROM dest) THEN 'invalid'"
    " WHEN EXISTS (SELECT 1 FROM audit) THEN 'ok' ELSE 'conflict' END,"
    " json_build_object('id', $4::bigint, 'unit', $6::text)::text";

/* $4 case, $5 staff member. A supervisor names the member (承办人) of the
 * unit who works the case; they become its owner, so it cannot take a
 * case away from another owner (that is a transfer's job). */
static const char assign_sql[] = LOCK_CASE
    ", member AS (SELECT id FROM staff WHERE id = $5::bigint"
    " AND unit_id = $1 AND role IN ('staff', 'supervisor')),"
    " ok AS (SELECT t.id FROM t, member m WHERE t.status <> 'closed'"
    " AND (t.owner_staff_id IS NULL OR t.owner_staff_id = m.id)"
    " AND (t.status <> 'leased' OR t.lease_expires_at < now()"
    " OR t.lease_staff_id = m.id)),"
    " done AS (UPDATE cases c SET assignee_staff_id = $5::bigint,"
    " owner_staff_id = $5::bigint, updated_at = now() FROM ok"
    " WHERE c.id = ok.id RETURNING c.id),"
    " audit AS (SELECT audit_append($2::bigint, $1, $3, 'assign', $4::bigint,"
    " jsonb_build_object('staff_id', $5::bigint)) AS h FROM done)"
    " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM t) THEN 'not_found'"
    " WHEN NOT EXISTS (SELECT 1 FROM member) THEN 'invalid'"
    " WHEN EXISTS (SELECT 1 FROM audit) THEN 'ok' ELSE 'conflict' END,"
    " json_build_object('id', $4::bigint, 'assignee', $5::bigint)::text";

/* $4 case, $5 lease token. A release is not a failed attempt. */
static const char release_sql[] = LOCK_CASE
    ", done AS (UPDATE cases c SET status = 'new',"
    " lease_token = NULL, lease_staff_id = NULL, lease_expires_at = NULL,"
    " attempts = greatest(c.attempts - 1, 0), updated_at = now() FROM t"
    " WHERE c.id = t.id AND t.status = 'leased'"
    " AND t.lease_staff_id = $2::bigint AND t.lease_token::text = $5"
    " AND t.lease_expires_at > now() RETURNING c.id),"
    " audit AS (SELECT audit_append($2::bigint, $1, $3, 'release', $4::bigint,"
    " '{}') AS h FROM done)" OUTCOME
    ", json_build_object('id', $4::bigint, 'status', 'new')::text";

/* $4 case, $5 body, $6 report id or NULL (every report of the case). */
static const char message_sql[] =
    "WITH t AS (SELECT id FROM cases WHERE id = $4::bigint AND unit_id = $1),"
    " ins AS (INSERT INTO report_messages (report_id, author, body)"
    " SELECT cr.report_id, 'staff', $5 FROM case_reports cr JOIN t"
    " ON cr.case_id = t.id WHERE $6::bigint IS NULL"
    " OR cr.report_id = $6::bigint RETURNING report_id),"
    " audit AS (SELECT audit_append($2::bigint, $1, $3, 'message', $4::bigint,"
    " jsonb_build_object('reports', (SELECT coalesce(jsonb_agg(report_id),"
    " '[]') FROM ins))) AS h FROM t WHERE EXISTS (SELECT 1 FROM ins))"
    " SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM t) THEN 'not_found'"
    " WHEN EXISTS (SELECT 1 FROM audit) THEN 'ok' ELSE 'invalid' END,"
    " json_build_object('id', $4::bigint, 'delivered', (SELECT count(*)"
    " FROM ins))::text";

/* --- the calls --------------------------------------------------------------
 */

static void op_result(struct staff_call *call, const PGresult *res, int row)
{
    struct op *o = (struct op *)call;
    if (row >= PQntuples(res) || (call->item == NULL && PQntuples(res) != 1))
        return;
    snprintf(o->outcome, sizeof(o->outcome), "%s", PQgetvalue(res, row, 0));
    if (!PQgetisnull(res, row, 1)) {
        const char *v = PQgetvalue(res, row, 1);
        o->json = arena_strndup(o->conn->req.arena, v, strlen(v));
    }
}

static void answer(struct op *o, int status)
{
    struct http_response *res = &o->conn->res;
    if (status == 503) {
        http_response_error(res, 503,
                            "the database is not reachable: retry after the "
                            "given seconds",
                            NULL);
    } else if (strcmp(o->outcome, "ok") == 0 && o->committed) {
        res->status = 200;
        res->content_type = "application/json";
        buf_appends(&res->body, o->json != NULL ? o->json : "{}");
        buf_appends(&res->body, "\n");
    } else if (strcmp(o->outcome, "conflict") == 0) {
        http_response_error(res, 409,
                            "the case is not leased to you (the lease token "
                            "is wrong or has run out) or is closed",
                            "lease_token");
    } else if (strcmp(o->outcome, "invalid") == 0) {
        http_response_error(res, 422,
                            o->kind == OP_TRANSFER ? "no other unit has this id"
                            : o->kind == OP_ASSIGN
                                ? "no staff member of your unit has this id"
                                : "the case has no such report",
                            o->kind == OP_TRANSFER ? "unit"
                            : o->kind == OP_ASSIGN ? "staff_id"
                                                   : "report_id");
    } else {
        http_response_error(
            res, 404, o->kind == OP_CLAIM ? "no such queue" : "no such case",
            NULL);
    }
    http_conn_respond(o->conn, util_now_ms());
}

/*
 * A lost session, a COMMIT that did not commit, or a transaction the
 * database rolled back to resolve a conflict (SQLSTATE class 40) is
 * temporary: 503, retry. Any other failed statement is tipd's own fault:
 * 500 (its SQLSTATE is in the log).
 */
static void op_done(struct staff_call *call, int status, bool committed,
                    const char *sqlstate)
{
    struct op *o = (struct op *)call;
    o->committed = committed;
    o->failed = sqlstate[0] != '\0';
    snprintf(o->sqlstate, sizeof(o->sqlstate), "%s", sqlstate);
    if (o->failed && status == 0 && strncmp(o->sqlstate, "40", 2) != 0) {
        http_response_error(&o->conn->res, 500,
                            "the action failed; it was not carried out", NULL);
        http_conn_respond(o->conn, util_now_ms());
    } else if (status != 0 || o->failed ||
               (o->outcome[0] == 'o' && !o->committed)) {
        answer(o, 503);
    } else {
        answer(o, 0);
    }
}

static void authed(struct staff_call *call, int status)
{
    struct op *o = (struct op *)call;
    struct http_response *res = &o->conn->res;
    if (status == 401) {
        http_response_error(res, 401, "unknown or revoked token", NULL);
    } else if (status != 0) {
        answer(o, 503);
        return;
    } else if (!auth_role_in(&call->who, o->roles ? o->roles : case_roles)) {
        http_response_error(res, 403,
                            o->roles ? "only a supervisor may do this"
                                     : "this token's role does not work cases",
                            NULL);
    } else {
        snprintf(o->staff_id, sizeof(o->staff_id), "%lld", call->who.staff_id);
        if (call->sql == claim_queue_sql) {
            /* One claimer of the queue: $1 is filled in by staffdb. */
            char *item = arena_alloc(o->conn->req.arena, 128);
            snprintf(item, 128,
                     "\"staff\":%s,\"role\":\"%s\",\"max\":%s,"
                     "\"lease\":%s",
                     o->staff_id, call->who.role, o->params[4], o->params[5]);
            call->item = item;
            o->params[0] = NULL;
            o->params[1] = call->who.unit;
            o->params[2] = o->params[3];
            o->params[3] = MAX_ATTEMPTS;
            call->nparams = 4;
        } else {
            o->params[0] = call->who.unit;
            o->params[1] = o->staff_id;
            o->params[2] = call->who.role;
        }
        call->params = o->params;
        call->result = op_result;
        call->done = op_done;
        if (staffdb_act(&o->worker->staff, call) == 0)
            return;
        answer(o, 503);
        return;
    }
    http_conn_respond(o->conn, util_now_ms());
}

/* Looks the caller up, then runs the op's statement: HTTP_ASYNC, or the
 * status of the answer already in res. */
static int start(struct op *o, struct worker *w, struct http_conn *conn,
                 struct http_request *req, struct http_response *res)
{
    const char *token = NULL;
    size_t len = 0;
    int rc = auth_bearer(req, res, &token, &len);
    if (rc != 0)
        return rc;
    if (!staffdb_token_ok(token, len))
        return http_response_error(res, 401, "unknown or revoked token", NULL);
    o->worker = w;
    o->conn = conn;
    o->call.token = arena_strndup(req->arena, token, len);
    o->call.who_done = authed;
    if (staffdb_who(&w->staff, &o->call) != 0)
        return http_response_error(res, 503,
                                   "the database is not reachable: retry "
                                   "after the given seconds",
                                   NULL);
    return HTTP_ASYNC;
}

static struct op *op_new(struct http_request *req, enum op_kind kind,
                         const char *sql, int nparams)
{
    struct op *o = arena_alloc(req->arena, sizeof(*o));
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    o->call.sql = sql;
    o->call.nparams = nparams;
    return o;
}

/* --- inputs
 * ------------------------------------------------------------------- */

/* The {id} of the path when it is a positive decimal id; NULL if not. */
static const char *case_id(struct http_request *req)
{
    const char *id = req->param_count > 0 ? req->params[0] : NULL;
    if (id == NULL || id[0] == '\0' || id[0] == '0' || strlen(id) > 18)
        return NULL;
    for (const char *p = id; *p; p++)
        if (*p < '0' || *p > '9')
            return NULL;
    return id;
}

static bool is_json(struct http_request *req)
{
    const struct http_header *ct = http_request_header(req, "content-type");
    return ct != NULL &&
           util_ieq(ct->value, strcspn(ct->value, "; "), "application/json");
}

/* The body as a JSON object (owned: cJSON_Delete), or NULL with res set. */
static cJSON *body_object(struct http_request *req, struct http_response *res,
                          bool optional)
{
    if (optional && req->body.len == 0)
        return cJSON_CreateObject();
    if (!is_json(req)) {
        http_response_error(res, 415, "send application/json", NULL);
        return NULL;
    }
    return http_json_object(req, res);
}

/* A string member copied into the arena; NULL when absent or not a string. */
static const char *member(struct http_request *req, const cJSON *o,
                          const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!cJSON_IsString(v))
        return NULL;
    return arena_strndup(req->arena, v->valuestring, strlen(v->valuestring));
}

static bool text_ok(const char *s, size_t max_chars)
{
    size_t n = s != NULL ? strlen(s) : 0;
    return n > 0 && utf8_valid(s, n) && !utf8_has_controls(s, n, true) &&
           utf8_count(s, n) <= max_chars;
}

/* A lease token as claims return it: a UUID in lower-case hex. */
static bool token_ok(const char *t)
{
    if (t == NULL || strlen(t) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? t[i] != '-'
                 : !((t[i] >= '0' && t[i] <= '9') ||
                     (t[i] >= 'a' && t[i] <= 'f')))
            return false;
    }
    return true;
}

static int integer_member(const cJSON *o, const char *name, long dflt, long min,
                          long max, long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (v == NULL) {
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble ||
        v->valuedouble < (double)min || v->valuedouble > (double)max)
        return -1;
    *out = (long)v->valuedouble;
    return 0;
}

static const char *arena_printf_long(struct http_request *req, long v)
{
    char *s = arena_alloc(req->arena, 24);
    snprintf(s, 24, "%ld", v);
    return s;
}

/* --- routes
 * ------------------------------------------------------------------- */

int casework_get_queues(void *app, struct http_conn *conn,
                        struct http_request *req, struct http_response *res)
{
    struct op *o = op_new(req, OP_QUEUES, queues_sql, 1);
    return start(o, app, conn, req, res);
}

int casework_post_claim(void *app, struct http_conn *conn,
                        struct http_request *req, struct http_response *res)
{
    const char *queue = req->param_count > 0 ? req->params[0] : "";
    if (strlen(queue) < 1 || strlen(queue) > 32)
        return http_response_error(res, 404, "no such queue", NULL);
    cJSON *body = body_object(req, res, true);
    if (body == NULL)
        return res->status;
    long max, lease;
    int rc = -1;
    if (integer_member(body, "max", 1, 1, CLAIM_MAX, &max) != 0)
        http_response_error(res, 422, "max must be an integer from 1 to 100",
                            "max");
    else if (integer_member(body, "lease_seconds", LEASE_SECONDS_DEFAULT,
                            LEASE_SECONDS_MIN, LEASE_SECONDS_MAX, &lease) != 0)
        http_response_error(res, 422,
                            "lease_seconds must be an integer from 10 to 3600",
                            "lease_seconds");
    else
        rc = 0;
    cJSON_Delete(body);
    if (rc != 0)
        return res->status;
    /* "mine" is the caller's own queue, never a unit's queue name. */
    struct op *o = op_new(
        req, OP_CLAIM,
        strcmp(queue, "mine") == 0 ? claim_mine_sql : claim_queue_sql, 7);
    o->params[3] = queue;
    o->params[4] = arena_printf_long(req, max);
    o->params[5] = arena_printf_long(req, lease);
    o->params[6] = MAX_ATTEMPTS;
    return start(o, app, conn, req, res);
}

int casework_get_case(void *app, struct http_conn *conn,
                      struct http_request *req, struct http_response *res)
{
    const char *id = case_id(req);
    if (id == NULL)
        return http_response_error(res, 404, "no such case", NULL);
    struct op *o = op_new(req, OP_CASE, case_sql, 4);
    o->params[3] = id;
    return start(o, app, conn, req, res);
}

/*
 * The case id of the path and the named string members of the JSON body
 * (values[i] NULL when absent), for the actions on one case. 0, or the
 * status of the answer already written in res.
 */
static int case_request(struct http_request *req, struct http_response *res,
                        const char **id, const char *const *names,
                        const char **values, int n)
{
    *id = case_id(req);
    if (*id == NULL)
        return http_response_error(res, 404, "no such case", NULL);
    cJSON *body = body_object(req, res, false);
    if (body == NULL)
        return res->status;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, names[i]);
        values[i] = NULL;
        if (cJSON_IsString(v))
            values[i] = member(req, body, names[i]);
        else if (cJSON_IsNumber(v) && v->valuedouble >= 1 &&
                 v->valuedouble < 1e15 &&
                 v->valuedouble == (double)(long long)v->valuedouble)
            values[i] = arena_printf_long(req, (long)v->valuedouble);
        else if (v != NULL && !cJSON_IsNull(v))
            rc = http_response_error(res, 422, "must be a string", names[i]);
    }
    cJSON_Delete(body);
    return rc;
}

/* A lease token that cannot be one is a stale lease: 409, like a wrong one
 * (required: it must be there). 0 when it may be sent. */
static int token_refused(struct http_response *res, const char *token,
                         bool required)
{
    if (token == NULL ? !required : token_ok(token))
        return 0;
    return http_response_error(
        res, 409, "lease_token must be the token of your claim", "lease_token");
}

static int text_refused(struct http_response *res, const char *text,
                        const char *field)
{
    if (text_ok(text, NOTE_MAX))
        return 0;
    return http_response_error(
        res, 422, "1 to 5000 characters of text are required", field);
}

static const char *const dispositions[] = {
    "talk_inquiry", "preliminary_verification",
    "hold",         "close",
    "file_case",    NULL};

int casework_post_disposition(void *app, struct http_conn *conn,
                              struct http_request *req,
                              struct http_response *res)
{
    static const char *const names[] = {"lease_token", "disposition", "note"};
    const char *id, *v[3];
    int rc = case_request(req, res, &id, names, v, 3);
    if (rc != 0)
        return rc;
    bool known = false;
    for (int i = 0; v[1] != NULL && dispositions[i] != NULL; i++)
        known = known || strcmp(v[1], dispositions[i]) == 0;
    if (!known)
        return http_response_error(res, 422,
                                   "disposition must be talk_inquiry, "
                                   "preliminary_verification, hold, close or "
                                   "file_case",
                                   "disposition");
    if ((rc = text_refused(res, v[2], "note")) != 0 ||
        (rc = token_refused(res, v[0], false)) != 0)
        return rc;
    struct op *o = op_new(req, OP_DISPOSITION, disposition_sql, 7);
    o->params[3] = id;
    for (int i = 0; i < 3; i++)
        o->params[4 + i] = v[i];
    return start(o, app, conn, req, res);
}

int casework_post_transfer(void *app, struct http_conn *conn,
                           struct http_request *req, struct http_response *res)
{
    static const char *const names[] = {"lease_token", "unit", "reason"};
    const char *id, *v[3];
    int rc = case_request(req, res, &id, names, v, 3);
    if (rc != 0)
        return rc;
    if (v[1] == NULL || strlen(v[1]) != 6 || strspn(v[1], "0123456789") != 6)
        return http_response_error(res, 422, "unit must be a six-digit id",
                                   "unit");
    if ((rc = text_refused(res, v[2], "reason")) != 0 ||
        (rc = token_refused(res, v[0], false)) != 0)
        return rc;
    struct op *o = op_new(req, OP_TRANSFER, transfer_sql, 7);
    o->params[3] = id;
    for (int i = 0; i < 3; i++)
        o->params[4 + i] = v[i];
    return start(o, app, conn, req, res);
}

int casework_post_message(void *app, struct http_conn *conn,
                          struct http_request *req, struct http_response *res)
{
    static const char *const names[] = {"body", "report_id"};
    const char *id, *v[2];
    int rc = case_request(req, res, &id, names, v, 2);
    if (rc != 0)
        return rc;
    if ((rc = text_refused(res, v[0], "body")) != 0)
        return rc;
    /* report_id, when given, is the decimal id of one of the case's
     * reports (as the case view lists them), as a string. */
    if (v[1] != NULL && (v[1][0] < '1' || v[1][0] > '9' || strlen(v[1]) > 18 ||
                         strspn(v[1], "0123456789") != strlen(v[1])))
        return http_response_error(
            res, 422, "report_id must be a report of the case", "report_id");
    struct op *o = op_new(req, OP_MESSAGE, message_sql, 6);
    o->params[3] = id;
    o->params[4] = v[0];
    o->params[5] = v[1];
    return start(o, app, conn, req, res);
}

int casework_post_release(void *app, struct http_conn *conn,
                          struct http_request *req, struct http_response *res)
{
    static const char *const names[] = {"lease_token"};
    const char *id, *v[1];
    int rc = case_request(req, res, &id, names, v, 1);
    if (rc != 0 || (rc = token_refused(res, v[0], true)) != 0)
        return rc;
    struct op *o = op_new(req, OP_RELEASE, release_sql, 5);
    o->params[3] = id;
    o->params[4] = v[0];
    return start(o, app, conn, req, res);
}

int casework_get_assigned(void *app, struct http_conn *conn,
                          struct http_request *req, struct http_response *res)
{
    struct op *o = op_new(req, OP_ASSIGNED, assigned_sql, 2);
    return start(o, app, conn, req, res);
}

int casework_post_assign(void *app, struct http_conn *conn,
                         struct http_request *req, struct http_response *res)
{
    static const char *const names[] = {"staff_id"};
    const char *id, *v[1];
    int rc = case_request(req, res, &id, names, v, 1);
    if (rc != 0)
        return rc;
    if (v[0] == NULL || v[0][0] < '1' || v[0][0] > '9' ||
        strspn(v[0], "0123456789") != strlen(v[0]) || strlen(v[0]) > 18)
        return http_response_error(
            res, 422, "staff_id must be a staff member's id", "staff_id");
    struct op *o = op_new(req, OP_ASSIGN, assign_sql, 5);
    o->roles = supervisor_roles;
    o->params[3] = id;
    o->params[4] = v[0];
    return start(o, app, conn, req, res);
}

int casework_get_audit(void *app, struct http_conn *conn,
                       struct http_request *req, struct http_response *res)
{
    /* ?before=ID pages back; anything else is refused, not ignored. */
    const char *before = "0";
    const char *q = req->query != NULL ? req->query : "";
    if (q[0] != '\0') {
        const char *v = strncmp(q, "before=", 7) == 0 ? q + 7 : NULL;
        if (v == NULL || v[0] < '1' || v[0] > '9' || strlen(v) > 18 ||
            strspn(v, "0123456789") != strlen(v))
            return http_response_error(
                res, 422, "the only parameter is before=ID", "before");
        before = v;
    }
    struct op *o = op_new(req, OP_AUDIT, audit_trail_sql, 4);
    o->roles = supervisor_roles;
    o->params[3] = before;
    return start(o, app, conn, req, res);
}
