-- The application login the worker and the API serve with (local development credentials only). Idempotent;
-- run as a superuser (or a role with CREATEROLE), after init.sql.
--
-- Three roles, least privilege (README "Credentials", docs/security.md):
--   analytics            owner: owns the database and schema 'analytics', runs Marten's schema migrations
--                        (the worker, through EventStore:OwnerUsername/OwnerPassword); CREATEDB for the tests.
--   analytics_app        application: DML only (SELECT/INSERT/UPDATE/DELETE/TRUNCATE on the tables, sequence
--                        usage); no CREATE/ALTER/DROP, owns nothing, cannot grant. Used by the worker and API at runtime.
--   analytics_dashboard  Grafana: SELECT on the projection tables only (dashboard-reader.sql).
-- The table grants are per database: the worker's migration step (Analytics.Conversations.EventStoreMigration)
-- grants them after every schema change and sets default privileges for tables the owner creates later.

SET password_encryption = 'scram-sha-256';

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'analytics_app') THEN
    CREATE ROLE analytics_app LOGIN PASSWORD 'analytics_app';
  END IF;
END
$$;

-- Re-assert attributes on every run: a plain login that may not create databases or roles.
ALTER ROLE analytics_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS
  PASSWORD 'analytics_app';
-- (PostgreSQL 15 no longer lets PUBLIC create in schema public, so the app role cannot create tables anywhere.)
