-- pruning: a query on one tenant and a time range touches one bucket and only
-- the partitions of that range. Shown with EXPLAIN of the SQL that events()
-- and get_event() run, and proven for the functions themselves with the
-- per-partition scan counters of pg_stat_user_tables.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'

SELECT eventlog.create_log('pr', '1 hour', 4, NULL, 1);
-- Four tenants, one per bucket; 2024-01-01 10:00 to 13:55, 12 events an hour each.
SELECT eventlog.ingest('pr', jsonb_agg(jsonb_build_object(
		'event_id', format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0')),
		'tenant_id', (ARRAY['acme', 'globex', 'stark', 'wayne'])[1 + i % 4],
		'event_type', 'e', 'payload', jsonb_build_object('i', i),
		'received_at', timestamptz '2024-01-01 10:00:00+00' + (i / 4) * interval '5 minutes') ORDER BY i)) AS written
  FROM generate_series(0, 191) i;
-- ... one with a UUIDv7 id of its time (10:15), and one two days later.
SELECT eventlog.ingest('pr', '[{"event_id": "018cc485-00a0-7000-8000-000000000001", "tenant_id": "acme", "event_type": "v7",
								 "payload": {}, "received_at": "2024-01-01 10:15:00+00"},
								{"event_id": "00000000-0000-4000-8000-000000009999", "tenant_id": "acme", "event_type": "later",
								 "payload": {}, "received_at": "2024-01-03 10:00:00+00"}]') AS written;
ANALYZE pr;
-- The buckets the tenants hash to, and the leaves that hold them.
SELECT tenant_id, tableoid::regclass AS leaf, count(*) FROM pr GROUP BY 1, 2 ORDER BY 1, tableoid::regclass::text;

-- events() runs this statement (log named by regclass, values as parameters).
PREPARE events_sql(text, timestamptz, timestamptz, text, text, timestamptz, uuid, int) AS
SELECT event_id, tenant_id, event_type, subject, occurred_at, received_at, schema_version, payload, metadata
  FROM public.pr WHERE tenant_id = $1 AND received_at >= $2 AND received_at < $3
 ORDER BY received_at, event_id LIMIT $8;
-- With the values known (EXECUTE in plpgsql plans with them): one leaf.
EXPLAIN (COSTS OFF) EXECUTE events_sql('acme', '2024-01-01 10:00+00', '2024-01-01 11:00+00', NULL, NULL, NULL, NULL, 1000);
-- A generic plan prunes the same at executor start-up.
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE events_sql('acme', '2024-01-01 10:00+00', '2024-01-01 11:00+00', NULL, NULL, NULL, NULL, 1000);
RESET plan_cache_mode;
-- Other tenants and ranges: each touches the leaves of one bucket and of its range only.
SELECT tenant, range, array_agg(relation ORDER BY relation) AS scanned
  FROM (VALUES ('acme', '10:00 to 12:00', '2024-01-01 10:00+00'::timestamptz, '2024-01-01 12:00+00'::timestamptz),
			   ('globex', '10:30 to 10:45', '2024-01-01 10:30+00', '2024-01-01 10:45+00'),
			   ('wayne', '11:00 to 12:00', '2024-01-01 11:00+00', '2024-01-01 12:00+00')) AS q(tenant, range, f, t),
	   regress.scanned(format('SELECT * FROM public.pr WHERE tenant_id = %L AND received_at >= %L AND received_at < %L'
							  ' ORDER BY received_at, event_id LIMIT 1000', tenant, f, t)) AS relation
 GROUP BY tenant, range ORDER BY tenant;

-- get_event() first looks from an hour before a UUIDv7's time to a day
-- after it, in every bucket: the leaves of that window and the default
-- partitions (which could hold rows of any time); not 2024-01-03's leaf,
-- nor today's.
SELECT eventlog.uuidv7_time('018cc492-bc40-7000-8000-000000000001') AS id_time;
SELECT relation FROM regress.scanned(
	$$SELECT * FROM public.pr WHERE event_id = '018cc492-bc40-7000-8000-000000000001'
		AND received_at >= timestamptz '2024-01-01 10:30+00' - interval '1 hour'
		AND received_at < timestamptz '2024-01-01 10:30+00' + interval '1 day'$$) AS relation;

-- The functions themselves: the scan counters of each leaf before and after
-- one call; only the leaves that the call should touch move.
SELECT pg_stat_force_next_flush();
CREATE TEMP TABLE scans_before AS
SELECT t.relid::regclass AS leaf, coalesce(s.seq_scan, 0) + coalesce(s.idx_scan, 0) AS scans
  FROM pg_partition_tree('pr') t LEFT JOIN pg_stat_user_tables s ON s.relid = t.relid WHERE t.isleaf;
SELECT count(*) AS acme_10h FROM eventlog.events('pr', 'acme', '2024-01-01 10:00+00', '2024-01-01 11:00+00');
SELECT pg_stat_force_next_flush();
SELECT b.leaf AS scanned_by_events
  FROM scans_before b JOIN pg_stat_user_tables s ON s.relid = b.leaf
 WHERE s.seq_scan + coalesce(s.idx_scan, 0) > b.scans ORDER BY b.leaf::text;
-- A page after the first: the after_event lookup and the page, same leaf.
DELETE FROM scans_before WHERE true;
INSERT INTO scans_before
SELECT t.relid::regclass, coalesce(s.seq_scan, 0) + coalesce(s.idx_scan, 0)
  FROM pg_partition_tree('pr') t LEFT JOIN pg_stat_user_tables s ON s.relid = t.relid WHERE t.isleaf;
SELECT count(*) AS wayne_page_2 FROM eventlog.events('pr', 'wayne', '2024-01-01 11:00+00', '2024-01-01 12:00+00',
														after_event => '00000000-0000-4000-8000-000000000051', max_rows => 5);
SELECT pg_stat_force_next_flush();
SELECT b.leaf AS scanned_by_events_page_2
  FROM scans_before b JOIN pg_stat_user_tables s ON s.relid = b.leaf
 WHERE s.seq_scan + coalesce(s.idx_scan, 0) > b.scans ORDER BY b.leaf::text;
-- get_event() of an event at 10:15: the window's leaves and the defaults.
DELETE FROM scans_before WHERE true;
INSERT INTO scans_before
SELECT t.relid::regclass, coalesce(s.seq_scan, 0) + coalesce(s.idx_scan, 0)
  FROM pg_partition_tree('pr') t LEFT JOIN pg_stat_user_tables s ON s.relid = t.relid WHERE t.isleaf;
SELECT count(*) AS found FROM eventlog.get_event('pr', '018cc485-00a0-7000-8000-000000000001');
SELECT pg_stat_force_next_flush();
SELECT b.leaf AS scanned_by_get_event
  FROM scans_before b JOIN pg_stat_user_tables s ON s.relid = b.leaf
 WHERE s.seq_scan + coalesce(s.idx_scan, 0) > b.scans ORDER BY b.leaf::text;

SELECT eventlog.drop_log('pr');
