-- Hours from minutes (issue 13): a course version may give its length in minutes, and a scheme may
-- count hours of its own length (NCBTMB and Florida count a 50-minute hour), rounded down to the
-- hundredth, the half or the whole hour. A completion's credit under its member's scheme is
-- computed when it is recorded and kept in the entry's points, beside the course version.
ALTER TABLE course_version ADD COLUMN minutes integer CHECK (minutes BETWEEN 1 AND 60000);
ALTER TABLE scheme ADD COLUMN unit text NOT NULL DEFAULT 'points' CHECK (unit IN ('points', 'hours'));
ALTER TABLE scheme ADD COLUMN minutes_per_hour integer CHECK (minutes_per_hour BETWEEN 1 AND 120);
ALTER TABLE scheme ADD COLUMN hour_rounding text CHECK (hour_rounding IN ('hundredth', 'half', 'whole'));
ALTER TABLE scheme ADD CONSTRAINT scheme_hours_are_defined
    CHECK ((unit = 'hours') = (minutes_per_hour IS NOT NULL AND hour_rounding IS NOT NULL)
           AND (minutes_per_hour IS NULL) = (hour_rounding IS NULL));
