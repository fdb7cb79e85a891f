-- 0005_casework: staff work on cases (issue 5): leases, first
-- responsibility, dispositions, transfers, and the audit log.
--
-- A case's status is its place in the workflow:
--
--   new --claim--> leased --disposition talk_inquiry, preliminary_verification--> working
--    ^               |  \--disposition hold--> held      (owner's list, open)
--    |               |   \--disposition close, file_case--> closed
--    +-- release, lease expired (claimable again), transfer (to another unit)
--   leased, lease expired for the max_attempts-th time --> parked (dead letter)
--
-- A lease has a token: an action that does not carry the current token (a
-- client that stalled while its lease ran out and was granted to someone
-- else) is refused. The first staff member to claim a case, or the one a
-- supervisor assigns it to, is its owner (首问负责) until it is transferred
-- or closed; an assigned case is claimed only by its assignee, through
-- their own queue ("mine"), ahead of the unit's queues.

ALTER TABLE cases DROP CONSTRAINT cases_status_check;
ALTER TABLE cases ADD CONSTRAINT cases_status_check
    CHECK (status IN ('new', 'leased', 'working', 'held', 'parked', 'closed'));
ALTER TABLE cases
    ADD COLUMN owner_staff_id   bigint REFERENCES staff (id),
    -- Assigned by a supervisor to a named member (承办人): the case waits
    -- in that member's own queue, out of everyone else's claims.
    ADD COLUMN assignee_staff_id bigint REFERENCES staff (id),
    ADD COLUMN lease_staff_id   bigint REFERENCES staff (id),
    ADD COLUMN lease_token      uuid,
    ADD COLUMN lease_expires_at timestamptz,
    -- Leases granted; at cases' max_attempts with the last one expired the
    -- case is parked instead of going back to the queue.
    ADD COLUMN attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- One of its reports came from a real-name reporter: first within its
    -- priority (the rules on handling reports answer them first).
    ADD COLUMN real_name        boolean NOT NULL DEFAULT false,
    ADD COLUMN disposition      text CHECK (disposition IN (
        'talk_inquiry', 'preliminary_verification', 'hold', 'close',
        'file_case')),
    ADD CONSTRAINT cases_lease_whole CHECK (
        (status = 'leased') = (lease_token IS NOT NULL AND
                               lease_staff_id IS NOT NULL AND
                               lease_expires_at IS NOT NULL));

-- What a claim scans: a unit's queue of unleased cases, most pressing
-- first, and its leases by expiry (those run out go back or are parked).
-- Two partial indexes, so that a claim never walks past cases leased to
-- others.
CREATE INDEX cases_claimable ON cases (unit_id, queue, priority DESC,
                                       real_name DESC, due_at, id)
    WHERE status = 'new';
CREATE INDEX cases_leases ON cases (unit_id, queue, lease_expires_at)
    WHERE status = 'leased';
-- A member's own queue: the open cases assigned to them.
CREATE INDEX cases_assigned ON cases (assignee_staff_id, priority DESC,
                                      real_name DESC, due_at, id)
    WHERE assignee_staff_id IS NOT NULL AND closed_at IS NULL;

-- The audit log: every case read and every action, append-only, one hash
-- chain. Each row's hash is SHA-256 of the previous row's hash and the
-- row's own fields written as text (audit_row_text), so an edited row, a
-- deleted row or a deleted tail (against an exported head) breaks the
-- chain; `tipd audit verify` recomputes it outside the database.
CREATE TABLE audit_log (
    id        bigint PRIMARY KEY,
    at_us     bigint NOT NULL, -- microseconds since 1970-01-01 UTC
    staff_id  bigint,
    unit_id   text,
    role      text,
    action    text NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
    case_id   bigint,
    detail    jsonb NOT NULL DEFAULT '{}',
    prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash      bytea NOT NULL UNIQUE CHECK (octet_length(hash) = 32)
);
CREATE INDEX audit_log_case ON audit_log (case_id, id) WHERE case_id IS NOT NULL;
CREATE INDEX audit_log_unit ON audit_log (unit_id, id);

-- The text a row's hash covers; NULL fields are empty, fields are joined
-- by '|'. tipd's verifier builds the same text from the same columns.
CREATE FUNCTION audit_row_text(id bigint, at_us bigint, staff_id bigint,
                               unit_id text, role text, action text,
                               case_id bigint, detail jsonb)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT id::text || '|' || at_us::text || '|' ||
           coalesce(staff_id::text, '') || '|' || coalesce(unit_id, '') ||
           '|' || coalesce(role, '') || '|' || action || '|' ||
           coalesce(case_id::text, '') || '|' || detail::text
$$;

-- Appends one row. Appends are serialised by a transaction-level advisory
-- lock, so two writers never chain onto the same predecessor (no fork);
-- callers append last in their transaction to hold the lock only for the
-- commit.
CREATE FUNCTION audit_append(p_staff bigint, p_unit text, p_role text,
                             p_action text, p_case bigint, p_detail jsonb)
RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    v_prev  bytea;
    v_id    bigint;
    v_at    bigint := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
    v_hash  bytea;
BEGIN
    PERFORM pg_advisory_xact_lock(7361002);
    SELECT id, hash INTO v_id, v_prev FROM audit_log ORDER BY id DESC LIMIT 1;
    v_id := coalesce(v_id, 0) + 1;
    v_prev := coalesce(v_prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
    v_hash := sha256(v_prev || convert_to(audit_row_text(v_id, v_at, p_staff,
        p_unit, p_role, p_action, p_case, coalesce(p_detail, '{}')), 'UTF8'));
    INSERT INTO audit_log (id, at_us, staff_id, unit_id, role, action,
                           case_id, detail, prev_hash, hash)
    VALUES (v_id, v_at, p_staff, p_unit, p_role, p_action, p_case,
            coalesce(p_detail, '{}'), v_prev, v_hash);
    RETURN v_hash;
END
$$;

-- Append-only: no UPDATE or DELETE through any role that does not first
-- drop this trigger (and a dropped trigger does not mend the chain).
CREATE FUNCTION audit_log_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_immutable();
