-- Who may do what: a Unix account (by uid or by user name) mapped to a role. Root and the account
-- cpdd runs as are always admin and need no row here.
CREATE TABLE principal (
    id            bigserial PRIMARY KEY,
    uid           integer UNIQUE CHECK (uid >= 0),
    user_name     text UNIQUE CHECK (user_name ~ '^[a-z_][a-z0-9_.-]{0,31}\$?$'),
    role          text NOT NULL CHECK (role IN ('admin', 'provider', 'practitioner', 'reporter')),
    provider      text REFERENCES provider,
    practitioner  text REFERENCES practitioner,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((uid IS NULL) <> (user_name IS NULL)),
    CHECK ((role = 'provider') = (provider IS NOT NULL)),
    CHECK ((role = 'practitioner') = (practitioner IS NOT NULL))
);

GRANT SELECT, INSERT, DELETE ON principal TO cpd_app;
GRANT USAGE ON SEQUENCE principal_id_seq TO cpd_app;
