-- 0001_init: the first schema. Units (discipline-inspection commissions) and
-- their queues, reports with their receipts' hashes, and idempotency keys. Later migrations
-- extend it; a released migration is never edited (tipd checks its SHA-256).

-- A unit is identified by its GB/T 2260 region code (410105 is a county,
-- 410100 a city, 410000 a province).
CREATE TABLE units (
    id         text PRIMARY KEY CHECK (id ~ '^[0-9]{6}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    level      text NOT NULL CHECK (level IN ('province', 'city', 'county')),
    parent_id  text REFERENCES units (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Every unit has at least 'default' and 'review'; rules may name more.
CREATE TABLE queues (
    unit_id text NOT NULL REFERENCES units (id),
    name    text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,31}$'),
    PRIMARY KEY (unit_id, name)
);

CREATE TYPE report_channel AS ENUM ('web', 'sms', 'phone', 'letter', 'visit');

-- Reports are append-only: intake inserts them and nothing rewrites them;
-- triage and case work keep their decisions in their own tables. Intake is
-- the hot path, so the table carries only the indexes it needs: the key,
-- and the receipt's hash (follow-up lookups). Receipt codes are never
-- stored: only HMAC(receipt key, code), so a copy of the database opens
-- nobody's follow-up.
CREATE TABLE reports (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel          report_channel NOT NULL,
    -- When the report came in: the call, the postmark, the SMS, the POST.
    received_at      timestamptz NOT NULL,
    stored_at        timestamptz NOT NULL DEFAULT now(),
    receipt_hash     bytea NOT NULL UNIQUE CHECK (octet_length(receipt_hash) = 32),
    content          text NOT NULL CHECK (length(content) BETWEEN 1 AND 20000),
    region           text CHECK (region ~ '^[0-9]{6}$'),
    accused_name     text CHECK (length(accused_name) <= 100),
    accused_unit     text CHECK (length(accused_unit) <= 200),
    accused_position text CHECK (length(accused_position) <= 100),
    accused_rank     text CHECK (length(accused_rank) <= 50),
    category_hint    text CHECK (length(category_hint) <= 50),
    real_name        boolean NOT NULL DEFAULT false,
    -- A real-name reporter's name and contact; never for anonymous ones.
    reporter         jsonb CHECK (real_name OR reporter IS NULL),
    -- Keyed hash of an SMS sender's number; the number is never stored.
    sender_hash      bytea CHECK (octet_length(sender_hash) = 32),
    -- Staff intake: the call id or letter registration number.
    external_id      text CHECK (length(external_id) <= 200)
);

-- A retried request (same scope and key) gets the first answer instead of
-- a second report. The scope keeps channels apart: 'web', 'kannel:<smsc>',
-- 'twilio', 'generic', 'staff:<unit>'. report_id has no foreign key on
-- purpose: intake writes the key and its report in one statement, and the
-- per-row check would cost the hot path a lookup and a row lock.
CREATE TABLE idempotency_keys (
    scope          text NOT NULL CHECK (length(scope) BETWEEN 1 AND 100),
    key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    -- Of the request, so that a key reused for another request is refused.
    request_sha256 bytea NOT NULL CHECK (octet_length(request_sha256) = 32),
    report_id      bigint NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- The conversation a reporter sees through the receipt code: staff
-- questions and answers, and what the reporter adds later.
CREATE TABLE report_messages (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id  bigint NOT NULL REFERENCES reports (id),
    author     text NOT NULL CHECK (author IN ('reporter', 'staff')),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX report_messages_report ON report_messages (report_id, id);
