-- 0004_triage: what triage decides about each committed report, and the
-- cases (problem clues) it opens in the units' queues (spec/triage.md).
--
-- The triage worker (server/triage_worker.c) writes every table here, one
-- transaction per batch of reports: the decisions, the new cases, the
-- duplicates joining earlier cases, the copies to parent units and its own
-- progress commit together or not at all, so a crash between steps never
-- loses or duplicates a case. `reports` is not touched: intake's hot path
-- keeps its two indexes and no trigger; the report ids below carry no
-- foreign key on purpose (each check would lock the report's row, writing
-- to the table intake appends to).

CREATE TYPE triage_priority AS ENUM ('low', 'normal', 'high', 'urgent');

-- One row per triaged report: the decision as triage made it. The primary
-- key is what makes triage exactly-once: a report is decided in the same
-- transaction that writes this row, so a second decision cannot commit.
CREATE TABLE report_triage (
    report_id         bigint PRIMARY KEY,
    -- The cluster: id of the first report of its duplicate group (the
    -- report itself when it has no earlier duplicate).
    cluster_report_id bigint NOT NULL,
    -- "<region>/<accused name>" (spec/triage.md section 3), or NULL.
    accused_key       text,
    unit_id           text NOT NULL REFERENCES units (id),
    category          text NOT NULL,
    queue             text NOT NULL,
    priority          triage_priority NOT NULL,
    copies            text[] NOT NULL DEFAULT '{}',
    -- Names of the rules that applied, in order.
    rules             text[] NOT NULL DEFAULT '{}',
    cluster_size      integer NOT NULL CHECK (cluster_size >= 1),
    accused_reports   integer NOT NULL CHECK (accused_reports >= 0),
    decided_at        timestamptz NOT NULL DEFAULT now()
);
-- No other index: the worker writes a row per report at intake's rate, and
-- the questions staff ask (a case's reports, the cases of one accused) are
-- answered by case_reports and cases.

-- A case: one per duplicate cluster. Its first report opens it in the
-- routed unit's queue; later duplicates join it (report_count grows),
-- raising its priority and bringing its deadline forward if theirs are
-- more pressing. Issue 5 adds the staff workflow (claims, dispositions,
-- transfers): status takes more values then, and a case is open until
-- closed_at is set, whatever its status.
CREATE TABLE cases (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cluster_report_id bigint NOT NULL UNIQUE,
    unit_id           text NOT NULL,
    queue             text NOT NULL,
    priority          triage_priority NOT NULL,
    category          text NOT NULL,
    accused_key       text,
    report_count      integer NOT NULL DEFAULT 1 CHECK (report_count >= 1),
    status            text NOT NULL DEFAULT 'new'
                      CHECK (status IN ('new')),
    -- The end of the last working day allowed (Beijing time), counted in
    -- Chinese working days from the first report's received day.
    due_at            timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    closed_at         timestamptz,
    FOREIGN KEY (unit_id, queue) REFERENCES queues (unit_id, name)
);
-- A unit's open cases, queue by queue, most pressing first.
CREATE INDEX cases_open_queue ON cases (unit_id, queue, priority DESC, due_at)
    WHERE closed_at IS NULL;
-- Overdue open cases across units (listings and metrics).
CREATE INDEX cases_open_due ON cases (due_at) WHERE closed_at IS NULL;
-- Reports on the same accused that are not duplicates open their own cases,
-- each showing the others.
CREATE INDEX cases_accused ON cases (accused_key) WHERE accused_key IS NOT NULL;

-- The reports of each case: its first report and every duplicate.
CREATE TABLE case_reports (
    case_id   bigint NOT NULL REFERENCES cases (id),
    report_id bigint NOT NULL UNIQUE,
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, report_id)
);

-- Copies: a case also queued at another unit (rules' copy_to "parent",
-- spec/triage.md section 4, rule 5).
CREATE TABLE case_copies (
    case_id    bigint NOT NULL REFERENCES cases (id),
    unit_id    text NOT NULL REFERENCES units (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, unit_id)
);
CREATE INDEX case_copies_unit ON case_copies (unit_id, case_id);

-- The triage worker's progress, one row. Every report id at or below
-- watermark is triaged, or was never committed, or waits in triage_gaps.
-- generation counts committed batches and batch names the last one (its
-- worker and number): a worker that lost its connection (and so its
-- advisory lock, maybe to another node) reads them to learn whether its
-- last batch committed and whether its memory is current.
CREATE TABLE triage_state (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    watermark  bigint NOT NULL DEFAULT 0,
    generation bigint NOT NULL DEFAULT 0,
    batch      text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO triage_state DEFAULT VALUES;

-- Report ids the watermark passed while a transaction that may hold them
-- was still open (longer than triage_gap_timeout_ms): each is looked for
-- again on every poll, so a report that commits late is still triaged, and
-- forgotten once every transaction open when it was first missed has ended.
CREATE TABLE triage_gaps (
    report_id  bigint PRIMARY KEY,
    first_seen timestamptz NOT NULL
);
