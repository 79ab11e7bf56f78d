-- An advisory rule in the demo (issue 13): an association's 80/20 target (at least 80 % of the year's
-- points clinical), reported in `points` and checked at audit, never making a member non-compliant.
-- It is put on the FHT demo scheme as an example of the kind; it is not FHT's published policy.
-- P-1012's year to 2026-09-08: 10 of 10, 7 clinical: compliant, and the advice 1 point short.
INSERT INTO scheme_rule (scheme, target_kind, target, bound, amount, advisory) VALUES
    ('FHT', 'category', 'clinical', 'min_share', 80, true);
