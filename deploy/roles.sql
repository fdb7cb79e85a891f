-- deploy/roles.sql: tipd's database roles and database, made once by the
-- cluster's administrator (a superuser), before the first `tipd migrate`:
--
--     sudo -u postgres psql -X -v ON_ERROR_STOP=1 -f deploy/roles.sql
--
-- Running it again changes nothing that is right and mends what is wrong
-- (a role given SUPERUSER or BYPASSRLS by hand loses it).
--
-- Three roles, none a superuser, none able to create roles or databases:
--
--   tipd        owns the schema. Only `tipd migrate` and the administration
--               commands (tipd units, staff, token, audit) log in as it:
--               the `owner_database` connection string.
--   tipd_app    what `tipd serve` logs in as (`database`): intake,
--               follow-up, SMS, triage. Owns nothing; migration 0008 grants
--               it exactly what the server's SQL does. It cannot change the
--               schema, rewrite or delete reports, or read the audit log.
--   tipd_staff  the staff API's sessions (`staff_database`, derived from
--               `database`): walled into the caller's unit by forced
--               row-level security (migration 0006).
--
-- tipd_app and tipd_staff must never be members of tipd: `tipd migrate`
-- refuses to run while either is a superuser, bypasses row-level security
-- or can become the owner.
--
-- Not granted, on purpose: pg_read_all_stats to tipd_app. The triage worker
-- reads pg_stat_activity to learn when an intake transaction that may still
-- hold a report id has ended; it sees its own role's sessions, and for
-- others (tipd_staff's) it falls back to triage_gap_timeout_ms. Granting it
-- would let tipd_app read every session's statement text in the cluster.
--
-- Authentication is not set here: pg_hba.conf and pg_ident.conf (peer
-- authentication over the Unix socket, deploy/README.md) or, for a
-- database on another host, a password per role (\password tipd_app) kept
-- in the tipd user's ~/.pgpass, never in tipd.conf.

SELECT 'CREATE ROLE tipd LOGIN'
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tipd') \gexec
SELECT 'CREATE ROLE tipd_app LOGIN'
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tipd_app') \gexec
SELECT 'CREATE ROLE tipd_staff LOGIN'
    WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tipd_staff') \gexec

ALTER ROLE tipd LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;
ALTER ROLE tipd_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;
ALTER ROLE tipd_staff LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION;

-- A membership in the owner would give the owner's privileges back.
SELECT format('REVOKE tipd FROM %I', m.rolname)
    FROM pg_auth_members a
    JOIN pg_roles r ON r.oid = a.roleid AND r.rolname = 'tipd'
    JOIN pg_roles m ON m.oid = a.member
    WHERE m.rolname IN ('tipd_app', 'tipd_staff') \gexec

SELECT 'CREATE DATABASE tipd OWNER tipd ENCODING ''UTF8'' LOCALE ''C.UTF-8'' TEMPLATE template0'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'tipd') \gexec

-- Only tipd's roles connect to its database.
REVOKE ALL ON DATABASE tipd FROM PUBLIC;
GRANT CONNECT ON DATABASE tipd TO tipd_app, tipd_staff;

\connect tipd
-- The schema tipd's tables live in: the owner creates there (PostgreSQL 15
-- lets the database's owner), the other two only use it.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tipd_app, tipd_staff;
