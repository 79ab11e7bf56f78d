-- Schemes are data: one row and its rules per association (or licence), no code per body.

CREATE TABLE scheme (
    code             text PRIMARY KEY CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
    title            text NOT NULL CHECK (title <> ''),
    period           text NOT NULL CHECK (period IN ('fixed', 'anniversary', 'rolling')),
    length_months    integer NOT NULL CHECK (length_months BETWEEN 1 AND 120),
    -- Fixed periods: the first day of some cycle (for MM-DD starts, that day in the year 2000).
    anchor           date CHECK ((period = 'fixed') = (anchor IS NOT NULL)),
    -- The start as it was given (MM-DD or YYYY-MM-DD), for display.
    start_text       text,
    required         numeric(8,2) NOT NULL CHECK (required > 0),
    carry_over_max   numeric(8,2) CHECK (carry_over_max > 0),
    opening_balance  numeric(8,2) CHECK (opening_balance > 0),
    pro_rata         text NOT NULL DEFAULT 'none' CHECK (pro_rata IN ('none', 'monthly')),
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE scheme_rule (
    id           bigserial PRIMARY KEY,
    scheme       text NOT NULL REFERENCES scheme,
    target_kind  text NOT NULL CHECK (target_kind IN ('category', 'delivery')),
    target       text NOT NULL,
    bound        text NOT NULL CHECK (bound IN ('min', 'max', 'min_share', 'max_share')),
    amount       numeric(8,2) NOT NULL CHECK (amount > 0),
    is_minimum   boolean GENERATED ALWAYS AS (bound IN ('min', 'min_share')) STORED,
    UNIQUE (scheme, target_kind, target, is_minimum)
);

CREATE TABLE scheme_certificate (
    scheme  text NOT NULL REFERENCES scheme,
    kind    text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
    PRIMARY KEY (scheme, kind)
);

CREATE TABLE practitioner (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
    name        text NOT NULL CHECK (name <> ''),
    scheme      text NOT NULL REFERENCES scheme,
    joined      date NOT NULL,
    modalities  text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX practitioner_scheme ON practitioner (scheme);

CREATE TABLE certificate (
    id            bigserial PRIMARY KEY,
    practitioner  text NOT NULL REFERENCES practitioner,
    kind          text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
    issued        date NOT NULL,
    expires       date NOT NULL CHECK (expires > issued),
    ref           text,
    recorded_by   text NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX certificate_practitioner ON certificate (practitioner, kind, expires);
CREATE INDEX certificate_expires ON certificate (expires);
