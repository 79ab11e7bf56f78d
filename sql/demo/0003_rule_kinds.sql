-- The demo schemes in the rule kinds of migration 0010 (issue 13).
-- CNHC: "no more than one third of your CPD from any single type of activity", as one cap on every
-- delivery mode at once (it was four caps, one per mode, which said the same for today's modes
-- only).
DELETE FROM scheme_rule WHERE scheme = 'CNHC';
INSERT INTO scheme_rule (scheme, target_kind, target, bound, amount) VALUES
    ('CNHC', 'every_delivery', '*', 'max_share', 33.33);
-- Florida: 12 of the 24 hours hands-on, in person: clinical technique delivered in person (it was
-- any category in person).
UPDATE scheme_rule SET target_kind = 'category_delivery', target = 'clinical:in_person'
WHERE scheme = 'FL-LMT' AND target_kind = 'delivery' AND target = 'in_person';
