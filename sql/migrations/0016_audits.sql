-- Audits (issue 13): each cycle an association audits a sample of a scheme's members. An audit
-- covers the cycles that end in one month. Its share is announced before the month begins; the
-- sample is drawn after the month, from a seed nobody chooses: the ledger's head at the moment the next month
-- begins (the hash the first entry recorded from then on chains to). Every member considered is kept
-- with the key that ranked them, so anyone can derive the sample again (docs/rules.md, Audits).

CREATE TABLE audit_sample (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scheme        text NOT NULL REFERENCES scheme,
    -- The month whose cycle ends are audited, as its first day.
    month         date NOT NULL CHECK (extract(day FROM month) = 1),
    -- The start of the next month in the registry's time zone when announced: the seed's moment.
    moment_day    date NOT NULL,
    time_zone     text NOT NULL,
    moment        timestamptz NOT NULL,
    share         numeric(5,2) NOT NULL CHECK (share > 0 AND share <= 100),
    announced_by  text NOT NULL,
    announced_at  timestamptz NOT NULL DEFAULT now(),
    -- Once drawn: the ledger's head at the moment (its last entry's id, 0 when there was none, and
    -- that entry's hash in hex), the members considered, those eligible (not skipped), those selected.
    drawn_by      text,
    drawn_at      timestamptz,
    head_entry    bigint CHECK (head_entry >= 0),
    seed          text CHECK (seed ~ '^[0-9a-f]{64}$'),
    considered    integer CHECK (considered >= 0),
    eligible      integer CHECK (eligible >= 0 AND eligible <= considered),
    selected      integer CHECK (selected >= 0 AND selected <= eligible),
    CHECK ((drawn_at IS NULL) = (seed IS NULL) AND (drawn_at IS NULL) = (head_entry IS NULL) AND (drawn_at IS NULL) = (drawn_by IS NULL)
           AND (drawn_at IS NULL) = (considered IS NULL) AND (drawn_at IS NULL) = (eligible IS NULL) AND (drawn_at IS NULL) = (selected IS NULL)),
    UNIQUE (scheme, month)
);

-- Every member the draw considered, the key that ranked them (SHA-256 of "seed:practitioner", hex),
-- and what became of them: selected, not selected, or skipped (an exemption open on a day of the
-- cycle and granted before the moment; or, in a rolling scheme, a window overlapping one drawn before).
CREATE TABLE audit_draw (
    sample        bigint NOT NULL REFERENCES audit_sample,
    practitioner  text NOT NULL REFERENCES practitioner,
    cycle_start   date NOT NULL,
    cycle_end     date NOT NULL CHECK (cycle_end >= cycle_start),
    draw_key      text NOT NULL CHECK (draw_key ~ '^[0-9a-f]{64}$'),
    outcome       text NOT NULL CHECK (outcome IN ('selected', 'not_selected', 'exempt', 'drawn_before')),
    PRIMARY KEY (sample, practitioner)
);
CREATE INDEX audit_draw_member ON audit_draw (practitioner, cycle_end);

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
GRANT UPDATE (drawn_by, drawn_at, head_entry, seed, considered, eligible, selected) ON audit_sample TO cpd_app;
GRANT UPDATE (state, due, pending, pending_until, pending_reason, exempt_from, exempt_until, decided, note) ON audit TO cpd_app;
