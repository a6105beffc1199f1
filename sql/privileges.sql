-- privileges: least privilege per role. EXECUTE on every function of schema
-- eventlog per role, SECURITY DEFINER functions with a pinned search_path,
-- table grants, and each role doing its job (and nothing else) for real.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'

-- EXECUTE per role, for the functions of the log core (stream logs have
-- their own suite). eventlog_admin has the rights of writer and reader;
-- "public" is any role at all (trigger functions cannot be called directly).
CREATE TEMP TABLE core_functions AS
SELECT p.oid::regprocedure AS function
  FROM pg_proc p
 WHERE p.pronamespace = 'eventlog'::regnamespace
   AND p.proname IN ('create_log', 'drop_log', 'run_maintenance', 'set_retention', 'set_dedup_window',
					 'append', 'ingest', 'copy_in', 'events', 'get_event', 'history', 'partitions',
					 'uuidv7', 'uuidv7_time', '_create_log', '_drop_log', '_rescue_defaults', '_run_maintenance',
					 '_protect_partitions', '_drop_guard', '_buckets', '_partman_schema', '_bypass_active',
					 'refuse_change', 'note_default_row', 'ddl_guard');
SELECT function,
	   has_function_privilege('eventlog_admin', function, 'EXECUTE') AS admin,
	   has_function_privilege('eventlog_writer', function, 'EXECUTE') AS writer,
	   has_function_privilege('eventlog_reader', function, 'EXECUTE') AS reader,
	   has_function_privilege('public', function, 'EXECUTE') AS public
  FROM core_functions ORDER BY function::text;

-- SECURITY DEFINER functions, each with search_path pinned.
SELECT c.function, p.proconfig
  FROM core_functions c JOIN pg_proc p ON p.oid = c.function WHERE p.prosecdef ORDER BY 1::text;
SELECT p.oid::regprocedure AS definer_without_pinned_search_path
  FROM pg_proc p WHERE p.pronamespace = 'eventlog'::regnamespace AND p.prosecdef
   AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false);
-- Functions that run dynamic SQL pin search_path too (all but the C ones and uuidv7).
SELECT p.oid::regprocedure AS function_without_pinned_search_path, l.lanname
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'eventlog'::regnamespace AND l.lanname <> 'c'
   AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)
 ORDER BY 1::text;

-- The extension's own tables and view.
SELECT c.relname, r.role,
	   has_table_privilege(r.role, c.oid, 'SELECT') AS "select",
	   has_table_privilege(r.role, c.oid, 'INSERT') AS "insert",
	   has_table_privilege(r.role, c.oid, 'UPDATE') AS "update",
	   has_table_privilege(r.role, c.oid, 'DELETE') AS "delete"
  FROM pg_class c
 CROSS JOIN (VALUES ('eventlog_admin'), ('eventlog_writer'), ('eventlog_reader'), ('public')) AS r(role)
 WHERE c.relnamespace = 'eventlog'::regnamespace
   AND c.relname IN ('log_config', 'maintenance_runs', 'ingest_ledger', 'dead_letters', 'logs')
 ORDER BY c.relname, r.role;
SELECT r.role, has_schema_privilege(r.role, 'eventlog', 'USAGE') AS usage, has_schema_privilege(r.role, 'eventlog', 'CREATE') AS "create"
  FROM (VALUES ('eventlog_admin'), ('eventlog_writer'), ('eventlog_reader'), ('public')) AS r(role) ORDER BY 1;

-- Each role at its job, as a LOGIN role.
SELECT eventlog.create_log('priv', '1 day', 2, NULL, 1);
SELECT eventlog.ingest('priv', '[{"event_id": "00000000-0000-4000-8000-0000000000e1", "tenant_id": "acme", "event_type": "x", "subject": "s", "payload": {}}]') AS written;

\c - regress_eventlog_writer
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
SELECT eventlog.append('priv', 'acme', 'w', '{}', event_id => '00000000-0000-4000-8000-0000000000e2');
SELECT eventlog.ingest('priv', '[{"event_id": "00000000-0000-4000-8000-0000000000e3", "tenant_id": "acme", "event_type": "w", "payload": {}}]') AS written;
SELECT eventlog.copy_in('priv', convert_to(E'event_id,tenant_id,event_type,payload\n00000000-0000-4000-8000-0000000000e4,acme,w,{}\n', 'UTF8'), 'csv') AS copied;
INSERT INTO priv (event_id, tenant_id, event_type, payload) VALUES ('00000000-0000-4000-8000-0000000000e5', 'acme', 'w', '{}');
SELECT count(*) AS logs_visible FROM eventlog.logs WHERE log = 'priv'::regclass;
-- the sidecar's bookkeeping
INSERT INTO eventlog.ingest_ledger (source, lane, last_seq, batches, events) VALUES ('regress', 0, 1, 1, 1);
UPDATE eventlog.ingest_ledger SET last_seq = 2 WHERE source = 'regress';
INSERT INTO eventlog.dead_letters (source, log, seq, event, error) VALUES ('regress', 'priv', 1, '{}', 'test');
-- a writer reads no events and changes no log
SELECT count(*) FROM priv;
:sqlstate
SELECT * FROM eventlog.get_event('priv', '00000000-0000-4000-8000-0000000000e1');
:sqlstate
SELECT * FROM eventlog.history('priv', 'acme', 's');
:sqlstate
SELECT * FROM eventlog.partitions('priv');
:sqlstate
UPDATE priv SET subject = 'x';
:sqlstate
TRUNCATE priv;
:sqlstate
SELECT eventlog.set_dedup_window('priv', '1 hour');
:sqlstate
SELECT * FROM eventlog.run_maintenance();
:sqlstate
DELETE FROM eventlog.ingest_ledger;
:sqlstate
UPDATE eventlog.log_config SET dedup_window = '1 second';
:sqlstate

\c - regress_eventlog_reader
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
SELECT count(*) AS events FROM priv;
SELECT count(*) AS events FROM eventlog.events('priv', 'acme', '-infinity', 'infinity');
SELECT event_id FROM eventlog.get_event('priv', '00000000-0000-4000-8000-0000000000e1');
SELECT event_id FROM eventlog.history('priv', 'acme', 's');
-- a reader gets the planner's estimates, not counts of leaves it may not
-- read directly: unknown (NULL) before the log is analyzed, then the estimate
SELECT count(*) AS leaves, count(rows) AS known FROM eventlog.partitions('priv');
\c - postgres
ANALYZE priv;
\c - regress_eventlog_reader
SELECT count(*) AS leaves, sum(rows) AS rows FROM eventlog.partitions('priv');
SELECT name, tenant_buckets FROM eventlog.logs WHERE log = 'priv'::regclass;
SELECT count(*) >= 0 AS can_read_log_config FROM eventlog.log_config;
-- a reader writes nothing
INSERT INTO priv (tenant_id, event_type, payload) VALUES ('acme', 'r', '{}');
:sqlstate
COPY priv (tenant_id, event_type, payload) FROM STDIN;
acme	r	{}
\.
:sqlstate
SELECT eventlog.ingest('priv', '[]');
:sqlstate
INSERT INTO eventlog.ingest_ledger (source, lane, last_seq) VALUES ('reader', 0, 1);
:sqlstate
SELECT count(*) FROM eventlog.dead_letters;
:sqlstate

\c - regress_eventlog_nobody
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
-- a role in none of the three: not even the schema
SELECT eventlog.uuidv7() IS NOT NULL;
:sqlstate
SELECT count(*) FROM eventlog.logs;
:sqlstate
SELECT count(*) FROM priv;
:sqlstate
INSERT INTO priv (tenant_id, event_type, payload) VALUES ('acme', 'n', '{}');
:sqlstate

\c - regress_eventlog_admin
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
SET intervalstyle = 'postgres';
-- eventlog_admin does the admin work (and reads and writes, as a member of both)
SELECT eventlog.set_dedup_window('priv', '2 hours');
SELECT eventlog.set_retention('priv', '400 days');
SELECT log, rows_moved FROM eventlog.run_maintenance('priv');
SELECT name, retention, dedup_window FROM eventlog.logs WHERE log = 'priv'::regclass;
SELECT count(*) AS events FROM priv;
SELECT count(*) AS runs FROM eventlog.maintenance_runs WHERE log = 'priv'::regclass;
SELECT source, last_seq FROM eventlog.ingest_ledger WHERE source = 'regress';
SELECT eventlog.drop_log('priv');

\c - postgres
DELETE FROM eventlog.ingest_ledger WHERE source = 'regress';
DELETE FROM eventlog.dead_letters WHERE source = 'regress';
