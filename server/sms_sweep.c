/*
 * sms_sweep: one statement per round; a failed round is logged and simply
 * runs again a second later.
 */
#include "sms_sweep.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "util.h"

/* Up to 100 groups a round; each fragment's text has its parts in order
 * and a marker for each missing one. Its receipt hash is random: the
 * reporter was never shown a code for it (the reply comes with the part
 * that completes a message). */
static const char fragments_sql[] =
    "WITH due AS ("
    " SELECT group_key FROM sms_parts WHERE joined_at IS NULL"
    " GROUP BY group_key"
    " HAVING min(received_at) < now() - make_interval(secs => $1::float8)"
    " LIMIT 100),"
    " locked AS ("
    " SELECT p.group_key, p.sender_hash, p.total, p.seq, p.text,"
    " p.received_at FROM sms_parts p JOIN due USING (group_key)"
    " WHERE p.joined_at IS NULL FOR UPDATE OF p SKIP LOCKED),"
    " marked AS ("
    " UPDATE sms_parts p SET joined_at = now() FROM locked l"
    " WHERE p.group_key = l.group_key AND p.seq = l.seq RETURNING 1),"
    " groups AS ("
    " SELECT group_key, (array_agg(sender_hash))[1] AS sender_hash,"
    " max(total) AS total, min(received_at) AS received_at"
    " FROM locked GROUP BY group_key),"
    " fragments AS ("
    " SELECT g.group_key, g.sender_hash, g.received_at,"
    " string_agg(coalesce(l.text,"
    " '〔第' || s || '/' || g.total || '段未收到〕'), '' ORDER BY s)"
    " AS content"
    " FROM groups g CROSS JOIN LATERAL generate_series(1, g.total) AS s"
    " LEFT JOIN locked l ON l.group_key = g.group_key AND l.seq = s"
    " GROUP BY g.group_key, g.sender_hash, g.received_at)"
    " INSERT INTO reports (channel, received_at, receipt_hash, content,"
    " sender_hash)"
    " SELECT 'sms', received_at, sha256(convert_to(group_key"
    " || clock_timestamp()::text || random()::text, 'UTF8')), content,"
    " sender_hash FROM fragments"
    " RETURNING id, (SELECT count(*) FROM marked)";

static int send_sweep(struct db_job *job, PGconn *pg)
{
    struct sms_sweep *s = container_of(job, struct sms_sweep, job);
    const char *parts[1] = {s->parts_window};
    s->result_index = 0;
    return PQsendQueryParams(pg, fragments_sql, 1, NULL, parts, NULL, NULL,
                             0) == 1
               ? 0
               : -1;
}

static void sweep_result(struct db_job *job, const PGresult *res)
{
    struct sms_sweep *s = container_of(job, struct sms_sweep, job);
    int index = s->result_index++;
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_FATAL_ERROR) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        log_error("sms_sweep_failed", "statement=%d sqlstate=%s", index,
                  state ? state : "");
    } else if (index == 0 && st == PGRES_TUPLES_OK && PQntuples(res) > 0) {
        s->fragments += PQntuples(res);
        log_info("sms_fragments_stored", "reports=%d", PQntuples(res));
    }
}

static void sweep_done(struct db_job *job, int status)
{
    struct sms_sweep *s = container_of(job, struct sms_sweep, job);
    (void)status; /* a failed round runs again at the next tick */
    s->busy = false;
}

void sms_sweep_tick(struct sms_sweep *s, struct db_session *db,
                    const struct config *c, uint64_t now_ms)
{
    /* Queued behind group commit's batch in flight, not waiting for an
     * idle moment, which a sustained burst may never leave. */
    if (s->busy || now_ms - s->last_ms < 1000 || !db_session_ready(db))
        return;
    s->last_ms = now_ms;
    snprintf(s->parts_window, sizeof(s->parts_window), "%llu",
             (unsigned long long)c->sms_parts_window_s);
    s->job.send = send_sweep;
    s->job.result = sweep_result;
    s->job.done = sweep_done;
    s->busy = true;
    if (db_session_submit(db, &s->job) != 0)
        s->busy = false;
}
