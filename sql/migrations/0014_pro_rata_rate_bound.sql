-- A rate per month is at most the full requirement, as cpdd checks before it writes one: a row
-- edited by hand past it would make the scheme unreadable to cpdd.
ALTER TABLE scheme ADD CONSTRAINT scheme_pro_rata_rate_bound CHECK (pro_rata_rate IS NULL OR pro_rata_rate <= required);
