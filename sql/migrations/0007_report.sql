-- The nightly report: what it needs to say exactly what happened "since the previous run".
--
-- Ledger entries are numbered in commit order (the append trigger's lock), so "since" for them is
-- "id above the previous run's head". Course events and rejected writes have no such order (their
-- ids come from a sequence, and transactions commit in any order), so each row carries the id of
-- the transaction that wrote it, and each run keeps its snapshot: a row is new to a run when its
-- transaction is visible now and was not visible in the previous run's snapshot. A report read
-- from a replica works the same way, since transaction ids are the primary's.

ALTER TABLE course_event ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX course_event_tx ON course_event (tx);

-- Writes cpdd refused (ERR answers to commands that change something), for the report's counts
-- and reasons. Appended by cpdd; the request itself is not kept (it may hold personal data that
-- was wrong), only the command, the error code and the reason given.
CREATE TABLE rejected_write (
    id           bigserial PRIMARY KEY,
    tx           xid8 NOT NULL DEFAULT pg_current_xact_id(),
    at           timestamptz NOT NULL DEFAULT now(),
    command      text NOT NULL,
    code         text NOT NULL,
    reason       text NOT NULL,
    principal    text NOT NULL
);
CREATE INDEX rejected_write_tx ON rejected_write (tx);

-- One row per report made, failed ones too. "The previous successful run" of a report for a date
-- is the newest 'ok' run for an earlier date.
CREATE TABLE report_run (
    id            bigserial PRIMARY KEY,
    report_date   date NOT NULL,
    status        text NOT NULL CHECK (status IN ('ok', 'failed')),
    since_run     bigint REFERENCES report_run,
    -- The last ledger entry the report saw, and the snapshot it read in.
    ledger_head   bigint NOT NULL CHECK (ledger_head >= 0),
    snapshot      pg_snapshot NOT NULL,
    problem       text,
    requested_by  text NOT NULL,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((status = 'failed') = (problem IS NOT NULL))
);
CREATE INDEX report_run_previous ON report_run (report_date, id) WHERE status = 'ok';

GRANT SELECT, INSERT ON rejected_write, report_run TO cpd_app;
GRANT USAGE ON SEQUENCE rejected_write_id_seq, report_run_id_seq TO cpd_app;
