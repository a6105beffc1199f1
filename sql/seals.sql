-- seals: maintenance seals partitions that left the hot tier; verify() passes
-- on an untouched log, names a partition changed behind the extension's back
-- (triggers skipped with session_replication_role = replica) and a broken
-- chain; forget() re-seals with its tombstone; rows added through an ingest
-- path are noted and re-sealed by maintenance; then each documented error.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
-- verify()'s details carry times: show them as T.
CREATE FUNCTION pg_temp.v(log regclass) RETURNS TABLE (partition regclass, ok boolean, detail text)
LANGUAGE sql AS $$
	SELECT partition, ok, regexp_replace(detail, '\d{4}-\d\d-\d\d [0-9:.+]+', 'T', 'g')
	  FROM eventlog.verify(log) ORDER BY partition::text COLLATE "C" NULLS FIRST
$$;

SELECT eventlog.create_log('sl', '1 day', 2, NULL, 1);
SELECT eventlog.ingest('sl', jsonb_agg(jsonb_build_object(
		'event_id', format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0')),
		'tenant_id', CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'globex' END, 'event_type', 'e',
		'subject', 'user' || (i % 3), 'payload', jsonb_build_object('i', i),
		'received_at', timestamptz '2024-01-01 00:00:00+00' + i * interval '3 hours') ORDER BY i)) AS written
  FROM generate_series(1, 16) i;

-- Nothing is sealed before maintenance; then every closed leaf is, chained.
SELECT count(*) AS seals FROM eventlog.seals WHERE log = 'sl'::regclass;
SELECT count(*) FROM eventlog.run_maintenance('sl');
SELECT details->'sealed' AS sealed FROM eventlog.maintenance_runs WHERE log = 'sl'::regclass ORDER BY id DESC LIMIT 1;
SELECT bucket, range_from, range_to, row_count, cause, octet_length(content_hash) AS hash_bytes,
	   (prev_chain IS NULL) = (id = min(id) OVER ()) AS chained
  FROM eventlog.seals WHERE log = 'sl'::regclass ORDER BY id;
SELECT * FROM pg_temp.v('sl');
-- A second run seals nothing new.
SELECT count(*) FROM eventlog.run_maintenance('sl');
SELECT details->'sealed' AS sealed FROM eventlog.maintenance_runs WHERE log = 'sl'::regclass ORDER BY id DESC LIMIT 1;

-- The append-only triggers are ENABLE ALWAYS, so session_replication_role =
-- replica does not get past them; a superuser who disables the guards and the
-- triggers changes one event and removes another: verify() names both.
SET session_replication_role = replica;
UPDATE sl SET payload = '{"i": 999}' WHERE event_id = '00000000-0000-4000-8000-000000000002';
:sqlstate
RESET session_replication_role;
ALTER EVENT TRIGGER eventlog_ddl_guard DISABLE;
ALTER EVENT TRIGGER eventlog_protect_partitions DISABLE;
ALTER TABLE sl DISABLE TRIGGER eventlog_append_only_row, DISABLE TRIGGER eventlog_append_only_stmt;
UPDATE sl SET payload = '{"i": 999}' WHERE event_id = '00000000-0000-4000-8000-000000000002';
DELETE FROM sl WHERE event_id = '00000000-0000-4000-8000-000000000011';
ALTER TABLE sl ENABLE ALWAYS TRIGGER eventlog_append_only_row, ENABLE ALWAYS TRIGGER eventlog_append_only_stmt;
ALTER EVENT TRIGGER eventlog_ddl_guard ENABLE ALWAYS;
ALTER EVENT TRIGGER eventlog_protect_partitions ENABLE ALWAYS;
SELECT * FROM pg_temp.v('sl') WHERE NOT ok;

-- A lawful erasure re-seals with its tombstone, and verifies.
SELECT eventlog.create_log('sl2', '1 day', 2, NULL, 1);
SELECT eventlog.ingest('sl2', jsonb_agg(jsonb_build_object(
		'tenant_id', 'acme', 'event_type', 'e', 'subject', 'user' || (i % 3), 'payload', jsonb_build_object('i', i),
		'received_at', timestamptz '2024-01-01 00:00:00+00' + i * interval '3 hours') ORDER BY i)) AS written
  FROM generate_series(1, 16) i;
SELECT count(*) FROM eventlog.run_maintenance('sl2');
SELECT eventlog.forget('sl2', 'acme', 'user1', 'erasure request') AS erased;
SELECT s.cause, s.tombstone = f.tombstone_id AS tombstone_recorded, s.row_count
  FROM eventlog.seals s JOIN eventlog.forgotten f ON f.log = s.log
 WHERE s.log = 'sl2'::regclass AND s.cause = 'forget' ORDER BY s.id;
SELECT count(*) AS partitions, bool_and(ok) AS all_ok FROM eventlog.verify('sl2');

-- A row loaded into a sealed range through an ingest path is noted; verify()
-- says so until maintenance re-seals.
SELECT eventlog.ingest('sl2', '[{"tenant_id": "acme", "event_type": "late", "payload": {},
								 "received_at": "2024-01-01 05:00:00+00"}]') AS written;
SELECT ok, regexp_replace(detail, '\d{4}-\d\d-\d\d [0-9:.+]+', 'T', 'g') AS detail
  FROM eventlog.verify('sl2') WHERE NOT ok;
SELECT count(*) FROM eventlog.run_maintenance('sl2');
SELECT cause, row_count FROM eventlog.seals WHERE log = 'sl2'::regclass ORDER BY id DESC LIMIT 1;
SELECT count(*) AS partitions, bool_and(ok) AS all_ok FROM eventlog.verify('sl2');

-- An edit of the seals themselves breaks the chain.
UPDATE eventlog.seals SET row_count = row_count + 1
 WHERE id = (SELECT min(id) FROM eventlog.seals WHERE log = 'sl2'::regclass);
SELECT partition, ok, regexp_replace(detail, 'seal [0-9]+', 'seal N') AS detail
  FROM eventlog.verify('sl2') WHERE partition IS NULL;

-- Errors.
SELECT * FROM eventlog.verify('pg_class');
:sqlstate
SELECT * FROM eventlog.verify('sl', NULL, now());
:sqlstate
SET ROLE regress_eventlog_writer;
SELECT * FROM eventlog.verify('sl');
:sqlstate
RESET ROLE;
SELECT eventlog.drop_log('sl');
SELECT eventlog.drop_log('sl2');
SELECT count(*) AS seals_left FROM eventlog.seals;
