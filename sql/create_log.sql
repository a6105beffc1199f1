-- create_log: the layout of a log (hash buckets of time partitions kept by
-- pg_partman), the logs view, partitions(), drop_log, and every argument error.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'

SELECT eventlog.create_log('audit', '1 day', 3, '90 days', 2);

-- The logs view: one row with the settings given (3 buckets x (today + 2
-- premade days + a default partition) = 12 leaves).
SELECT log, name, kind, partition_interval, tenant_buckets, premake, retention, dedup_window,
	   partitions, created_by, created_at > now() - interval '1 minute' AS created_just_now
  FROM eventlog.logs WHERE log = 'audit'::regclass;

-- Level 1: PARTITION BY HASH (tenant_id) into buckets audit_b0 .. audit_b2,
-- each PARTITION BY RANGE (received_at).
SELECT pg_get_partkeydef('audit'::regclass) AS root_key;
SELECT c.relname AS bucket, pg_get_expr(c.relpartbound, c.oid) AS bound, pg_get_partkeydef(c.oid) AS bucket_key
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'audit'::regclass ORDER BY 1;

-- Level 2 per bucket: day ranges from the midnight before the log was
-- created, 2 days made ahead, and one default partition; all empty.
SELECT bucket,
	   count(*) AS leaves,
	   count(*) FILTER (WHERE is_default) AS defaults,
	   count(*) FILTER (WHERE range_to - range_from = interval '1 day') AS day_ranges,
	   min(range_from) = date_trunc('day', (SELECT created_at FROM eventlog.logs WHERE log = 'audit'::regclass)) AS first_is_today,
	   max(range_to) = date_trunc('day', (SELECT created_at FROM eventlog.logs WHERE log = 'audit'::regclass))
					   + interval '3 days' AS premade_2_days,
	   sum(rows) AS rows,
	   bool_and(tier = 'hot') AS hot,
	   bool_and(bytes > 0) AS has_bytes
  FROM eventlog.partitions('audit') GROUP BY bucket ORDER BY bucket;
-- partitions() names each leaf as a child of its bucket.
SELECT count(*) AS leaves,
	   bool_and(p.partition::text LIKE 'audit\_b' || p.bucket || '\_%') AS named_after_bucket,
	   bool_and((p.partition::text LIKE '%\_default') = p.is_default) AS defaults_named_default
  FROM eventlog.partitions('audit') p;
SELECT count(*) AS rows_of_exact_partitions FROM eventlog.partitions('audit', exact => true);

-- The envelope: columns, defaults, NOT NULLs and CHECK constraints.
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
	   pg_get_expr(d.adbin, d.adrelid) AS "default"
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = 'audit'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum;
SELECT conname, pg_get_constraintdef(oid) AS definition
  FROM pg_constraint WHERE conrelid = 'audit'::regclass ORDER BY 1;

-- Two indexes on the root and on every leaf; the subject index is built by
-- maintenance once a partition's range has passed (sql/maintenance.sql).
SELECT pg_get_indexdef(indexrelid) AS index FROM pg_index WHERE indrelid = 'audit'::regclass ORDER BY 1;
SELECT count(*) AS leaves,
	   bool_and((SELECT count(*) FROM pg_index i WHERE i.indrelid = t.relid) = 2) AS two_indexes_each
  FROM pg_partition_tree('audit') t WHERE t.isleaf;

-- Owned by eventlog_admin, root and every partition.
SELECT count(*) AS relations, bool_and(c.relowner = 'eventlog_admin'::regrole) AS owned_by_eventlog_admin
  FROM pg_partition_tree('audit') t JOIN pg_class c ON c.oid = t.relid;

-- The append-only triggers: ENABLE ALWAYS on the root (row + statement) and a
-- statement trigger on every partition; default partitions are watched.
SELECT tgname, tgenabled, pg_get_triggerdef(oid) AS definition
  FROM pg_trigger WHERE tgrelid = 'audit'::regclass ORDER BY 1;
SELECT t.level, count(*) AS relations,
	   bool_and(EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = t.relid AND g.tgname = 'eventlog_append_only_stmt'
						AND g.tgenabled = 'A')) AS stmt_trigger_always,
	   bool_and(EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = t.relid AND g.tgname = 'eventlog_append_only_row'
						AND g.tgenabled = 'A')) AS row_trigger_always,
	   count(*) FILTER (WHERE EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = t.relid
									  AND g.tgname = 'eventlog_default_watch')) AS watched
  FROM pg_partition_tree('audit') t GROUP BY t.level ORDER BY t.level;
SELECT count(*) AS default_partitions,
	   bool_and(EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = p.partition
						AND g.tgname = 'eventlog_default_watch')) AS all_watched
  FROM eventlog.partitions('audit') p WHERE p.is_default;

-- Row-level security by eventlog.tenant, and the grants of the log.
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'audit'::regclass;
SELECT polname, polcmd, pg_get_expr(polqual, polrelid) AS using_expr, pg_get_expr(polwithcheck, polrelid) AS check_expr
  FROM pg_policy WHERE polrelid = 'audit'::regclass ORDER BY 1;
SELECT r AS role,
	   has_table_privilege(r, 'audit', 'SELECT') AS "select",
	   has_table_privilege(r, 'audit', 'INSERT') AS "insert",
	   has_table_privilege(r, 'audit', 'UPDATE') AS "update",
	   has_table_privilege(r, 'audit', 'DELETE') AS "delete",
	   has_table_privilege(r, 'audit', 'TRUNCATE') AS "truncate"
  FROM unnest(ARRAY['eventlog_reader', 'eventlog_writer', 'regress_eventlog_nobody']) r;

-- pg_partman keeps each bucket's time partitions: premake, retention (drop
-- the tables), infinite_time_partitions, and its own worker off (the
-- extension's run_maintenance drives it).
SELECT parent_table, control, partition_type, partition_interval, premake, retention,
	   retention_keep_table, infinite_time_partitions, automatic_maintenance, inherit_privileges
  FROM partman.part_config WHERE parent_table LIKE 'public.audit\_%' ORDER BY 1;
SELECT count(*) AS template_tables FROM pg_tables
 WHERE schemaname = 'partman' AND tablename LIKE 'template\_public\_audit\_%';

-- A schema-qualified log with hourly partitions and 1 bucket, created by a
-- (non-superuser) member of eventlog_admin.
CREATE SCHEMA ev_create;
GRANT CREATE, USAGE ON SCHEMA ev_create TO eventlog_admin;
\c - regress_eventlog_admin
SET intervalstyle = 'postgres';
SET timezone = 'UTC';
SELECT eventlog.create_log('ev_create.hourly', '1 hour', 1, NULL, 1);
SELECT log, name, partition_interval, tenant_buckets, premake, retention, partitions, created_by
  FROM eventlog.logs WHERE log = 'ev_create.hourly'::regclass;
SELECT bucket, count(*) AS leaves,
	   count(*) FILTER (WHERE range_to - range_from = interval '1 hour') AS hour_ranges,
	   min(range_from) = date_trunc('hour', (SELECT created_at FROM eventlog.logs WHERE log = 'ev_create.hourly'::regclass))
		 AS first_is_this_hour
  FROM eventlog.partitions('ev_create.hourly') GROUP BY bucket ORDER BY bucket;
-- A name of 40 bytes (the limit) and a quoted one.
SELECT eventlog.create_log(repeat('n', 40), '1 day', 1, NULL, 1) = (repeat('n', 40))::regclass AS created_40_bytes;
SELECT eventlog.create_log('ev_create."Mixed Case"', '1 day', 2, NULL, 1);
SELECT name, partitions FROM eventlog.logs WHERE log = 'ev_create."Mixed Case"'::regclass;
\c - postgres
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';

-- drop_log removes the log, its partitions, its part_config rows and
-- pg_partman's template tables; the views forget it.
SELECT eventlog.drop_log('ev_create."Mixed Case"');
SELECT eventlog.drop_log(repeat('n', 40)::regclass);
SELECT eventlog.drop_log('ev_create.hourly');
SELECT to_regclass('ev_create.hourly') AS hourly, to_regclass('ev_create.hourly_b0_default') AS hourly_default;
SELECT count(*) AS logs_left_in_schema FROM eventlog.logs WHERE name LIKE 'ev\_create.%';
SELECT count(*) AS part_config_rows FROM partman.part_config WHERE parent_table LIKE 'ev\_create.%';
SELECT count(*) AS template_tables FROM pg_tables
 WHERE schemaname = 'partman' AND tablename LIKE 'template\_ev\_create\_%';
SELECT count(*) AS tables_left FROM pg_tables WHERE schemaname = 'ev_create';
DROP SCHEMA ev_create;

-- Errors: bad arguments.
SELECT eventlog.create_log('bad', '1 day', 0);
:sqlstate
SELECT eventlog.create_log('bad', '1 day', 1025);
:sqlstate
SELECT eventlog.create_log('bad', '59 seconds', 2);
:sqlstate
SELECT eventlog.create_log('bad', '-1 day', 2);
:sqlstate
SELECT eventlog.create_log('bad', '1 day', 2, '30 seconds');
:sqlstate
SELECT eventlog.create_log('bad', '1 day', 2, NULL, 0);
:sqlstate
SELECT eventlog.create_log('bad', '1 day', 2, NULL, 1001);
:sqlstate
SELECT eventlog.create_log(NULL);
:sqlstate
SELECT eventlog.create_log('bad', NULL);
:sqlstate
SELECT eventlog.create_log(repeat('n', 41));
:sqlstate
SELECT eventlog.create_log(repeat('é', 21));
:sqlstate
SELECT eventlog.create_log('"a.b"');
:sqlstate
SELECT eventlog.create_log('no_such_schema.bad');
:sqlstate
SELECT eventlog.create_log('pg_temp.bad');
:sqlstate
-- An existing relation (the long CONTEXT is the CREATE TABLE it ran).
\set SHOW_CONTEXT never
SELECT eventlog.create_log('audit');
:sqlstate
\set SHOW_CONTEXT errors
-- A schema where eventlog_admin, which owns every log, may not create.
CREATE SCHEMA ev_locked;
SELECT eventlog.create_log('ev_locked.bad');
:sqlstate
-- A member of eventlog_admin is refused for its own missing CREATE first.
SET ROLE regress_eventlog_admin;
SELECT eventlog.create_log('ev_locked.bad');
:sqlstate
RESET ROLE;
-- Callers that are not eventlog_admin: no EXECUTE ...
SET ROLE regress_eventlog_writer;
SELECT eventlog.create_log('bad');
:sqlstate
SELECT eventlog.drop_log('audit');
:sqlstate
RESET ROLE;
SET ROLE regress_eventlog_reader;
SELECT eventlog.create_log('bad');
:sqlstate
RESET ROLE;
-- ... and the C entry points check again when EXECUTE is granted by mistake.
BEGIN;
GRANT EXECUTE ON FUNCTION eventlog.create_log(text, interval, int, interval, int) TO eventlog_writer;
GRANT EXECUTE ON FUNCTION eventlog.drop_log(regclass) TO eventlog_writer;
SET ROLE regress_eventlog_writer;
SELECT eventlog.create_log('bad');
:sqlstate
ROLLBACK;
BEGIN;
GRANT EXECUTE ON FUNCTION eventlog.drop_log(regclass) TO eventlog_writer;
SET ROLE regress_eventlog_writer;
SELECT eventlog.drop_log('audit');
:sqlstate
ROLLBACK;
-- drop_log of a table that is not a log.
CREATE TABLE not_a_log (id int);
SELECT eventlog.drop_log('not_a_log');
:sqlstate
SELECT eventlog.partitions('not_a_log');
:sqlstate
SELECT eventlog.drop_log(NULL) IS NULL AS drop_null_is_noop;
DROP TABLE not_a_log;
DROP SCHEMA ev_locked;
-- Nothing was left behind by the failed calls.
SELECT count(*) AS logs FROM eventlog.logs;
SELECT to_regclass('bad') AS bad, to_regclass('ev_locked.bad') AS locked_bad;

SELECT eventlog.drop_log('audit');
SELECT count(*) AS logs FROM eventlog.logs;
SELECT count(*) AS part_config_rows FROM partman.part_config WHERE parent_table LIKE 'public.audit\_%';
