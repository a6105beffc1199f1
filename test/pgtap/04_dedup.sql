-- Dedup as a property: whatever the batch, ingesting it a second time
-- writes nothing, and ids repeated inside a batch are written once.
BEGIN;
SELECT plan(19);

CREATE SCHEMA tap;
GRANT CREATE, USAGE ON SCHEMA tap TO eventlog_admin;
SELECT eventlog.create_log('tap.log', '1 hour', 4, NULL, 1) IS NOT NULL AS created \gset

-- Batches of random v4 ids, of UUIDv7 ids, and without ids (stamped by the database).
CREATE TEMP TABLE batches (name text, events jsonb, distinct_ids int);
INSERT INTO batches
SELECT 'v4 ids', jsonb_agg(jsonb_build_object('event_id', gen_random_uuid(), 'tenant_id', 'tenant' || (i % 7),
											  'event_type', 'e', 'payload', jsonb_build_object('i', i))), 1000
  FROM generate_series(1, 1000) i;
INSERT INTO batches
SELECT 'v7 ids', jsonb_agg(jsonb_build_object('event_id', eventlog.uuidv7(), 'tenant_id', 'tenant' || (i % 3),
											  'event_type', 'e', 'payload', jsonb_build_object('i', i))), 500
  FROM generate_series(1, 500) i;
-- Each id three times in one batch (same tenant), in shuffled order.
INSERT INTO batches
SELECT 'repeats', jsonb_agg(e ORDER BY md5(e::text || n)), 200
  FROM (SELECT jsonb_build_object('event_id', format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0')),
								  'tenant_id', 'tenant' || (i % 5), 'event_type', 'e', 'payload', jsonb_build_object('i', i)) AS e, n
		  FROM generate_series(1, 200) i, generate_series(1, 3) n) s;

SELECT is(eventlog.ingest('tap.log', events), distinct_ids::bigint, format('%s: the first ingest writes each id once', name))
  FROM batches ORDER BY name;
SELECT is(eventlog.ingest('tap.log', events), 0::bigint, format('%s: the same batch again writes nothing', name))
  FROM batches ORDER BY name;
SELECT is((SELECT count(*)::int FROM tap.log), 1700, 'the log holds each id once');
SELECT is((SELECT count(DISTINCT (tenant_id, event_id))::int FROM tap.log), 1700, 'no (tenant, id) is stored twice');

-- Half old, half new: only the new half is written.
SELECT is(eventlog.ingest('tap.log', (
		SELECT jsonb_agg(e) FROM (
			SELECT e FROM batches, jsonb_array_elements(events) e WHERE name = 'v4 ids' LIMIT 100) old)
		|| (SELECT jsonb_agg(jsonb_build_object('tenant_id', 'tenant1', 'event_type', 'new', 'payload', '{}'::jsonb))
			  FROM generate_series(1, 100))), 100::bigint, 'a mixed batch writes only its new events');

-- append with the caller's id: a retry returns the id and stores nothing.
SELECT is(eventlog.append('tap.log', 'tenant1', 'a', '{"try": 1}', event_id => '00000000-0000-4000-8000-00000000aaaa'),
		  '00000000-0000-4000-8000-00000000aaaa'::uuid, 'append returns the caller''s id');
SELECT is(eventlog.append('tap.log', 'tenant1', 'a', '{"try": 2}', event_id => '00000000-0000-4000-8000-00000000aaaa'),
		  '00000000-0000-4000-8000-00000000aaaa'::uuid, 'append retried returns the same id');
SELECT results_eq($$SELECT payload FROM tap.log WHERE event_id = '00000000-0000-4000-8000-00000000aaaa'$$,
				  $$VALUES ('{"try": 1}'::jsonb)$$, 'append retried stored the event once, the first payload');
-- ... and an ingest of that id is skipped too.
SELECT is(eventlog.ingest('tap.log', '[{"event_id": "00000000-0000-4000-8000-00000000aaaa", "tenant_id": "tenant1", "event_type": "a", "payload": {}}]'),
		  0::bigint, 'ingest skips an id that append stored');

-- copy_in ndjson shares ingest's insert: the same file twice writes once.
SELECT is(eventlog.copy_in('tap.log', convert_to(string_agg(e::text, E'\n'), 'UTF8'), 'ndjson'), 50::bigint,
		  'copy_in ndjson writes 50 new events')
  FROM (SELECT jsonb_build_object('event_id', format('00000000-0000-4000-8000-%s', lpad((1000 + i)::text, 12, '0')),
								  'tenant_id', 'tenant2', 'event_type', 'nd', 'payload', '{}'::jsonb) AS e
		  FROM generate_series(1, 50) i) s;
SELECT is(eventlog.copy_in('tap.log', convert_to(string_agg(e::text, E'\n'), 'UTF8'), 'ndjson'), 0::bigint,
		  'copy_in ndjson of the same data again writes nothing')
  FROM (SELECT jsonb_build_object('event_id', format('00000000-0000-4000-8000-%s', lpad((1000 + i)::text, 12, '0')),
								  'tenant_id', 'tenant2', 'event_type', 'nd', 'payload', '{}'::jsonb) AS e
		  FROM generate_series(1, 50) i) s;
SELECT is((SELECT count(*)::int FROM tap.log), 1700 + 100 + 1 + 50, 'the log holds every id once');

-- The dedup lookup probes the event_id index only when the planner has
-- statistics on the leaves: ingest analyzes busy leaves that have none
-- (every 20,000 rows looked up), so that a log without autovacuum does not
-- read a tenant's whole window for each new event.
SELECT eventlog.create_log('tap.big', '1 day', 2, NULL, 1) IS NOT NULL AS created \gset
SELECT is((SELECT count(*)::int FROM pg_stats WHERE schemaname = 'tap' AND tablename LIKE 'big_b%' AND attname = 'event_id'),
		  0, 'a new log has no statistics');
SELECT is(eventlog.ingest('tap.big', jsonb_agg(jsonb_build_object('event_id', gen_random_uuid(), 'tenant_id', 'tenant' || (i % 2),
		  'event_type', 'e', 'payload', jsonb_build_object('i', i, 'pad', repeat('x', 100))))), 25000::bigint,
		  '25,000 events with ids in one call')
  FROM generate_series(1, 25000) i;
SELECT ok((SELECT count(*) FROM pg_stats s
			 JOIN pg_partition_tree('tap.big') t ON t.relid = format('%I.%I', s.schemaname, s.tablename)::regclass
			WHERE s.attname = 'event_id' AND t.isleaf) >= 1
		  AND (SELECT bool_and(n_distinct < -0.5) FROM pg_stats WHERE schemaname = 'tap' AND tablename LIKE 'big_b%' AND attname = 'event_id'),
		  'ingest analyzed the busy leaves: event_id known to be nearly unique');

SELECT * FROM finish();
ROLLBACK;
