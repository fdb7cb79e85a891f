-- 0007_sms: the parts of long SMS that arrive one callback each (UDH
-- concatenation: a reference, the number of parts and each part's
-- sequence number), kept until the message is whole (spec/reliability.md B4).
--
-- A group is one message of one sender: group_key is
-- '<scope>:<hex of the sender hash>:<reference>:<total>', so the sender's
-- number is no more here than in reports. A part is stored once (a
-- duplicate part changes nothing); when the last one arrives the joined text
-- becomes a report through intake, keyed by the group and the text, so a
-- re-delivered part gets the same receipt. A group still incomplete after
-- sms_parts_window_s becomes a fragment report (missing parts marked), never
-- dropped. joined_at marks a group done; such a group's rows are removed
-- when its reference is used again after the window.
CREATE TABLE sms_parts (
    group_key   text NOT NULL CHECK (length(group_key) BETWEEN 1 AND 300),
    sender_hash bytea NOT NULL CHECK (octet_length(sender_hash) = 32),
    total       smallint NOT NULL CHECK (total BETWEEN 2 AND 255),
    seq         smallint NOT NULL CHECK (seq BETWEEN 1 AND total),
    text        text NOT NULL CHECK (length(text) BETWEEN 1 AND 200),
    received_at timestamptz NOT NULL DEFAULT now(),
    joined_at   timestamptz,
    PRIMARY KEY (group_key, seq)
);
-- The sweep looks only at groups still waiting.
CREATE INDEX sms_parts_waiting ON sms_parts (received_at)
    WHERE joined_at IS NULL;
