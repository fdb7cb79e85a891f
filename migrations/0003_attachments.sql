-- 0003_attachments: files sent with a web report (photos of documents,
-- recordings), stored in the same transaction as their report, so an
-- aborted upload leaves nothing: the body is held in memory until it is
-- whole, and only a whole, valid request reaches the database.
CREATE TABLE attachments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id    bigint NOT NULL REFERENCES reports (id),
    filename     text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    content_type text CHECK (length(content_type) <= 255),
    data         bytea NOT NULL
);
CREATE INDEX attachments_report ON attachments (report_id);
