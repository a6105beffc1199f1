-- Catalog shape of pg_eventlog: schema, tables, view, type, roles, every
-- SQL function with its signature, return type and EXECUTE privilege per
-- role, SECURITY DEFINER hygiene, and the event triggers (ENABLE ALWAYS).
BEGIN;

-- The SQL API: signature, return type, and which role may run it.
CREATE TEMP TABLE api (fn name, args name[], returns text, admin boolean, writer boolean, reader boolean, public boolean);
INSERT INTO api VALUES
	('create_log', '{text,interval,integer,interval,integer}', 'regclass', true, false, false, false),
	('drop_log', '{regclass}', 'void', true, false, false, false),
	('run_maintenance', '{regclass}', 'setof record', true, false, false, false),
	('set_retention', '{regclass,interval}', 'void', true, false, false, false),
	('set_dedup_window', '{regclass,interval}', 'void', true, false, false, false),
	('append', '{regclass,text,text,jsonb,text,"timestamp with time zone",uuid,jsonb}', 'uuid', true, true, false, false),
	('ingest', '{regclass,jsonb}', 'bigint', true, true, false, false),
	('copy_in', '{regclass,bytea,text}', 'bigint', true, true, false, false),
	('events', '{regclass,text,"timestamp with time zone","timestamp with time zone",text,text,uuid,integer}',
	 'setof eventlog.event', true, false, true, false),
	('get_event', '{regclass,uuid}', 'setof eventlog.event', true, false, true, false),
	('history', '{regclass,text,text,integer}', 'setof eventlog.event', true, false, true, false),
	('partitions', '{regclass,boolean}', 'setof record', true, false, true, false),
	('uuidv7', '{"timestamp with time zone"}', 'uuid', true, true, true, true),
	('uuidv7_time', '{uuid}', 'timestamp with time zone', true, true, true, true),
	('forget', '{regclass,text,text,text}', 'bigint', true, false, false, false),
	('forget_tenant', '{regclass,text,text}', 'bigint', true, false, false, false),
	('verify', '{regclass,"timestamp with time zone","timestamp with time zone"}', 'setof record', true, false, false, false),
	('set_tiering', '{regclass,interval,interval,name,text}', 'void', true, false, false, false),
	('restore', '{regclass,"timestamp with time zone","timestamp with time zone"}', 'bigint', true, false, false, false),
	('archived_ranges', '{regclass,"timestamp with time zone","timestamp with time zone"}', 'setof record', true, false, true, false);
-- Internal bodies that the C entry points run as eventlog_admin: nobody else.
CREATE TEMP TABLE internal (fn name, args name[]);
INSERT INTO internal VALUES
	('_create_log', '{text,text,interval,integer,interval,integer}'),
	('_drop_log', '{regclass}'),
	('_rescue_defaults', '{regclass}'),
	('_run_maintenance', '{regclass}'),
	('_protect_partitions', '{}'),
	('_drop_guard', '{}'),
	('_forget', '{regclass,text,text,text,text,integer}'),
	('_redact', '{regclass,bigint}'),
	('_redact_partition', '{regclass,regclass,bigint}'),
	('_seal_partition', '{regclass,regclass,text,uuid}'),
	('_seal_due', '{regclass}'),
	('_note_sealed_insert', '{}'),
	('_maintain_tiers', '{regclass}'),
	('_ddl_due', '{regclass}'),
	('_archive_partition', '{regclass,regclass,text,text,text}'),
	('_restore_file', '{regclass,text,text,bigint}'),
	('_check_archive_dir', '{text}'),
	('_drop_archived', '{regclass}'),
	('_remove_archive_file', '{text}'),
	('_expire_archives', '{regclass}'),
	('_restore', '{regclass,"timestamp with time zone","timestamp with time zone"}');

SELECT plan(36 + 8 * (SELECT count(*)::int FROM api) + 3 * (SELECT count(*)::int FROM internal));

SELECT has_extension('pg_eventlog');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'pg_eventlog'), '0.1.0', 'pg_eventlog 0.1.0 is installed');
SELECT is((SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_eventlog'), 'eventlog',
		  'pg_eventlog lives in schema eventlog');
SELECT ok(NOT (SELECT extrelocatable FROM pg_extension WHERE extname = 'pg_eventlog'), 'pg_eventlog is not relocatable');
SELECT has_schema('eventlog');
SELECT has_table('eventlog', 'log_config', 'table eventlog.log_config exists');
SELECT has_table('eventlog', 'maintenance_runs', 'table eventlog.maintenance_runs exists');
SELECT has_table('eventlog', 'ingest_ledger', 'table eventlog.ingest_ledger exists');
SELECT has_table('eventlog', 'dead_letters', 'table eventlog.dead_letters exists');
SELECT has_view('eventlog', 'logs', 'view eventlog.logs exists');
SELECT columns_are('eventlog', 'logs', ARRAY['log', 'name', 'kind', 'partition_interval', 'tenant_buckets', 'premake',
											'retention', 'dedup_window', 'partitions', 'oldest_range_from', 'next_drop_at',
											'created_at', 'created_by']);
SELECT has_type('eventlog', 'event', 'type eventlog.event exists');
SELECT is((SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute
			WHERE attrelid = 'eventlog.event'::regclass AND attnum > 0),
		  ARRAY['event_id', 'tenant_id', 'event_type', 'subject', 'occurred_at', 'received_at', 'schema_version',
				'payload', 'metadata'], 'eventlog.event is the envelope, in order');
SELECT set_has($$SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'pg_eventlog'$$,
			  $$VALUES ('eventlog.log_config'), ('eventlog.ingest_ledger'), ('eventlog.dead_letters')$$,
			  'configuration tables are dumped by pg_dump');

SELECT has_role('eventlog_admin');
SELECT has_role('eventlog_writer');
SELECT has_role('eventlog_reader');
SELECT is_member_of('eventlog_writer', 'eventlog_admin');
SELECT is_member_of('eventlog_reader', 'eventlog_admin');
SELECT ok(NOT pg_has_role('eventlog_writer', 'eventlog_reader', 'MEMBER')
		  AND NOT pg_has_role('eventlog_reader', 'eventlog_writer', 'MEMBER'),
		  'writers and readers are separate roles');

-- Every function of the API: it exists with its signature, returns what it
-- should, is not SECURITY DEFINER, and EXECUTE is granted per role.
SELECT has_function('eventlog', fn, args) FROM api ORDER BY fn;
SELECT function_returns('eventlog', fn, args, returns) FROM api ORDER BY fn;
SELECT isnt_definer('eventlog', fn, args) FROM api ORDER BY fn;
SELECT function_privs_are('eventlog', fn, args, 'eventlog_admin', CASE WHEN admin THEN '{EXECUTE}'::name[] ELSE '{}' END) FROM api ORDER BY fn;
SELECT function_privs_are('eventlog', fn, args, 'eventlog_writer', CASE WHEN writer THEN '{EXECUTE}'::name[] ELSE '{}' END) FROM api ORDER BY fn;
SELECT function_privs_are('eventlog', fn, args, 'eventlog_reader', CASE WHEN reader THEN '{EXECUTE}'::name[] ELSE '{}' END) FROM api ORDER BY fn;
SELECT function_privs_are('eventlog', fn, args, 'public', CASE WHEN public THEN '{EXECUTE}'::name[] ELSE '{}' END) FROM api ORDER BY fn;
SELECT ok(pg_get_function_identity_arguments(format('eventlog.%I(%s)', fn, array_to_string(args, ','))::regprocedure)
		  IS NOT NULL AND (SELECT proconfig IS NOT NULL OR l.lanname = 'c'
							FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
						   WHERE p.oid = format('eventlog.%I(%s)', fn, array_to_string(args, ','))::regprocedure),
		  format('eventlog.%s pins search_path (or is C)', fn)) FROM api ORDER BY fn;
-- Internal functions: nobody but eventlog_admin (and for the event trigger
-- functions, not even it) may call them.
SELECT function_privs_are('eventlog', fn, args, 'eventlog_writer', '{}') FROM internal ORDER BY fn;
SELECT function_privs_are('eventlog', fn, args, 'eventlog_reader', '{}') FROM internal ORDER BY fn;
SELECT function_privs_are('eventlog', fn, args, 'public', '{}') FROM internal ORDER BY fn;
-- SECURITY DEFINER functions pin search_path.
SELECT is_definer('eventlog', '_protect_partitions', '{}'::name[]);
SELECT is_definer('eventlog', '_drop_guard', '{}'::name[]);
SELECT is_empty($$SELECT oid::regprocedure FROM pg_proc WHERE pronamespace = 'eventlog'::regnamespace AND prosecdef
				   AND NOT coalesce(proconfig @> '{"search_path=pg_catalog, pg_temp"}', false)$$,
				'every SECURITY DEFINER function pins search_path');

-- Table privileges.
SELECT table_privs_are('eventlog'::name, 'log_config'::name, 'eventlog_admin'::name, '{SELECT,INSERT,UPDATE,DELETE}'::name[]);
SELECT table_privs_are('eventlog'::name, 'log_config'::name, 'eventlog_writer'::name, '{SELECT}'::name[]);
SELECT table_privs_are('eventlog'::name, 'log_config'::name, 'eventlog_reader'::name, '{SELECT}'::name[]);
SELECT table_privs_are('eventlog'::name, 'maintenance_runs'::name, 'eventlog_writer'::name, '{}'::name[]);
SELECT table_privs_are('eventlog'::name, 'ingest_ledger'::name, 'eventlog_writer'::name, '{SELECT,INSERT,UPDATE}'::name[]);
SELECT table_privs_are('eventlog'::name, 'ingest_ledger'::name, 'eventlog_reader'::name, '{}'::name[]);
SELECT table_privs_are('eventlog'::name, 'dead_letters'::name, 'eventlog_writer'::name, '{SELECT,INSERT}'::name[]);

-- The event triggers that guard DDL: present, and enabled ALWAYS (so that
-- session_replication_role = replica does not switch them off).
SELECT is((SELECT format('on %s, enabled %s, runs %s', evtevent, evtenabled, evtfoid::regproc)
			  FROM pg_event_trigger WHERE evtname = name), expected, format('event trigger %s %s', name, expected))
  FROM (VALUES ('eventlog_ddl_guard', 'on ddl_command_start, enabled A, runs eventlog.ddl_guard'),
			   ('eventlog_drop_guard', 'on sql_drop, enabled A, runs eventlog._drop_guard'),
			   ('eventlog_protect_partitions', 'on ddl_command_end, enabled A, runs eventlog._protect_partitions')) AS t(name, expected)
 ORDER BY name;
SELECT is_empty($$SELECT evtname FROM pg_event_trigger WHERE evtname LIKE 'eventlog\_%' AND evtenabled <> 'A'$$,
				'every event trigger of the extension fires ALWAYS');
SELECT is((SELECT evttags FROM pg_event_trigger WHERE evtname = 'eventlog_ddl_guard'),
		  '{"DROP TABLE","ALTER TABLE","DROP TRIGGER"}'::text[], 'ddl_guard watches DROP TABLE, ALTER TABLE, DROP TRIGGER');
SELECT is((SELECT evttags FROM pg_event_trigger WHERE evtname = 'eventlog_protect_partitions'),
		  '{"CREATE TABLE","ALTER TABLE"}'::text[], 'protect_partitions watches CREATE TABLE and ALTER TABLE');

SELECT * FROM finish();
ROLLBACK;
