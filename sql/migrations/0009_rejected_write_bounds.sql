-- The rejected-writes log is bounded, so that a client refused in a loop cannot grow it without
-- end: cpdd keeps at most a fixed number of rows per principal per day (the registry's day) and
-- counts the rest in rejected_write_overflow, one row per principal and day; and it deletes rows
-- older than its retention as it writes. Both tables are logs for the nightly report, not records.

CREATE INDEX rejected_write_principal_at ON rejected_write (principal, at);
CREATE INDEX rejected_write_at ON rejected_write (at);

CREATE TABLE rejected_write_overflow (
    day        date NOT NULL,
    principal  text NOT NULL,
    dropped    bigint NOT NULL CHECK (dropped > 0),
    -- The last transaction that counted here: the report shows a row when that one is new to it.
    tx         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (day, principal)
);
CREATE INDEX rejected_write_overflow_tx ON rejected_write_overflow (tx);

GRANT DELETE ON rejected_write TO cpd_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON rejected_write_overflow TO cpd_app;
