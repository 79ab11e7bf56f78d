-- The rest of two bodies' rules (issue 13). Florida's licence asks, within its 24 hours, for 2 hours
-- on the prevention of medical errors, 2 on Florida's laws and rules and 1 on human trafficking,
-- beside 2 of ethics and 12 hands-on; every minimum applies in a first, pro-rata cycle too.
-- CNHC asks 10 of its 15 hours in the registrant's own discipline: a minimum on courses in the
-- member's accredited modalities (for a registrant of one discipline; one of two disciplines would
-- need 10 in each, which a single rule on the member's modalities does not say).
INSERT INTO scheme_rule (scheme, target_kind, target, bound, amount) VALUES
    ('FL-LMT', 'category', 'medical_errors', 'min', 2),
    ('FL-LMT', 'category', 'laws_and_rules', 'min', 2),
    ('FL-LMT', 'category', 'human_trafficking', 'min', 1),
    ('CNHC', 'accredited', 'accredited', 'min', 10);
