-- The append-only rule as a property: on every relation of a log (root,
-- buckets, time partitions made by create_log, by ingest for history and by
-- run_maintenance, default partitions), UPDATE, DELETE, TRUNCATE and MERGE
-- fail with LG001, and so do DROP TABLE and DETACH PARTITION; for a
-- superuser, for the owner, and under session_replication_role = replica.
BEGIN;
CREATE SCHEMA tap;
GRANT CREATE, USAGE ON SCHEMA tap TO eventlog_admin;
SELECT eventlog.create_log('tap.log', '1 hour', 3, NULL, 2) IS NOT NULL AS created \gset
-- Events now, history that ingest makes partitions for, and a plain INSERT
-- of history that run_maintenance moves out of a default partition.
SELECT eventlog.ingest('tap.log', (SELECT jsonb_agg(jsonb_build_object(
		'tenant_id', 'tenant' || (i % 5), 'event_type', 'e', 'payload', jsonb_build_object('i', i),
		'received_at', CASE WHEN i % 2 = 0 THEN NULL ELSE (timestamptz '2024-03-01 00:00+00' + i * interval '37 minutes')::text END))
	  FROM generate_series(1, 60) i)) AS ingested \gset
INSERT INTO tap.log (tenant_id, event_type, payload, received_at)
SELECT 'tenant' || i, 'plain', '{}', timestamptz '2024-04-01 00:00+00' + i * interval '1 day' FROM generate_series(1, 3) i;
SELECT rows_moved FROM eventlog.run_maintenance('tap.log') \gset
CREATE TEMP TABLE rels AS
SELECT t.relid::regclass AS rel, t.level, t.isleaf, t.parentrelid::regclass AS parent
  FROM pg_partition_tree('tap.log') t;
CREATE TEMP TABLE before AS SELECT count(*) AS n, md5(string_agg(event_id::text || payload::text, ',' ORDER BY event_id)) AS digest FROM tap.log;

SELECT plan(9 * (SELECT count(*)::int FROM rels) - 1 + 13);

SELECT is(:ingested::int, 60, 'ingest wrote 60 events');
SELECT is(:rows_moved::int, 3, 'run_maintenance moved the 3 rows of history out of default partitions');
SELECT cmp_ok((SELECT count(*)::int FROM rels WHERE isleaf), '>', 3 * 4, 'the log has partitions made after create_log');

-- Every relation carries the statement trigger, ENABLE ALWAYS.
SELECT ok(EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = rel AND g.tgname = 'eventlog_append_only_stmt' AND g.tgenabled = 'A'),
		  format('%s has eventlog_append_only_stmt, ENABLE ALWAYS', rel))
  FROM rels ORDER BY level, rel::text;

-- Each statement on each relation, as superuser.
SELECT throws_ok(format('UPDATE %s SET subject = ''x''', rel), 'LG001', NULL, format('UPDATE %s: LG001', rel))
  FROM rels ORDER BY level, rel::text;
SELECT throws_ok(format('DELETE FROM %s', rel), 'LG001', NULL, format('DELETE FROM %s: LG001', rel))
  FROM rels ORDER BY level, rel::text;
SELECT throws_ok(format('TRUNCATE %s', rel), 'LG001', NULL, format('TRUNCATE %s: LG001', rel))
  FROM rels ORDER BY level, rel::text;
SELECT throws_ok(format('MERGE INTO %s t USING (SELECT 1) s ON true WHEN MATCHED THEN DELETE', rel), 'LG001', NULL,
				 format('MERGE ... DELETE INTO %s: LG001', rel))
  FROM rels ORDER BY level, rel::text;
SELECT throws_ok(format('MERGE INTO %s t USING (SELECT 1) s ON true WHEN MATCHED THEN UPDATE SET subject = ''x''', rel), 'LG001', NULL,
				 format('MERGE ... UPDATE INTO %s: LG001', rel))
  FROM rels ORDER BY level, rel::text;
SELECT throws_ok(format('DROP TABLE %s', rel), 'LG001', NULL, format('DROP TABLE %s: LG001', rel))
  FROM rels ORDER BY level, rel::text;
SELECT throws_ok(format('ALTER TABLE %s DETACH PARTITION %s', parent, rel), 'LG001', NULL,
				 format('DETACH PARTITION %s: LG001', rel))
  FROM rels WHERE level > 0 ORDER BY level, rel::text;
SELECT throws_ok(format('ALTER TABLE %s DISABLE TRIGGER ALL', rel), 'LG001', NULL, format('DISABLE TRIGGER ALL on %s: LG001', rel))
  FROM rels ORDER BY level, rel::text;

-- The owner, and replica mode, on the root and on every leaf at once.
SET LOCAL ROLE eventlog_admin;
SELECT throws_ok('DELETE FROM tap.log', 'LG001', NULL, 'DELETE by the owner (eventlog_admin): LG001');
SELECT throws_ok('TRUNCATE tap.log', 'LG001', NULL, 'TRUNCATE by the owner (eventlog_admin): LG001');
SELECT throws_ok('DROP TABLE tap.log', 'LG001', NULL, 'DROP TABLE by the owner (eventlog_admin): LG001');
RESET ROLE;
SET LOCAL session_replication_role = replica;
SELECT is(current_setting('session_replication_role'), 'replica', 'session_replication_role is replica');
SELECT throws_ok('UPDATE tap.log SET subject = ''x''', 'LG001', NULL, 'UPDATE in replica mode: LG001');
SELECT throws_ok('DELETE FROM tap.log', 'LG001', NULL, 'DELETE in replica mode: LG001');
SELECT throws_ok('TRUNCATE tap.log', 'LG001', NULL, 'TRUNCATE in replica mode: LG001');
RESET session_replication_role;

-- Nothing changed, and INSERT still works.
SELECT is((SELECT count(*) FROM tap.log), (SELECT n FROM before), 'no event was removed');
SELECT is((SELECT md5(string_agg(event_id::text || payload::text, ',' ORDER BY event_id)) FROM tap.log),
		  (SELECT digest FROM before), 'no event was changed');
SELECT lives_ok($$INSERT INTO tap.log (tenant_id, event_type, payload) VALUES ('tenant1', 'after', '{}')$$,
				'INSERT is allowed');

SELECT * FROM finish();
ROLLBACK;
