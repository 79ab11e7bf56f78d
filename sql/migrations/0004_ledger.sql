-- The ledger: every change of points is an appended entry. Nothing is updated or deleted (the
-- triggers below refuse it, and the application role has no such privilege). Each entry carries a
-- SHA-256 over its content and the previous entry's hash, so a changed row breaks the chain.

CREATE TABLE ledger_entry (
    id               bigint PRIMARY KEY,
    practitioner     text NOT NULL REFERENCES practitioner,
    kind             text NOT NULL CHECK (kind IN ('completion', 'reversal', 'adjustment', 'opening_balance', 'carry_over')),
    points           numeric(10,2) NOT NULL CHECK (points <> 0),
    -- The day the points were earned: the completion date; for a reversal, its entry's day.
    effective        date NOT NULL,
    course           text,
    course_version   integer,
    category         text,
    delivery         text CHECK (delivery IN ('in_person', 'online', 'webinar', 'reading')),
    reverses         bigint UNIQUE REFERENCES ledger_entry (id),
    reason           text,
    recorded_by      text NOT NULL,
    recorded_at      timestamptz NOT NULL,
    -- Idempotency: the sender's key, and the request it came with. The same key with the same request
    -- is answered again from this row; with another request it is a conflict.
    idempotency_key  text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    request          text NOT NULL,
    prev_hash        bytea NOT NULL,
    hash             bytea NOT NULL,
    FOREIGN KEY (course, course_version) REFERENCES course_version (course, version),
    UNIQUE (recorded_by, idempotency_key),
    CHECK (kind <> 'completion' OR course IS NOT NULL),
    CHECK (course IS NULL OR kind IN ('completion', 'reversal')),
    CHECK ((kind = 'reversal') = (reverses IS NOT NULL)),
    CHECK (kind NOT IN ('reversal', 'adjustment') OR reason IS NOT NULL)
);
CREATE INDEX ledger_entry_practitioner ON ledger_entry (practitioner, effective);
CREATE INDEX ledger_entry_recorded_at ON ledger_entry (recorded_at);

-- The content an entry's hash covers, as one canonical JSON text (no setting such as DateStyle
-- changes it, so verification gives the same answer from any session).
CREATE FUNCTION ledger_entry_digest(e ledger_entry) RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT sha256(e.prev_hash || convert_to(json_build_array(
        e.id, e.practitioner, e.kind, e.points::text, to_char(e.effective, 'YYYY-MM-DD'), e.course, e.course_version,
        e.category, e.delivery, e.reverses, e.reason, e.recorded_by,
        to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        e.idempotency_key, e.request)::text, 'UTF8'))
$$;

-- Appends in one serial order whatever the number of writers (several cpdd on one database):
-- an advisory lock held to the end of the transaction orders the appenders, the entry takes the
-- next id after the last one and chains to its hash. Under READ COMMITTED each statement here sees
-- what the previous holder of the lock committed; a stricter isolation would not, so it is refused.
CREATE FUNCTION ledger_entry_append() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_id    bigint;
    last_hash  bytea;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'ledger entries are appended under READ COMMITTED, not %', current_setting('transaction_isolation')
            USING ERRCODE = '25001';
    END IF;
    PERFORM pg_advisory_xact_lock(7366231894375491);
    SELECT id, hash INTO last_id, last_hash FROM ledger_entry ORDER BY id DESC LIMIT 1;
    NEW.id := coalesce(last_id, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
    NEW.recorded_at := now();
    NEW.hash := ledger_entry_digest(NEW);
    RETURN NEW;
END
$$;

CREATE TRIGGER ledger_entry_append BEFORE INSERT ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_append();

CREATE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'CP001', HINT = 'append a reversal or an adjustment instead';
END
$$;

CREATE TRIGGER ledger_entry_no_update_or_delete BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Recomputes the chain in id order; returns the first entry whose id, link or hash is wrong (no
-- row when the chain holds).
CREATE FUNCTION ledger_first_break() RETURNS TABLE (id bigint, problem text)
LANGUAGE sql STABLE AS $$
    SELECT e.id,
           CASE WHEN e.id <> e.expected_id THEN 'entry ' || e.expected_id || ' is missing'
                WHEN e.prev_hash <> e.expected_prev THEN 'its link to the previous entry does not match'
                ELSE 'its content does not match its hash' END
    FROM (
        SELECT l.id, l.prev_hash, l.hash, ledger_entry_digest(l) AS digest,
               row_number() OVER (ORDER BY l.id) AS expected_id,
               coalesce(lag(l.hash) OVER (ORDER BY l.id), '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) AS expected_prev
        FROM ledger_entry l
    ) e
    WHERE e.id <> e.expected_id OR e.prev_hash <> e.expected_prev OR e.hash <> e.digest
    ORDER BY e.id
    LIMIT 1
$$;
