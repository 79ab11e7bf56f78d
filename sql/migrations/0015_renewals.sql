-- Renewals (issue 13): a member renews (declares) each closed cycle of a scheme that takes
-- renewals, within the scheme's days after the cycle's end; the registry approves. What a late
-- renewal costs is the scheme's: nothing, the carry-over into the next cycle (CMA), or every
-- activity in the next cycle dated before the approval (NCBTMB).
ALTER TABLE scheme ADD COLUMN renewal_due_days integer CHECK (renewal_due_days BETWEEN 0 AND 365);
ALTER TABLE scheme ADD COLUMN late_renewal text NOT NULL DEFAULT 'none'
    CHECK (late_renewal IN ('none', 'forfeit_carry_over', 'count_after_approval'));
ALTER TABLE scheme ADD CONSTRAINT scheme_late_renewal_needs_a_due_date CHECK (late_renewal = 'none' OR renewal_due_days IS NOT NULL);
-- A rolling period has no cycles to renew.
ALTER TABLE scheme ADD CONSTRAINT scheme_renewals_need_cycles CHECK (renewal_due_days IS NULL OR period <> 'rolling');

CREATE TABLE renewal (
    practitioner  text NOT NULL REFERENCES practitioner,
    cycle_start   date NOT NULL,
    cycle_end     date NOT NULL CHECK (cycle_end >= cycle_start),
    -- A cycle is renewed from its last day on.
    submitted     date NOT NULL CHECK (submitted >= cycle_end),
    submitted_by  text NOT NULL,
    approved      date CHECK (approved >= submitted),
    approved_by   text,
    CHECK ((approved IS NULL) = (approved_by IS NULL)),
    PRIMARY KEY (practitioner, cycle_start)
);

GRANT SELECT, INSERT ON renewal TO cpd_app;
GRANT UPDATE (approved, approved_by) ON renewal TO cpd_app;
