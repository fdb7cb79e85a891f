-- 0002_staff: the people who work cases and enter phone calls and letters,
-- and their bearer tokens. A token is shown once when created and stored
-- only as its SHA-256, so a copy of this table opens nothing
-- (spec/reliability.md F3).

CREATE TABLE staff (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    unit_id    text NOT NULL REFERENCES units (id),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- operator: enters phone and letter reports; staff: works the unit's
    -- cases; supervisor: also the unit's audit trail and statistics;
    -- admin: units, staff and tokens, no case content.
    role       text NOT NULL CHECK (role IN ('operator', 'staff',
                                             'supervisor', 'admin')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (unit_id, name)
);

CREATE TABLE tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id   bigint NOT NULL REFERENCES staff (id),
    sha256     bytea NOT NULL UNIQUE CHECK (octet_length(sha256) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
