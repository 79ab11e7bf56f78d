-- The demo's US licences as their boards count (issue 13): NCBTMB counts hours of 50 minutes,
-- in whole and half hours; Florida counts hours of 50 minutes, and asks a first renewal for one
-- hour per month or part of a month licensed. Entries already recorded keep their worth.
UPDATE scheme SET unit = 'hours', minutes_per_hour = 50, hour_rounding = 'half' WHERE code = 'NCBTMB';
UPDATE scheme SET unit = 'hours', minutes_per_hour = 50, hour_rounding = 'hundredth', pro_rata = 'per_month', pro_rata_rate = 1
WHERE code = 'FL-LMT';
