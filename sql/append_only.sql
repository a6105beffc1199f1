-- append_only: UPDATE, DELETE, TRUNCATE and MERGE of stored events fail with
-- SQLSTATE LG001 on a log and on each of its partitions (buckets, time
-- partitions, default partitions, partitions made later by ingest and by
-- run_maintenance), for a superuser, for the owner, under
-- session_replication_role = replica; DDL that would remove events or the
-- protection fails the same way; drop_log is the way out.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'

SELECT rolsuper AS running_as_superuser FROM pg_roles WHERE rolname = current_user;
SELECT eventlog.create_log('ao', '1 day', 2, NULL, 1);
-- Two events now; two of history, whose partitions ingest makes on demand
-- (acme hashes to bucket 1, globex to bucket 0).
SELECT eventlog.ingest('ao', '[
 {"event_id": "00000000-0000-4000-8000-00000000a001", "tenant_id": "acme", "event_type": "user.login", "payload": {"n": 1}},
 {"event_id": "00000000-0000-4000-8000-00000000a002", "tenant_id": "globex", "event_type": "user.login", "payload": {"n": 2}},
 {"event_id": "00000000-0000-4000-8000-00000000a003", "tenant_id": "acme", "event_type": "user.login", "payload": {"n": 3},
  "received_at": "2024-02-01 12:00:00+00"},
 {"event_id": "00000000-0000-4000-8000-00000000a004", "tenant_id": "globex", "event_type": "user.login", "payload": {"n": 4},
  "received_at": "2024-02-01 13:00:00+00"}]');
-- A plain INSERT of history lands in a default partition; run_maintenance
-- moves it into a partition that it makes.
INSERT INTO ao (event_id, tenant_id, event_type, payload, received_at)
VALUES ('00000000-0000-4000-8000-00000000a005', 'acme', 'user.logout', '{"n": 5}', '2024-03-01 08:00:00+00');
SELECT log, rows_moved FROM eventlog.run_maintenance('ao');
SELECT partition, bucket, range_from, range_to, rows
  FROM eventlog.partitions('ao') WHERE range_from < '2025-01-01' ORDER BY partition::text;
SELECT bucket, sum(rows) AS rows_in_default FROM eventlog.partitions('ao') WHERE is_default GROUP BY bucket ORDER BY 1;

-- The root.
UPDATE ao SET subject = 'x';
:sqlstate
UPDATE ao SET subject = 'x' WHERE false;
:sqlstate
DELETE FROM ao WHERE event_id = '00000000-0000-4000-8000-00000000a001';
:sqlstate
TRUNCATE ao;
:sqlstate
MERGE INTO ao USING (VALUES ('00000000-0000-4000-8000-00000000a001'::uuid)) AS s(id) ON ao.event_id = s.id
 WHEN MATCHED THEN UPDATE SET subject = 'x';
:sqlstate
MERGE INTO ao USING (VALUES ('00000000-0000-4000-8000-00000000a001'::uuid)) AS s(id) ON ao.event_id = s.id
 WHEN MATCHED THEN DELETE;
:sqlstate
-- A bucket.
UPDATE ao_b1 SET subject = 'x';
:sqlstate
DELETE FROM ao_b1;
:sqlstate
TRUNCATE ao_b0;
:sqlstate
MERGE INTO ao_b0 t USING (SELECT 1) s ON true WHEN MATCHED THEN DELETE;
:sqlstate
-- A time partition that ingest made for history.
UPDATE ao_b1_p2024_02_01 SET payload = '{}';
:sqlstate
DELETE FROM ao_b0_p2024_02_01;
:sqlstate
TRUNCATE ao_b0_p2024_02_01;
:sqlstate
MERGE INTO ao_b1_p2024_02_01 t USING (SELECT 1) s ON true WHEN MATCHED THEN UPDATE SET subject = 'x';
:sqlstate
-- A time partition that run_maintenance made.
UPDATE ao_b1_p2024_03_01 SET payload = '{}';
:sqlstate
DELETE FROM ao_b1_p2024_03_01;
:sqlstate
TRUNCATE ao_b1_p2024_03_01;
:sqlstate
-- A default partition.
UPDATE ao_b0_default SET subject = 'x';
:sqlstate
DELETE FROM ao_b1_default;
:sqlstate
TRUNCATE ao_b1_default;
:sqlstate
-- Every relation of the log (today's partitions included), each statement.
SELECT s.verb, count(*) = (SELECT count(*) FROM pg_partition_tree('ao')) AS every_relation,
	   string_agg(DISTINCT regress.outcome(format(s.stmt, t.relid::regclass)), ' | ') AS outcomes
  FROM pg_partition_tree('ao') t
 CROSS JOIN (VALUES ('1 update', 'UPDATE %s SET subject = subject'),
					('2 delete', 'DELETE FROM %s'),
					('3 truncate', 'TRUNCATE %s'),
					('4 merge update', 'MERGE INTO %s t USING (SELECT 1) s ON true WHEN MATCHED THEN UPDATE SET subject = NULL'),
					('5 merge delete', 'MERGE INTO %s t USING (SELECT 1) s ON true WHEN MATCHED THEN DELETE')) AS s(verb, stmt)
 GROUP BY s.verb ORDER BY 1;

-- The owner (eventlog_admin) is refused as well.
SET ROLE regress_eventlog_admin;
DELETE FROM ao;
:sqlstate
TRUNCATE ao_b1_p2024_02_01;
:sqlstate
RESET ROLE;

-- session_replication_role = replica does not switch the triggers off.
SET session_replication_role = replica;
UPDATE ao SET subject = 'x';
:sqlstate
DELETE FROM ao_b1_p2024_02_01;
:sqlstate
TRUNCATE ao;
:sqlstate
DROP TABLE ao_b1_p2024_03_01;
:sqlstate
RESET session_replication_role;

-- DDL that would remove events or the protection.
DROP TABLE ao;
:sqlstate
DROP TABLE ao_b0;
:sqlstate
DROP TABLE ao_b1_p2024_02_01;
:sqlstate
DROP TABLE ao_b0_default;
:sqlstate
ALTER TABLE ao DETACH PARTITION ao_b0;
:sqlstate
ALTER TABLE ao_b1 DETACH PARTITION ao_b1_p2024_03_01;
:sqlstate
ALTER TABLE ao DISABLE TRIGGER eventlog_append_only_row;
:sqlstate
ALTER TABLE ao DISABLE TRIGGER ALL;
:sqlstate
ALTER TABLE ao_b1_p2024_02_01 DISABLE TRIGGER USER;
:sqlstate
ALTER TABLE ao ENABLE REPLICA TRIGGER eventlog_append_only_stmt;
:sqlstate
ALTER TABLE ao ENABLE TRIGGER eventlog_append_only_stmt;
:sqlstate
DROP TRIGGER eventlog_append_only_stmt ON ao;
:sqlstate
DROP TRIGGER eventlog_append_only_stmt ON ao_b1_p2024_02_01;
:sqlstate
DROP TRIGGER eventlog_default_watch ON ao_b0_default;
:sqlstate
ALTER TABLE ao DROP COLUMN metadata;
:sqlstate
ALTER TABLE ao ALTER COLUMN subject TYPE varchar(2000);
:sqlstate
ALTER TABLE ao_b1_p2024_02_01 SET UNLOGGED;
:sqlstate
-- DROP SCHEMA ... CASCADE over a log.
CREATE SCHEMA ev_ao;
GRANT CREATE, USAGE ON SCHEMA ev_ao TO eventlog_admin;
SELECT eventlog.create_log('ev_ao.inner_log', '1 day', 2, NULL, 1);
DROP SCHEMA ev_ao CASCADE;
:sqlstate
SELECT to_regclass('ev_ao.inner_log') IS NOT NULL AS still_there;

-- Nothing changed: the five events, and every partition (those that ingest
-- and run_maintenance made too) has its ENABLE ALWAYS statement trigger.
SELECT count(*) AS events, string_agg(payload->>'n', ',' ORDER BY payload->>'n') AS payloads,
	   count(*) FILTER (WHERE subject IS NOT NULL) AS with_subject FROM ao;
SELECT count(*) = (SELECT count(*) FROM pg_partition_tree('ao')) AS every_relation,
	   bool_and(EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = t.relid AND g.tgname = 'eventlog_append_only_stmt'
						AND g.tgenabled = 'A')) AS stmt_trigger_always,
	   bool_and(EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = t.relid AND g.tgname = 'eventlog_append_only_row'
						AND g.tgenabled = 'A')) AS row_trigger_always
  FROM pg_partition_tree('ao') t;

-- INSERT, and MERGE that only inserts, are what a log is for.
INSERT INTO ao (event_id, tenant_id, event_type, payload)
VALUES ('00000000-0000-4000-8000-00000000a006', 'acme', 'user.login', '{"n": 6}');
MERGE INTO ao USING (VALUES ('00000000-0000-4000-8000-00000000a007'::uuid)) AS s(id) ON ao.event_id = s.id
 WHEN NOT MATCHED THEN INSERT (event_id, tenant_id, event_type, payload) VALUES (s.id, 'globex', 'user.login', '{"n": 7}');
SELECT count(*) AS events FROM ao;

-- Tables that are not logs are left alone.
CREATE TABLE not_a_log (id int);
INSERT INTO not_a_log VALUES (1), (2);
UPDATE not_a_log SET id = id + 1;
DELETE FROM not_a_log WHERE id = 2;
ALTER TABLE not_a_log DISABLE TRIGGER ALL;
TRUNCATE not_a_log;
DROP TABLE not_a_log;
SELECT to_regclass('not_a_log') IS NULL AS dropped;

-- drop_log is the way out, for logs in any schema.
SELECT eventlog.drop_log('ao');
SELECT eventlog.drop_log('ev_ao.inner_log');
SELECT to_regclass('ao') IS NULL AS ao_dropped, to_regclass('ao_b1_p2024_02_01') IS NULL AS partition_dropped,
	   to_regclass('ev_ao.inner_log') IS NULL AS inner_dropped;
DROP SCHEMA ev_ao;

-- Other users' tables are none of the guard's business: a role outside the
-- eventlog roles, with no rights on schema eventlog, creates, alters and
-- drops its own tables (regression: the guard looked logs up with the
-- caller's rights and refused every DROP TABLE of such a role).
CREATE SCHEMA unrelated;
GRANT CREATE, USAGE ON SCHEMA unrelated TO regress_eventlog_nobody;
SET ROLE regress_eventlog_nobody;
CREATE TABLE unrelated.t (x int);
ALTER TABLE unrelated.t DISABLE TRIGGER ALL;
DROP TABLE unrelated.t;
SELECT to_regclass('unrelated.t') IS NULL AS dropped_by_its_owner;
RESET ROLE;
DROP SCHEMA unrelated;
