-- ANTA: "at least 50% of CPD in the modalities the member is accredited for", as a rule on the
-- member's accredited modalities (it was approximated as half from clinical courses). P-1007
-- (remedial) has all 20 of 2026 from courses that teach remedial massage; P-1006 (remedial, manual
-- therapy) 8, 2 short of half.
UPDATE scheme_rule SET target_kind = 'accredited', target = 'accredited'
WHERE scheme = 'ANTA' AND target_kind = 'category' AND target = 'clinical' AND bound = 'min_share';
