-- Identity by what the sender acts for, not by its Unix account's name.
--
-- Idempotency keys belonged to the account name (UNIQUE (recorded_by, idempotency_key)): a renamed
-- account, two staff accounts of one provider, or one roster sent once as root and once as the
-- service account recorded it twice, and a new account that took a deleted account's name took its
-- keys too. A key now belongs to its scope: 'provider:CODE' for a provider's accounts, 'registry'
-- for admins, 'cpdd' for entries cpdd derives itself (opening balances, carry-over). The scope and
-- the sender's uid are kept beside the name. Neither is in ledger_entry_digest, so the chain of
-- entries made before this migration still verifies; those entries (and any row written without a
-- scope, such as the demo data's) keep the old uniqueness, by name.
ALTER TABLE ledger_entry ADD COLUMN key_scope text CHECK (key_scope ~ '^(registry|cpdd|provider:[A-Z0-9][A-Z0-9_-]*)$');
ALTER TABLE ledger_entry ADD COLUMN recorded_by_uid bigint CHECK (recorded_by_uid >= 0);
CREATE UNIQUE INDEX ledger_entry_scope_key ON ledger_entry (key_scope, idempotency_key);
CREATE UNIQUE INDEX ledger_entry_legacy_key ON ledger_entry (recorded_by, idempotency_key) WHERE key_scope IS NULL;
ALTER TABLE ledger_entry DROP CONSTRAINT ledger_entry_recorded_by_idempotency_key_key;

-- A principal given by user name keeps the uid the name had when it was added: the grant follows
-- that account if it is renamed, and does not pass to a new account that takes the name later.
ALTER TABLE principal ADD COLUMN user_uid integer CHECK (user_uid >= 0);
ALTER TABLE principal ADD CONSTRAINT principal_user_uid_only_with_name CHECK (user_uid IS NULL OR user_name IS NOT NULL);
-- One grant per account: a renamed account granted again under its new name would otherwise have
-- two, and which one applied would be arbitrary.
CREATE UNIQUE INDEX principal_user_uid ON principal (user_uid);

-- Connections already open re-resolve their principal when this changes (docs/protocol.md): every
-- statement that changes principals moves it on, in the same transaction, so a cpdd that reads the
-- new value reads the change with it.
CREATE TABLE principal_generation (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    value     bigint NOT NULL
);
INSERT INTO principal_generation (value) VALUES (0);

CREATE FUNCTION principal_generation_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE principal_generation SET value = value + 1;
    RETURN NULL;
END
$$;

-- Per row, so that a statement that changes no principal (a refused principal.remove) changes
-- nothing at all; a TRUNCATE is a statement with no rows to report.
CREATE TRIGGER principal_changed AFTER INSERT OR UPDATE OR DELETE ON principal
    FOR EACH ROW EXECUTE FUNCTION principal_generation_bump();
CREATE TRIGGER principal_truncated AFTER TRUNCATE ON principal
    FOR EACH STATEMENT EXECUTE FUNCTION principal_generation_bump();

GRANT SELECT ON principal_generation TO cpd_app;
GRANT UPDATE (value) ON principal_generation TO cpd_app;
