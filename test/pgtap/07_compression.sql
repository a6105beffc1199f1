-- A log compresses payload and metadata with lz4 (pglz on a server built
-- without it) on every partition: those create_log makes, those made on
-- demand for a load of history and those maintenance makes ahead (pg_partman
-- makes them with LIKE, which does not copy a column's compression method:
-- the extension's event trigger does). A log whose owner chose another
-- method keeps it for the partitions made after.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(10);

CREATE SCHEMA tap;
GRANT CREATE, USAGE ON SCHEMA tap TO eventlog_admin;
SELECT eventlog.create_log('tap.c', '1 day', 2, NULL, 1) IS NOT NULL AS created_c \gset
SELECT eventlog.create_log('tap.p', '1 day', 2, NULL, 1) IS NOT NULL AS created_p \gset

-- The methods of payload and metadata over a log's relations (root, buckets, leaves).
CREATE FUNCTION pg_temp.methods(p regclass) RETURNS TABLE (method text, columns int)
LANGUAGE sql AS $$
	SELECT a.attcompression::text, count(*)::int
	  FROM pg_partition_tree(p) t
	  JOIN pg_attribute a ON a.attrelid = t.relid AND a.attname IN ('payload', 'metadata')
	 GROUP BY 1
$$;
CREATE FUNCTION pg_temp.history_event(ts text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_array(jsonb_build_object('tenant_id', 'a', 'event_type', 't', 'received_at', ts,
		'payload', jsonb_build_object('big', repeat(md5(ts), 200)), 'metadata', jsonb_build_object('m', 1)))
$$;

SELECT is(eventlog._toast_method(), 'lz4', 'this server has lz4 (Debian''s PostgreSQL 15 is built with it)');
SELECT results_eq($$SELECT * FROM pg_temp.methods('tap.c')$$,
				  $$SELECT 'l', 2 * (SELECT count(*)::int FROM pg_partition_tree('tap.c'))$$,
				  'every relation of a new log compresses payload and metadata with lz4');

-- A load of history: its partition is made on demand.
SELECT is(eventlog.ingest('tap.c', pg_temp.history_event('2024-01-01T00:00:00Z')), 1::bigint,
		  'an event of 2024-01-01 is ingested');
SELECT is((SELECT pg_column_compression(payload) || ' in ' || regexp_replace(tableoid::regclass::text, '_b\d+_', '_b?_') FROM tap.c),
		  'lz4 in tap.c_b?_p2024_01_01', 'its big payload, in the partition made for it, is compressed with lz4');
SELECT results_eq($$SELECT * FROM pg_temp.methods('tap.c')$$,
				  $$SELECT 'l', 2 * (SELECT count(*)::int FROM pg_partition_tree('tap.c'))$$,
				  'so is every relation of the log after it');

-- Maintenance makes partitions ahead (premake raised from 1 to 3).
UPDATE eventlog.log_config SET premake = 3 WHERE log = 'tap.c'::regclass;
SELECT eventlog._partman_schema() AS partman \gset
UPDATE :partman.part_config SET premake = 3 WHERE parent_table LIKE 'tap.c_b%';
SELECT count(*)::int AS before FROM pg_partition_tree('tap.c') \gset
SELECT count(*) AS runs FROM eventlog.run_maintenance('tap.c') \gset
SELECT cmp_ok((SELECT count(*)::int FROM pg_partition_tree('tap.c')), '>', :before,
			  'maintenance made partitions ahead');
SELECT results_eq($$SELECT * FROM pg_temp.methods('tap.c')$$,
				  $$SELECT 'l', 2 * (SELECT count(*)::int FROM pg_partition_tree('tap.c'))$$,
				  'they compress payload and metadata with lz4 too');

-- An owner's choice of pglz for a log (every relation of it) holds for partitions made after.
DO $$
DECLARE
	r regclass;
BEGIN
	FOR r IN SELECT relid FROM pg_partition_tree('tap.p') LOOP
		EXECUTE format('ALTER TABLE ONLY %s ALTER COLUMN payload SET COMPRESSION pglz,'
					   ' ALTER COLUMN metadata SET COMPRESSION pglz', r);
	END LOOP;
END $$;
SELECT is(eventlog.ingest('tap.p', pg_temp.history_event('2024-01-02T00:00:00Z')), 1::bigint,
		  'an event of 2024-01-02 is ingested into the pglz log');
SELECT is((SELECT pg_column_compression(payload) FROM tap.p), 'pglz',
		  'its payload, in the partition made for it, is compressed with pglz');
SELECT results_eq($$SELECT * FROM pg_temp.methods('tap.p')$$,
				  $$SELECT 'p', 2 * (SELECT count(*)::int FROM pg_partition_tree('tap.p'))$$,
				  'every relation of the pglz log, the new partition too, has pglz');

SELECT * FROM finish();
ROLLBACK;
