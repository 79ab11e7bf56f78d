-- Audits (issue 13): each cycle an association audits a sample of a scheme's members. The sample
-- is drawn from a seed nobody chooses: the ledger's head at a stated moment after the cycle closes
-- (the hash the first entry recorded at or after that moment chains to). Every member considered is
-- kept with the key that ranked them, so anyone can derive the sample again (docs/rules.md, Audits).

CREATE TABLE audit_sample (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scheme        text NOT NULL REFERENCES scheme,
    -- The day the admin named: each member's cycle that holds it is the one audited.
    cycle_day     date NOT NULL,
    -- The start of the day after the last of those cycles ends, in the registry's time zone.
    moment        timestamptz NOT NULL,
    share         numeric(5,2) NOT NULL CHECK (share > 0 AND share <= 100),
    -- The ledger's head at the moment: its last entry's id (0 when there was none) and hash (hex).
    head_entry    bigint NOT NULL CHECK (head_entry >= 0),
    seed          text NOT NULL CHECK (seed ~ '^[0-9a-f]{64}$'),
    considered    integer NOT NULL CHECK (considered >= 0),
    selected      integer NOT NULL CHECK (selected >= 0 AND selected <= considered),
    drawn_by      text NOT NULL,
    drawn_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (scheme, moment)
);

-- Every member the draw considered, the key that ranked them (SHA-256 of "seed:practitioner", hex),
-- and what became of them: selected, not selected, or skipped (an exemption open at the moment, or
-- that cycle audited already by an earlier sample).
CREATE TABLE audit_draw (
    sample        bigint NOT NULL REFERENCES audit_sample,
    practitioner  text NOT NULL REFERENCES practitioner,
    cycle_start   date NOT NULL,
    cycle_end     date NOT NULL CHECK (cycle_end >= cycle_start),
    draw_key      text NOT NULL CHECK (draw_key ~ '^[0-9a-f]{64}$'),
    outcome       text NOT NULL CHECK (outcome IN ('selected', 'not_selected', 'exempt', 'audited')),
    PRIMARY KEY (sample, practitioner)
);

CREATE TABLE audit (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sample          bigint NOT NULL REFERENCES audit_sample,
    practitioner    text NOT NULL REFERENCES practitioner,
    cycle_start     date NOT NULL,
    cycle_end       date NOT NULL CHECK (cycle_end >= cycle_start),
    state           text NOT NULL CHECK (state IN ('selected', 'requested', 'submitted', 'reviewed', 'passed', 'failed', 'exempt')),
    due             date,
    -- A request from the member waiting for an admin's answer.
    pending         text CHECK (pending IN ('extension', 'exemption')),
    pending_until   date,
    pending_reason  text,
    -- The kind and decision of the last request answered, so that a retried answer is known.
    last_answer     text,
    -- An exemption granted: it is open from the day it was granted to `exempt_until`.
    exempt_from     date,
    exempt_until    date CHECK (exempt_until >= exempt_from),
    decided         date,
    note            text,
    CHECK ((pending IS NULL) = (pending_until IS NULL) AND (pending IS NULL) = (pending_reason IS NULL)),
    CHECK (state IN ('selected') OR due IS NOT NULL OR state = 'exempt'),
    CHECK ((state IN ('passed', 'failed', 'exempt')) = (decided IS NOT NULL)),
    CHECK ((state = 'exempt') = (exempt_from IS NOT NULL)),
    -- A member's cycle is audited once.
    UNIQUE (practitioner, cycle_start)
);
CREATE INDEX audit_sample_members ON audit (sample);

-- Evidence: what the member supplied, as a description and the SHA-256 of the file, which a
-- reviewer checks against the file itself. The file stays with the member.
CREATE TABLE audit_evidence (
    audit         bigint NOT NULL REFERENCES audit,
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    description   text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
    submitted     date NOT NULL,
    submitted_by  text NOT NULL,
    PRIMARY KEY (audit, sha256)
);

-- Each step of an audit's life, in order; the nightly report lists decisions since its last run.
CREATE TABLE audit_event (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    audit     bigint NOT NULL REFERENCES audit,
    event     text NOT NULL,
    day       date NOT NULL,
    by_whom   text NOT NULL,
    detail    text,
    at        timestamptz NOT NULL DEFAULT now(),
    tx        xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX audit_event_audit ON audit_event (audit, id);
CREATE INDEX audit_event_tx ON audit_event (tx);

GRANT SELECT, INSERT ON audit_sample, audit_draw, audit, audit_evidence, audit_event TO cpd_app;
GRANT UPDATE (state, due, pending, pending_until, pending_reason, last_answer, exempt_from, exempt_until, decided, note) ON audit TO cpd_app;
