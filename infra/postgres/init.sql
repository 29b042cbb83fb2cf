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

