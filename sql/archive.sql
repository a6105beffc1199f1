-- archive: past cold_after, maintenance exports partitions to compressed
-- NDJSON files with manifests and drops them; queries over archived ranges
-- warn; restore() brings them back byte-equal, checks the file's checksum,
-- and redacts what was forgotten meanwhile; then each error.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
-- Runs a statement; its error, with the data directory and checksums masked.
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(replace(SQLERRM, current_setting('eventlog.archive_root'), 'DATADIR'),
											  '[0-9a-f]{64}', 'SHA', 'g');
END
$$;

-- archive_root: here, the cluster's data directory (a dedicated volume in
-- production); each archive_dir must lie inside it.
SELECT current_setting('data_directory') AS datadir \gset
ALTER SYSTEM SET eventlog.archive_root = :'datadir';
SELECT pg_reload_conf();
SELECT pg_sleep(0.3);
SELECT current_setting('eventlog.archive_root') = :'datadir' AS archive_root_set;

SELECT eventlog.create_log('ar', '1 day', 2, NULL, 1);
SELECT eventlog.ingest('ar', jsonb_agg(jsonb_build_object(
		'event_id', format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0')),
		'tenant_id', 't' || (i % 3), 'event_type', 'e', 'subject', 's' || (i % 4),
		'occurred_at', timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour' - interval '1 second',
		'payload', jsonb_build_object('i', i, 'n', 1.50, 'text', 'ünïcødé "quoted" \ slash', 'nested', jsonb_build_object('a', jsonb_build_array(1, null, true))),
		'metadata', CASE WHEN i % 5 = 0 THEN NULL ELSE jsonb_build_object('ip', '10.0.0.' || i) END,
		'received_at', timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour') ORDER BY i)) AS written
  FROM generate_series(1, 60) i;
CREATE TEMP TABLE before AS SELECT * FROM ar;

SELECT eventlog.set_tiering('ar', warm_after => '2 days', cold_after => '30 days',
							archive_dir => :'datadir' || '/eventlog_archive');
SELECT count(*) FROM eventlog.run_maintenance('ar');
SELECT details - 'redacted' AS details FROM eventlog.maintenance_runs WHERE log = 'ar'::regclass ORDER BY id DESC LIMIT 1;

-- The partitions are gone from the table, listed as archived, one file and
-- one manifest each, named by date and bucket.
SELECT count(*) AS rows_left FROM ar;
SELECT bucket, range_from, range_to, rows FROM eventlog.archived_ranges('ar');
SELECT tier, count(*) FROM eventlog.tiers WHERE log = 'ar'::regclass GROUP BY tier;
SELECT f FROM pg_ls_dir(:'datadir' || '/eventlog_archive/ar') f ORDER BY f;
SELECT m->>'file' AS file, m->'rows' AS rows, length(m->>'sha256') AS sha_len, m->'meta'->>'bucket' AS bucket,
	   m->'meta'->>'range_from' AS range_from
  FROM (SELECT pg_read_file(replace(file, '.ndjson.gz', '.manifest.json'))::jsonb AS m
		  FROM eventlog.archives WHERE log = 'ar'::regclass ORDER BY range_from, bucket LIMIT 1) s;
SELECT a.file_sha256 = m->>'sha256' AS manifest_matches_catalog,
	   encode(sha256(pg_read_binary_file(a.file)), 'hex') = a.file_sha256 AS file_matches
  FROM eventlog.archives a,
	   LATERAL (SELECT pg_read_file(replace(a.file, '.ndjson.gz', '.manifest.json'))::jsonb AS m) s
 WHERE a.log = 'ar'::regclass ORDER BY a.range_from, a.bucket LIMIT 1;

-- A query over an archived range says what it could not see.
SELECT count(*) FROM eventlog.events('ar', 't1', '2024-01-01', '2024-01-02');
SELECT count(*) FROM eventlog.events('ar', 't1', '2025-01-01', '2025-01-02');

-- Forgetting while archived: the tombstone now; the archived events are
-- redacted when they come back.
SELECT eventlog.forget('ar', 't1', 's1', 'erasure while archived') AS erased_now;

-- restore(): every event back, byte-equal except the forgotten ones, which are
-- redacted; the seals verify (re-sealed by the redaction).
SELECT eventlog.restore('ar', '2024-01-01', '2024-02-01') AS restored;
SELECT count(*) AS rows_back FROM ar WHERE event_type = 'e';
SELECT count(*) AS differ
  FROM before b FULL JOIN (SELECT * FROM ar WHERE event_type = 'e') a USING (event_id)
 WHERE a.event_id IS NULL OR b.event_id IS NULL
	OR (NOT (b.tenant_id = 't1' AND b.subject = 's1')
		AND (a.tenant_id, a.event_type, a.subject, a.occurred_at, a.received_at, a.schema_version, a.payload, a.metadata)
			IS DISTINCT FROM (b.tenant_id, b.event_type, b.subject, b.occurred_at, b.received_at, b.schema_version, b.payload, b.metadata));
SELECT count(*) FILTER (WHERE payload ? 'redacted' AND metadata IS NULL) AS forgotten_redacted, count(*) AS forgotten
  FROM ar WHERE tenant_id = 't1' AND subject = 's1' AND event_type = 'e';
SELECT count(*) AS sealed, bool_and(ok) AS all_ok FROM eventlog.verify('ar', '2024-01-01', '2024-02-01');
SELECT count(*) AS still_archived FROM eventlog.archived_ranges('ar');
SELECT tier, count(*) FROM eventlog.tiers WHERE log = 'ar'::regclass GROUP BY tier;
-- Restored ranges stay: maintenance does not archive them again.
SELECT count(*) FROM eventlog.run_maintenance('ar');
SELECT details->'archived' AS archived FROM eventlog.maintenance_runs WHERE log = 'ar'::regclass ORDER BY id DESC LIMIT 1;
SELECT eventlog.restore('ar', '2024-01-01', '2024-02-01') AS restored_again;

-- A damaged archive file is refused, naming the file; nothing is restored.
SELECT eventlog.create_log('ar2', '1 day', 1, NULL, 1);
SELECT eventlog.ingest('ar2', '[{"tenant_id": "t", "event_type": "e", "payload": {}, "received_at": "2024-01-01 01:00:00+00"}]');
SELECT eventlog.set_tiering('ar2', '2 days', '30 days', archive_dir => :'datadir' || '/eventlog_archive');
SELECT count(*) FROM eventlog.run_maintenance('ar2');
SELECT file AS damaged FROM eventlog.archives WHERE log = 'ar2'::regclass \gset
COPY (SELECT 'not the archive') TO :'damaged';
SELECT pg_temp.try($$SELECT eventlog.restore('ar2', '-infinity', 'infinity')$$) AS restore_damaged;
SELECT count(*) AS ar2_rows FROM ar2;

-- Errors.
SELECT pg_temp.try($$SELECT eventlog.set_tiering('ar', '2 days', '30 days', archive_dir => '/etc')$$) AS outside_root;
SELECT eventlog.restore('pg_class', '-infinity', 'infinity');
:sqlstate
SELECT eventlog.restore('ar', NULL, 'infinity');
:sqlstate
SET ROLE regress_eventlog_writer;
SELECT eventlog.restore('ar', '-infinity', 'infinity');
:sqlstate
SELECT * FROM eventlog._archive_partition('ar', 'ar', '/tmp', 'x', '{}');
:sqlstate
RESET ROLE;
SET ROLE regress_eventlog_admin;
-- eventlog_admin may call the internals, never with a path of its choosing.
SELECT pg_temp.try($$SELECT * FROM eventlog._archive_partition('ar', 'ar', '/tmp', 'x', '{}')$$) AS archive_to_tmp;
SELECT pg_temp.try($$SELECT eventlog._restore_file('ar', '/etc/passwd', 'x', 1)$$) AS restore_passwd;
RESET ROLE;

SELECT eventlog.drop_log('ar');
SELECT eventlog.drop_log('ar2');
ALTER SYSTEM RESET eventlog.archive_root;
SELECT pg_reload_conf();
