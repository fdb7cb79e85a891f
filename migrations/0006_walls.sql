-- 0006_walls: the unit wall again in PostgreSQL (spec/reliability.md F2).
--
-- tipd checks a staff member's unit on every request; this migration makes
-- the database check it a second time, so that a mistake in tipd's SQL, or
-- SQL injected into a staff session, still sees nothing of another unit:
--
-- - Staff requests run as the role tipd_staff: it logs in, owns nothing,
--   is no superuser, cannot bypass row-level security and is no member of
--   the owner. It gets only the privileges case work needs, through row-
--   level security forced on every table that holds case content.
-- - What binds a staff session to a unit is the staff member's own bearer
--   token, set per transaction (set_config('tipd.token', TOKEN, true)).
--   tipd_session_unit() hashes it and looks it up in tokens, which
--   tipd_staff cannot read: SQL on the same connection can bind only to a
--   unit whose raw token it already has (a stored hash does not work,
--   F3), and the binding ends with the transaction.
-- - The owner (who runs migrations, intake and triage) keeps full access
--   through an explicit policy, as FORCE makes policies apply to it too.
--
-- The role is made by whoever administers the cluster (./dev does, and
-- deploy/README.md shows how), because the owner need not be allowed to
-- create roles.
DO $$
DECLARE
    r pg_roles%ROWTYPE;
BEGIN
    SELECT * INTO r FROM pg_roles WHERE rolname = 'tipd_staff';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the role tipd_staff does not exist: as a superuser run CREATE ROLE tipd_staff LOGIN (see deploy/README.md)';
    END IF;
    IF r.rolsuper OR r.rolbypassrls THEN
        RAISE EXCEPTION 'the role tipd_staff must not be a superuser or bypass row-level security: ALTER ROLE tipd_staff NOSUPERUSER NOBYPASSRLS';
    END IF;
    IF pg_has_role('tipd_staff', current_user, 'USAGE') THEN
        RAISE EXCEPTION 'the role tipd_staff must not be a member of the owner role %', current_user;
    END IF;
END
$$;

-- Who a raw token is: its staff member, unit and role, or no row.
-- SECURITY DEFINER: tipd_staff cannot read tokens itself. PL/pgSQL, not
-- SQL, so that each session plans the lookup once: the policies below call
-- it several times per statement.
CREATE FUNCTION tipd_whoami(p_token text)
RETURNS TABLE (staff_id bigint, unit_id text, role text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN QUERY
        SELECT s.id, s.unit_id, s.role FROM tokens t
        JOIN staff s ON s.id = t.staff_id
        WHERE t.sha256 = sha256(convert_to(p_token, 'UTF8'))
          AND t.revoked_at IS NULL;
END
$$;

-- The unit the current transaction is bound to, or NULL: only a staff
-- member or supervisor is bound (an operator or an administrator reads no
-- case content). Policies call it as (SELECT tipd_session_unit()), so it
-- runs once per table a statement reads, not once per row.
CREATE FUNCTION tipd_session_unit()
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_token text := current_setting('tipd.token', true);
BEGIN
    IF v_token IS NULL OR v_token = '' THEN
        RETURN NULL;
    END IF;
    RETURN (SELECT s.unit_id FROM tokens t JOIN staff s ON s.id = t.staff_id
            WHERE t.sha256 = sha256(convert_to(v_token, 'UTF8'))
              AND t.revoked_at IS NULL AND s.role IN ('staff', 'supervisor'));
END
$$;

-- A transfer moves a case to a unit the caller cannot see, which its own
-- UPDATE cannot do (the new row must stay visible): this function does
-- it as the owner, only for a case of the unit the transaction is bound to.
CREATE FUNCTION tipd_transfer_case(p_case bigint, p_to text)
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE cases SET unit_id = p_to, queue = 'default', status = 'new',
        owner_staff_id = NULL, assignee_staff_id = NULL, lease_token = NULL,
        lease_staff_id = NULL, lease_expires_at = NULL, disposition = NULL,
        attempts = 0, updated_at = now()
    WHERE id = p_case AND unit_id = tipd_session_unit() AND unit_id <> p_to
    RETURNING id
$$;

-- The chain needs the newest row of the whole log, which a staff session
-- cannot see: the append runs as the owner. 0005's function keeps the
-- chaining as audit_chain_row; audit_append, which every action calls,
-- first makes sure a staff session appends only in the name of the unit
-- its transaction is bound to, so SQL on it cannot write entries that
-- speak for another unit either.
ALTER FUNCTION audit_append(bigint, text, text, text, bigint, jsonb)
    RENAME TO audit_chain_row;
CREATE FUNCTION audit_append(p_staff bigint, p_unit text, p_role text,
                             p_action text, p_case bigint, p_detail jsonb)
RETURNS bytea LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF session_user = 'tipd_staff' AND p_unit IS DISTINCT FROM tipd_session_unit() THEN
        RAISE EXCEPTION 'a staff session appends audit entries of its own unit only'
            USING ERRCODE = '42501';
    END IF;
    RETURN audit_chain_row(p_staff, p_unit, p_role, p_action, p_case, p_detail);
END
$$;

REVOKE ALL ON FUNCTION tipd_whoami(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION tipd_session_unit() FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_chain_row(bigint, text, text, text, bigint, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION tipd_transfer_case(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_append(bigint, text, text, text, bigint, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tipd_whoami(text), tipd_session_unit(),
    tipd_transfer_case(bigint, text),
    audit_append(bigint, text, text, text, bigint, jsonb) TO tipd_staff;

-- What case work reads and changes; nothing else (not tokens, receipts,
-- idempotency keys, attachments, triage state).
GRANT SELECT ON units TO tipd_staff;
GRANT SELECT ON queues, staff, case_reports, case_copies, reports, audit_log
    TO tipd_staff;
GRANT SELECT, UPDATE ON cases TO tipd_staff;
GRANT SELECT, INSERT ON report_messages TO tipd_staff;

ALTER TABLE cases ENABLE ROW LEVEL SECURITY;
ALTER TABLE cases FORCE ROW LEVEL SECURITY;
ALTER TABLE case_reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_reports FORCE ROW LEVEL SECURITY;
ALTER TABLE case_copies ENABLE ROW LEVEL SECURITY;
ALTER TABLE case_copies FORCE ROW LEVEL SECURITY;
ALTER TABLE reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE reports FORCE ROW LEVEL SECURITY;
ALTER TABLE report_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_messages FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
ALTER TABLE queues ENABLE ROW LEVEL SECURITY;
ALTER TABLE queues FORCE ROW LEVEL SECURITY;
ALTER TABLE staff ENABLE ROW LEVEL SECURITY;
ALTER TABLE staff FORCE ROW LEVEL SECURITY;

-- The owner: everything, as before.
CREATE POLICY owner_all ON cases TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_all ON case_reports TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_all ON case_copies TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_all ON reports TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_all ON report_messages TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_all ON audit_log TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_all ON queues TO CURRENT_USER USING (true) WITH CHECK (true);
CREATE POLICY owner_all ON staff TO CURRENT_USER USING (true) WITH CHECK (true);

-- A unit's cases, and the cases copied to it (read only). An update keeps
-- a case in the unit (a transfer goes through tipd_transfer_case).
CREATE POLICY unit_read ON cases FOR SELECT TO tipd_staff
    USING (unit_id = (SELECT tipd_session_unit())
           OR EXISTS (SELECT 1 FROM case_copies cc WHERE cc.case_id = cases.id));
CREATE POLICY unit_work ON cases FOR UPDATE TO tipd_staff
    USING (unit_id = (SELECT tipd_session_unit()))
    WITH CHECK (unit_id = (SELECT tipd_session_unit()));
CREATE POLICY unit_read ON case_copies FOR SELECT TO tipd_staff
    USING (unit_id = (SELECT tipd_session_unit()));
-- Through the cases the session sees (their policies apply inside these).
CREATE POLICY unit_read ON case_reports FOR SELECT TO tipd_staff
    USING (EXISTS (SELECT 1 FROM cases c WHERE c.id = case_reports.case_id));
CREATE POLICY unit_read ON reports FOR SELECT TO tipd_staff
    USING (EXISTS (SELECT 1 FROM case_reports cr WHERE cr.report_id = reports.id));
CREATE POLICY unit_read ON report_messages FOR SELECT TO tipd_staff
    USING (EXISTS (SELECT 1 FROM reports r WHERE r.id = report_messages.report_id));
CREATE POLICY unit_write ON report_messages FOR INSERT TO tipd_staff
    WITH CHECK (author = 'staff' AND EXISTS (SELECT 1 FROM reports r
                                             WHERE r.id = report_messages.report_id));
-- The unit's trail, and the history of the cases it now holds.
CREATE POLICY unit_read ON audit_log FOR SELECT TO tipd_staff
    USING (unit_id = (SELECT tipd_session_unit())
           OR EXISTS (SELECT 1 FROM cases c WHERE c.id = audit_log.case_id));
CREATE POLICY unit_read ON queues FOR SELECT TO tipd_staff
    USING (unit_id = (SELECT tipd_session_unit()));
CREATE POLICY unit_read ON staff FOR SELECT TO tipd_staff
    USING (unit_id = (SELECT tipd_session_unit()));
