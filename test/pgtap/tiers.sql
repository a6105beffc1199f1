-- Storage tiers in one session: warm compaction keeps every column value,
-- orders rows by (tenant_id, received_at) and recompresses payloads with lz4;
-- archiving writes one gzip file and one manifest per partition whose
-- checksums match the files and the catalog, and drops the partitions;
-- archived_ranges()/partitions() name the archived ranges; restore() brings
-- back rows equal in every column; the append-only rule holds on warm and
-- restored partitions; a changed file is refused by name and nothing of it is
-- loaded; a temp file left by a crashed run is replaced.
-- (Cold tablespace: sql/tiers.sql; kill -9 during an archive: test/e2e/archive_crash.sh.)

-- Archive files must lie inside eventlog.archive_root, a server setting
-- (ALTER SYSTEM cannot run inside the test's transaction).
SELECT current_setting('data_directory') AS datadir \gset
ALTER SYSTEM SET eventlog.archive_root = :'datadir';
SELECT pg_reload_conf() AS reloaded \gset
SELECT pg_sleep(0.3) AS slept \gset

BEGIN;
SET LOCAL timezone = 'UTC';
SET LOCAL client_min_messages = warning;
SELECT plan(29);
SELECT :'datadir' || '/eventlog_tap_tiers_' || pg_backend_pid() AS dir \gset

CREATE SCHEMA tap;
GRANT CREATE, USAGE ON SCHEMA tap TO eventlog_admin;
SELECT eventlog.create_log('tap.w', '1 day', 2, NULL, 1) IS NOT NULL AS created_w \gset
SELECT eventlog.create_log('tap.a', '1 day', 2, NULL, 1) IS NOT NULL AS created_a \gset
-- tap.w writes with pglz (its owner's choice, which the partitions made for
-- its history follow), so that warm compaction has payloads to recompress.
DO $$
DECLARE
	r regclass;
BEGIN
	FOR r IN SELECT relid FROM pg_partition_tree('tap.w') LOOP
		EXECUTE format('ALTER TABLE ONLY %s ALTER COLUMN payload SET COMPRESSION pglz,'
					   ' ALTER COLUMN metadata SET COMPRESSION pglz', r);
	END LOOP;
END $$;

-- Three days of history with every kind of value: NULLs, unicode, escapes,
-- numeric scale, nested JSON, payloads big enough to be compressed.
CREATE TEMP TABLE src AS
SELECT jsonb_build_object(
		'event_id', format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0')),
		'tenant_id', 'tenant-' || (i % 5), 'event_type', 'kind.' || (i % 3),
		'subject', CASE WHEN i % 4 <> 0 THEN 'user ' || (i % 7) END,
		'occurred_at', CASE WHEN i % 2 = 0 THEN (timestamptz '2024-02-29 23:00+00' + i * interval '1 second')::text END,
		'received_at', (timestamptz '2024-03-01 00:00+00' + (i * 131 % 4300) * interval '1 minute'
						+ i * interval '1 microsecond')::text,
		'schema_version', 1 + i % 2,
		'payload', jsonb_build_object('i', i, 'price', 10.50, 'tiny', 1e-7,
									  'name', 'Zoë "quoted" \ back' || E'\t' || 'tab',
									  'nested', jsonb_build_object('list', jsonb_build_array(1, 'two', NULL, true)),
									  'big', CASE WHEN i % 10 = 0 THEN repeat(md5(i::text), 100) END),
		'metadata', CASE WHEN i % 3 = 0 THEN jsonb_build_object('ip', '10.0.0.' || (i % 255), 'nl', E'a\nb') END) AS e
  FROM generate_series(1, 500) i;
SELECT is(eventlog.ingest('tap.w', (SELECT jsonb_agg(e) FROM src)), 500::bigint, 'ingested 500 events of history');
SELECT eventlog.ingest('tap.a', (SELECT jsonb_agg(e) FROM src)) AS n_a \gset
CREATE TEMP TABLE before_w AS SELECT event_id, md5(t::text) AS h FROM tap.w t;
CREATE TEMP TABLE before_a AS SELECT event_id, md5(t::text) AS h, payload FROM tap.a t;

-- Warm.
SELECT is((SELECT count(*)::int FROM tap.w WHERE pg_column_compression(payload) = 'pglz'), 50,
		  'ingest compressed the 50 big payloads with pglz, the log''s method');
SELECT eventlog.set_tiering('tap.w', '1 day');
SELECT count(*) AS runs FROM eventlog.run_maintenance('tap.w') \gset
SELECT (SELECT details FROM eventlog.maintenance_runs WHERE log = 'tap.w'::regclass ORDER BY id DESC LIMIT 1) AS details_w \gset
SELECT is((:'details_w'::jsonb ->> 'compacted')::int,
		  (SELECT count(*)::int FROM eventlog.partitions('tap.w') WHERE range_to <= '2024-03-05'),
		  'maintenance compacted every closed partition');
SELECT is((SELECT count(*)::int FROM eventlog.partitions('tap.w') WHERE tier = 'warm'),
		  (SELECT count(*)::int FROM eventlog.partitions('tap.w') WHERE range_to <= '2024-03-05'),
		  'partitions() says warm');
SELECT is((SELECT count(*)::int FROM tap.w t FULL JOIN before_w b USING (event_id) WHERE b.h IS DISTINCT FROM md5(t::text)),
		  0, 'compaction kept every column value of every row');
SELECT is((SELECT count(*)::int FROM (SELECT row_number() OVER (ORDER BY ctid) AS p,
										   row_number() OVER (ORDER BY tenant_id, received_at) AS l
									  FROM tap.w_b1_p2024_03_02) s WHERE p <> l),
		  0, 'a warm partition is stored in (tenant_id, received_at) order');
SELECT is((SELECT count(*)::int FROM tap.w WHERE pg_column_compression(payload) = 'lz4'), 50,
		  'compaction recompressed the big payloads with lz4');
SELECT is((SELECT count(*)::int FROM eventlog.verify('tap.w') WHERE NOT ok), 0, 'the seals of warm partitions verify');
SELECT throws_ok('UPDATE tap.w_b1_p2024_03_02 SET payload = ''{}''', 'LG001', NULL,
				 'UPDATE of a warm partition fails with LG001');

-- Archive.
CREATE TEMP TABLE leaves_a AS SELECT * FROM eventlog.partitions('tap.a') WHERE range_to <= '2024-03-05';
-- What a crashed run leaves: a temp file of the first partition's archive.
SELECT format('COPY (SELECT 1) TO PROGRAM %L', 'mkdir -p ' || :'dir' || '/a && cat >/dev/null') AS mk \gset
:mk;
SELECT format('COPY (SELECT %L) TO %L', 'partial', :'dir' || '/a/2024-03-01T000000_b00.ndjson.gz.tmp') AS leftover \gset
:leftover;
SELECT eventlog.set_tiering('tap.a', '1 day', '2 days', archive_dir => :'dir');
SELECT count(*) AS runs FROM eventlog.run_maintenance('tap.a') \gset
SELECT (SELECT details FROM eventlog.maintenance_runs WHERE log = 'tap.a'::regclass ORDER BY id DESC LIMIT 1) AS details_a \gset
SELECT is((:'details_a'::jsonb ->> 'archived')::int, (SELECT count(*)::int FROM leaves_a),
		  'maintenance archived every partition past cold_after');
SELECT is((SELECT count(*)::int FROM tap.a WHERE received_at < '2024-03-05'), 0, 'the archived rows left the log');
SELECT is((SELECT count(*)::int FROM leaves_a l WHERE to_regclass(l.partition::text) IS NOT NULL), 0,
		  'the archived partitions were dropped');
SELECT is((SELECT sum(rows)::int FROM eventlog.archives WHERE log = 'tap.a'::regclass), 500, 'the archives hold every row');
SELECT is((SELECT count(*)::int FROM eventlog.archives a
			WHERE a.log = 'tap.a'::regclass AND encode(sha256(pg_read_binary_file(a.file)), 'hex') = a.file_sha256),
		  (SELECT count(*)::int FROM leaves_a), 'each file exists and matches its recorded sha256');
SELECT is((SELECT count(*)::int FROM eventlog.archives a,
				  LATERAL (SELECT pg_read_file(replace(a.file, '.ndjson.gz', '.manifest.json'))::jsonb AS m) f
			WHERE a.log = 'tap.a'::regclass AND f.m ->> 'sha256' = a.file_sha256 AND (f.m ->> 'rows')::bigint = a.rows
			  AND f.m -> 'meta' ->> 'content_sha256' = encode(a.content_sha256, 'hex')
			  AND (f.m -> 'meta' ->> 'range_from')::timestamptz = a.range_from
			  AND (f.m -> 'meta' ->> 'range_to')::timestamptz = a.range_to
			  AND (f.m -> 'meta' ->> 'bucket')::int = a.bucket),
		  (SELECT count(*)::int FROM leaves_a), 'each manifest records checksums, rows, range and bucket');
SELECT is((SELECT count(*)::int FROM eventlog.archives a
			WHERE a.log = 'tap.a'::regclass
			  AND a.file ~ ('/' || to_char(a.range_from, 'YYYY-MM-DD"T"HH24MISS') || '_b' || lpad(a.bucket::text, 2, '0')
							|| '\.ndjson\.gz$')),
		  (SELECT count(*)::int FROM leaves_a), 'files are named by date and bucket');
SELECT is((SELECT count(*)::int FROM eventlog.archives a, LATERAL pg_ls_dir(regexp_replace(a.file, '/[^/]*$', '')) f
			WHERE a.log = 'tap.a'::regclass AND f LIKE '%.tmp'), 0, 'no temp file is left');
SELECT is((SELECT count(*)::int FROM eventlog.archived_ranges('tap.a', '2024-03-01', '2024-03-10')),
		  (SELECT count(*)::int FROM leaves_a), 'archived_ranges() names every archived range');
SELECT is((SELECT count(*)::int FROM eventlog.tiers WHERE log = 'tap.a'::regclass AND tier = 'archived'),
		  (SELECT count(*)::int FROM leaves_a), 'the tiers catalog says archived');

-- A changed file is refused by name, and nothing of it is loaded.
SELECT file AS victim FROM eventlog.archives WHERE log = 'tap.a'::regclass ORDER BY range_from, bucket LIMIT 1 \gset
SELECT format('COPY (SELECT 1) TO PROGRAM %L', 'cp ' || :'victim' || ' ' || :'victim' || '.orig && cat >/dev/null') AS keep \gset
:keep;
SELECT format('COPY (SELECT %L) TO %L', 'tampered', :'victim') AS tamper \gset
:tamper;
SELECT throws_like($$SELECT eventlog.restore('tap.a', '2024-03-01', '2024-03-10')$$,
				   '%archive file "' || :'victim' || '" does not match its checksum%',
				   'restore() refuses a changed file and names it');
SELECT is((SELECT count(*)::int FROM tap.a WHERE received_at < '2024-03-05'), 0, 'nothing was restored');
-- Put the original back.
SELECT format('COPY (SELECT 1) TO PROGRAM %L', 'mv ' || :'victim' || '.orig ' || :'victim' || ' && cat >/dev/null') AS untamper \gset
:untamper;

-- Restore.
SELECT is(eventlog.restore('tap.a', '2024-03-01', '2024-03-10'), 500::bigint, 'restore() loads every row back');
SELECT is((SELECT count(*)::int FROM tap.a t FULL JOIN before_a b USING (event_id) WHERE b.h IS DISTINCT FROM md5(t::text)),
		  0, 'restored rows equal the archived ones in every column');
SELECT is((SELECT count(*)::int FROM tap.a t JOIN before_a b USING (event_id) WHERE t.payload = b.payload), 500,
		  'restored payloads are equal jsonb');
SELECT is((SELECT count(*)::int FROM eventlog.archived_ranges('tap.a', '2024-03-01', '2024-03-10')), 0,
		  'nothing is archived after restore');
SELECT is((SELECT count(*)::int FROM eventlog.tiers WHERE log = 'tap.a'::regclass AND tier = 'restored'),
		  (SELECT count(*)::int FROM leaves_a), 'restored ranges are in the tier restored');
SELECT count(*) AS runs FROM eventlog.run_maintenance('tap.a') \gset
SELECT is((SELECT (details ->> 'archived')::int FROM eventlog.maintenance_runs WHERE log = 'tap.a'::regclass
			ORDER BY id DESC LIMIT 1), 0, 'maintenance does not archive restored ranges again');
SELECT throws_ok('DELETE FROM tap.a WHERE received_at < ''2024-03-05''', 'LG001', NULL,
				 'DELETE of restored rows fails with LG001');
SELECT is((SELECT count(*)::int FROM eventlog.events('tap.a', 'tenant-1', '2024-03-01', '2024-03-10', max_rows => 1000)),
		  100, 'events() reads the restored rows');

SELECT format('COPY (SELECT 1) TO PROGRAM %L', 'rm -rf ' || :'dir' || ' && cat >/dev/null') AS cleanup \gset
:cleanup;
SELECT * FROM finish();
ROLLBACK;
-- The server setting goes back as it was.
ALTER SYSTEM RESET eventlog.archive_root;
SELECT pg_reload_conf() AS reloaded \gset
