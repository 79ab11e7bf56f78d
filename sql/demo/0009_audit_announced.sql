-- An audit in the demo (issue 13): ANTA announced, in November 2025, the audit of half its members'
-- 2025 cycles. Its moment (1 January 2026) has passed, so `audit.draw scheme=ANTA month=2025-12
-- share=50` draws it. Every demo entry was recorded when the demo was seeded, after the moment, so
-- the head at the moment is the empty chain's: of P-1006 and P-1007, the key of P-1006 is the lower.
-- A draw considers the members registered before its moment; the demo's members were registered on
-- the day they joined (the seed files above insert them all at once, today).
UPDATE practitioner SET created_at = joined::timestamp AT TIME ZONE (SELECT time_zone FROM registry);

INSERT INTO audit_sample (scheme, month, moment_day, time_zone, moment, share, announced_by, announced_at)
SELECT 'ANTA', '2025-12-01', '2026-01-01', r.time_zone, ('2026-01-01'::timestamp AT TIME ZONE r.time_zone), 50, 'demo',
       ('2025-11-03'::timestamp AT TIME ZONE r.time_zone)
FROM registry r;
