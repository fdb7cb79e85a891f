-- 0008_app_role: `tipd serve` no longer needs to be the schema's owner.
--
-- Until now intake and triage connected as the owner, which may DROP,
-- ALTER, TRUNCATE or UPDATE anything, switch row-level security off, and
-- rewrite reports that are meant to be append-only. Here the owner keeps
-- only `tipd migrate` and the administration commands (units, staff,
-- tokens, audit verification), and `tipd serve` connects as the role
-- tipd_app, which owns nothing and gets exactly what the server's SQL
-- does, table by table:
--
-- - intake: INSERT reports (and their ids from reports_id_seq, which
--   group commit draws before it claims idempotency keys), idempotency
--   keys, attachments; SELECT what its answers read back;
-- - follow-up by receipt: SELECT reports, their cases and messages, INSERT
--   the reporter's messages;
-- - SMS: the parts of long messages (sms_parts: the sweep locks, marks and
--   deletes them);
-- - staff token lookups: SELECT of tokens' hash, staff and revocation
--   columns, and of staff;
-- - triage: SELECT reports, INSERT decisions, cases and their members and
--   copies, UPDATE cases (report counts, priority, deadlines), its own
--   progress (triage_state, triage_gaps), and the units and queues its
--   rules file names;
-- - `tipd serve`'s start-up check: SELECT schema_migrations.
--
-- Never: UPDATE or DELETE of reports, attachments or idempotency keys
-- (reports stay append-only whatever a bug in tipd's SQL would do), any
-- access to audit_log, writing tokens or staff, DDL. Tables 0006 put under
-- forced row-level security get a policy that lets tipd_app through: it
-- decides for every unit (triage routes across all of them), so its wall
-- is the grants, not a unit. A later migration that adds a table grants
-- tipd_app what the server does with it, here the same way.
--
-- The role is made by whoever administers the cluster (deploy/roles.sql,
-- ./dev), as tipd_staff is.
DO $$
DECLARE
    r pg_roles%ROWTYPE;
BEGIN
    SELECT * INTO r FROM pg_roles WHERE rolname = 'tipd_app';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the role tipd_app does not exist: as a superuser run deploy/roles.sql, or CREATE ROLE tipd_app LOGIN (see deploy/README.md)';
    END IF;
    IF r.rolsuper OR r.rolbypassrls THEN
        RAISE EXCEPTION 'the role tipd_app must not be a superuser or bypass row-level security: ALTER ROLE tipd_app NOSUPERUSER NOBYPASSRLS';
    END IF;
    IF pg_has_role('tipd_app', current_user, 'USAGE') THEN
        RAISE EXCEPTION 'the role tipd_app must not be a member of the owner role %', current_user;
    END IF;
END
$$;

GRANT SELECT ON schema_migrations TO tipd_app;

-- Intake and follow-up.
GRANT SELECT, INSERT ON reports, idempotency_keys, report_messages
    TO tipd_app;
GRANT INSERT ON attachments TO tipd_app;
GRANT USAGE ON SEQUENCE reports_id_seq TO tipd_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON sms_parts TO tipd_app;

-- Staff token lookups (auth.c): the hash, never anything to write.
GRANT SELECT (staff_id, sha256, revoked_at) ON tokens TO tipd_app;
GRANT SELECT ON staff TO tipd_app;

-- Triage.
GRANT SELECT, INSERT ON units, queues, report_triage, case_reports,
    case_copies TO tipd_app;
GRANT SELECT, INSERT, UPDATE ON cases TO tipd_app;
GRANT SELECT, UPDATE ON triage_state TO tipd_app;
GRANT SELECT, INSERT, DELETE ON triage_gaps TO tipd_app;

-- Through forced row-level security: every row, limited to the commands
-- granted above.
CREATE POLICY app_all ON reports TO tipd_app USING (true) WITH CHECK (true);
CREATE POLICY app_all ON report_messages TO tipd_app USING (true) WITH CHECK (true);
CREATE POLICY app_all ON staff TO tipd_app USING (true) WITH CHECK (true);
CREATE POLICY app_all ON queues TO tipd_app USING (true) WITH CHECK (true);
CREATE POLICY app_all ON cases TO tipd_app USING (true) WITH CHECK (true);
CREATE POLICY app_all ON case_reports TO tipd_app USING (true) WITH CHECK (true);
CREATE POLICY app_all ON case_copies TO tipd_app USING (true) WITH CHECK (true);
