-- cpdd works as the role cpd_app (it runs SET ROLE cpd_app on every connection): it may read
-- everything and append, but it has no UPDATE, DELETE or TRUNCATE on the ledger, so even a bug in
-- cpdd cannot rewrite history. The login role cpdd connects as must be a member of cpd_app (see
-- deploy/README.md); migrations run as the database owner.
DO $$
BEGIN
    CREATE ROLE cpd_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- roles are per cluster; another database of this cluster made it already
END
$$;

GRANT USAGE ON SCHEMA public TO cpd_app;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO cpd_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO cpd_app;
GRANT INSERT ON provider, course, course_version, course_event, scheme, scheme_rule, scheme_certificate,
                practitioner, certificate, ledger_entry TO cpd_app;
GRANT UPDATE (status, current_version) ON course TO cpd_app;
GRANT UPDATE (name, time_zone) ON registry TO cpd_app;
REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entry FROM cpd_app;
