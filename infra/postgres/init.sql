-- Creates the application login role and database. Idempotent.
-- Used by:
--   * infra/scripts/services-up.sh (native PostgreSQL, run with psql as superuser), and
--   * docker-compose.yml (mounted into /docker-entrypoint-initdb.d, run by psql on first start).
-- Needs psql (uses \gexec). Local development credentials only.

-- Store the password as SCRAM (used by the 127.0.0.1 scram-sha-256 pg_hba rule).
SET password_encryption = 'scram-sha-256';

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'analytics') THEN
    CREATE ROLE analytics LOGIN CREATEDB PASSWORD 'analytics';
  END IF;
END
$$;

-- Re-assert attributes on every run.
ALTER ROLE analytics WITH LOGIN CREATEDB PASSWORD 'analytics';

SELECT 'CREATE DATABASE analytics OWNER analytics ENCODING ''UTF8'' TEMPLATE template0'
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = 'analytics')
\gexec

ALTER DATABASE analytics OWNER TO analytics;
GRANT ALL PRIVILEGES ON DATABASE analytics TO analytics;

-- ---------------------------------------------------------------- read-only Grafana role
SET password_encryption = 'scram-sha-256';

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'analytics_dashboard') THEN
    CREATE ROLE analytics_dashboard LOGIN PASSWORD 'analytics_dashboard';
  END IF;
END
$$;

-- Re-assert attributes on every run: a plain login, read-only sessions, short queries, few connections.
ALTER ROLE analytics_dashboard WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS
  CONNECTION LIMIT 20 PASSWORD 'analytics_dashboard';
ALTER ROLE analytics_dashboard SET default_transaction_read_only = on;
ALTER ROLE analytics_dashboard SET statement_timeout = '30s';
