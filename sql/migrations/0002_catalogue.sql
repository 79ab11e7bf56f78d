-- The catalogue: providers, and courses with versions. A course's content never changes in place:
-- an update adds a version, and ledger entries point at the version they were earned on.

CREATE TABLE provider (
    code        text PRIMARY KEY CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
    name        text NOT NULL CHECK (name <> ''),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE course (
    code             text PRIMARY KEY CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
    provider         text NOT NULL REFERENCES provider,
    status           text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'retired')),
    current_version  integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX course_provider ON course (provider);

CREATE TABLE course_version (
    course      text NOT NULL REFERENCES course,
    version     integer NOT NULL CHECK (version > 0),
    title       text NOT NULL CHECK (title <> ''),
    summary     text NOT NULL DEFAULT '',
    points      numeric(8,2) NOT NULL CHECK (points > 0),
    hours       numeric(8,2) NOT NULL CHECK (hours >= 0),
    category    text NOT NULL CHECK (category ~ '^[a-z][a-z0-9_]*$'),
    delivery    text NOT NULL CHECK (delivery IN ('in_person', 'online', 'webinar', 'reading')),
    modalities  text[] NOT NULL DEFAULT '{}',
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Full-text search: the title weighs more than the summary.
    search      tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', summary), 'B')
                ) STORED,
    PRIMARY KEY (course, version)
);
CREATE INDEX course_version_search ON course_version USING gin (search);
CREATE INDEX course_version_modalities ON course_version USING gin (modalities);

ALTER TABLE course ADD CONSTRAINT course_current_version_fkey
    FOREIGN KEY (code, current_version) REFERENCES course_version (course, version) DEFERRABLE INITIALLY DEFERRED;

-- What happened to each course and when, for the nightly report's "courses added, updated,
-- published or retired since the last run". Appended, never changed.
CREATE TABLE course_event (
    id           bigserial PRIMARY KEY,
    course       text NOT NULL REFERENCES course,
    event        text NOT NULL CHECK (event IN ('added', 'updated', 'published', 'retired')),
    version      integer NOT NULL,
    recorded_by  text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX course_event_recorded_at ON course_event (recorded_at);
