-- A minimum on points from courses whose modalities meet the member's own accredited modalities
-- (issue 13; ANTA: at least half in the modalities the member is accredited for). Target 'accredited'.
ALTER TABLE scheme_rule DROP CONSTRAINT scheme_rule_target_kind_check;
ALTER TABLE scheme_rule ADD CONSTRAINT scheme_rule_target_kind_check
    CHECK (target_kind IN ('category', 'delivery', 'category_delivery', 'every_category', 'every_delivery', 'accredited'));
ALTER TABLE scheme_rule ADD CONSTRAINT scheme_rule_accredited_is_a_minimum
    CHECK (target_kind <> 'accredited' OR (target = 'accredited' AND bound IN ('min', 'min_share')));
