-- Rules that real schemes have (issue 13): a rule on a category and a delivery mode together
-- (target 'clinical:in_person'), a cap on each category or each delivery mode on its own (target
-- '*'), and advisory rules, reported and never enforced.

ALTER TABLE scheme_rule DROP CONSTRAINT scheme_rule_target_kind_check;
ALTER TABLE scheme_rule ADD CONSTRAINT scheme_rule_target_kind_check
    CHECK (target_kind IN ('category', 'delivery', 'category_delivery', 'every_category', 'every_delivery'));
-- Each category (or delivery mode) on its own takes a cap only, and is written '*'.
ALTER TABLE scheme_rule ADD CONSTRAINT scheme_rule_every_is_a_cap
    CHECK (target_kind NOT IN ('every_category', 'every_delivery') OR (target = '*' AND bound IN ('max', 'max_share')));
ALTER TABLE scheme_rule ADD COLUMN advisory boolean NOT NULL DEFAULT false;
