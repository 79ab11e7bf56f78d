-- A first, partial cycle pro-rated at a rate per month or part of a month (issue 13; Florida's
-- first renewal: one hour per month or part of a month licensed), beside the share of the
-- requirement that 'monthly' asks for.
ALTER TABLE scheme DROP CONSTRAINT scheme_pro_rata_check;
ALTER TABLE scheme ADD COLUMN pro_rata_rate numeric(8,2) CHECK (pro_rata_rate > 0);
ALTER TABLE scheme ADD CONSTRAINT scheme_pro_rata_check
    CHECK (pro_rata IN ('none', 'monthly') AND pro_rata_rate IS NULL OR pro_rata = 'per_month' AND pro_rata_rate IS NOT NULL);
