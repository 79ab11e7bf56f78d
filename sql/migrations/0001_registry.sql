-- The registry itself: one row naming whose registry this is and the time zone in which "today"
-- is reckoned (a completion dated today in Perth is not yet today in UTC).
-- Migrations run inside a transaction each: no BEGIN/COMMIT here, and no CREATE INDEX CONCURRENTLY.
CREATE TABLE registry (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    name       text NOT NULL CHECK (name <> ''),
    time_zone  text NOT NULL DEFAULT 'UTC' CHECK (time_zone <> '')
);

INSERT INTO registry (name) VALUES ('CPD registry');
