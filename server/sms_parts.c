/*
 * sms_parts: the part's transaction is one pipeline (BEGIN, the group's
 * advisory lock, the clean-up of a finished group whose reference is used
 * again, the INSERT, the count and joined text, COMMIT). The fragments of
 * groups that stay incomplete are sms_sweep's.
 */
#include "sms_parts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

int sms_parts_parse_udh(const unsigned char *udh, size_t len,
                        struct sms_part *p)
{
    if (len == 0)
        return 0;
    /* The first octet is the header's length (UDHL). */
    if ((size_t)udh[0] + 1 != len)
        return -1;
    /* Every element is checked, even after the one we want. */
    bool found = false;
    size_t i = 1;
    while (i < len) {
        if (i + 2 > len)
            return -1;
        unsigned iei = udh[i], iedl = udh[i + 1];
        const unsigned char *d = udh + i + 2;
        if (i + 2 + iedl > len)
            return -1;
        if ((iei == 0x00 && iedl == 3) || (iei == 0x08 && iedl == 4)) {
            size_t o = iei == 0x00 ? 1 : 2;
            p->ref = iei == 0x00 ? d[0] : (unsigned)d[0] << 8 | d[1];
            p->total = d[o];
            p->seq = d[o + 1];
            found = true;
        }
        i += 2 + iedl;
    }
    if (!found || (p->total == 1 && p->seq == 1))
        return 0; /* no element, or a whole message in one part */
    if (p->total < 2 || p->seq < 1 || p->seq > p->total)
        return -1;
    return 1;
}

/* --- one part ------------------------------------------------------------ */

static const char lock_sql[] =
    "SELECT pg_advisory_xact_lock(hashtextextended($1, 7007))";
/* A finished group of this reference, older than the window: the sender's
 * phone has used the reference again for a new message. */
static const char cleanup_sql[] =
    "DELETE FROM sms_parts WHERE group_key = $1"
    " AND joined_at < now() - make_interval(secs => $2::float8)";
static const char insert_sql[] =
    "INSERT INTO sms_parts (group_key, sender_hash, total, seq, text)"
    " VALUES ($1, $2::bytea, $3::smallint, $4::smallint, $5)"
    " ON CONFLICT DO NOTHING";
static const char join_sql[] =
    "UPDATE sms_parts SET joined_at = now() WHERE group_key = $1"
    " AND joined_at IS NULL"
    " AND (SELECT count(*) FROM sms_parts WHERE group_key = $1) = $2::int";
static const char read_sql[] =
    "SELECT count(*), string_agg(text, '' ORDER BY seq) FROM sms_parts"
    " WHERE group_key = $1";

static int send_part(struct db_job *job, PGconn *pg)
{
    struct sms_parts_request *r =
        container_of(job, struct sms_parts_request, job);
    const char *k[1] = {r->group_key};
    const char *cleanup[2] = {r->group_key, r->window};
    const char *insert[5] = {r->group_key, r->sender_hex, r->total, r->seq,
                             r->text};
    const char *join[2] = {r->group_key, r->total};
    r->result_index = 0;
    r->failed = false;
    r->have = 0;
    r->joined = NULL;
    return PQsendQueryParams(pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) == 1 &&
                   PQsendQueryParams(pg, lock_sql, 1, NULL, k, NULL, NULL, 0) ==
                       1 &&
                   PQsendQueryParams(pg, cleanup_sql, 2, NULL, cleanup, NULL,
                                     NULL, 0) == 1 &&
                   PQsendQueryParams(pg, insert_sql, 5, NULL, insert, NULL,
                                     NULL, 0) == 1 &&
                   PQsendQueryParams(pg, join_sql, 2, NULL, join, NULL, NULL,
                                     0) == 1 &&
                   PQsendQueryParams(pg, read_sql, 1, NULL, k, NULL, NULL, 0) ==
                       1 &&
                   PQsendQueryParams(pg, "COMMIT", 0, NULL, NULL, NULL, NULL,
                                     0) == 1
               ? 0
               : -1;
}

static void part_result(struct db_job *job, const PGresult *res)
{
    struct sms_parts_request *r =
        container_of(job, struct sms_parts_request, job);
    int index = r->result_index++;
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_FATAL_ERROR) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        log_error("sms_part_failed", "statement=%d sqlstate=%s", index,
                  state ? state : "");
        r->failed = true;
        return;
    }
    if (index == 5 && st == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        r->have = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
        const char *v = PQgetvalue(res, 0, 1);
        r->joined = arena_strndup(r->arena, v, strlen(v));
    } else if (index == 6) {
        if (st != PGRES_COMMAND_OK ||
            strcmp(PQcmdStatus((PGresult *)res), "COMMIT") != 0)
            r->failed = true;
    }
}

static void part_done(struct db_job *job, int status)
{
    struct sms_parts_request *r =
        container_of(job, struct sms_parts_request, job);
    if (status == 0 && (r->failed || r->result_index != 7))
        status = -1;
    r->done(r, status);
}

int sms_parts_add(struct db_session *db, struct sms_parts_request *r,
                  const char *scope, const unsigned char sender_hash[32],
                  const struct sms_part *p, const char *text, uint64_t window_s)
{
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", sender_hash[i]);
    snprintf(r->group_key, sizeof(r->group_key), "%s:%s:%u:%u", scope, hex,
             p->ref, p->total);
    snprintf(r->sender_hex, sizeof(r->sender_hex), "\\x%s", hex);
    snprintf(r->total, sizeof(r->total), "%u", p->total);
    snprintf(r->seq, sizeof(r->seq), "%u", p->seq);
    snprintf(r->window, sizeof(r->window), "%llu",
             (unsigned long long)window_s);
    r->text = text;
    r->job.send = send_part;
    r->job.result = part_result;
    r->job.done = part_done;
    return db_session_submit(db, &r->job);
}
