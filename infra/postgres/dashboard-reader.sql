-- The read-only login Grafana uses (local development credentials only). Idempotent; run as a superuser
-- (or a role with CREATEROLE): the application role 'analytics' has CREATEDB but not CREATEROLE.
-- The role gets no table privileges here: the worker (Analytics.Dashboards.DashboardReaderRole) builds views of
-- the projection tables without their free-text columns in schema dashboard and grants USAGE on it and SELECT on
-- the views, once Marten has created the tables. Nothing in schema analytics (not the tables that hold comments,
-- not mt_events/mt_streams), no writes.

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
