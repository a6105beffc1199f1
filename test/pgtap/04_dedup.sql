-- Dedup as a property: whatever the batch, ingesting it a second time
-- writes nothing, and ids repeated inside a batch are written once.
BEGIN;
SELECT plan(29);

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

-- Of the repeats of an id inside one batch, the first is written, however the
-- id is spelled; the same id for another tenant is another event.
CREATE TEMP TABLE firsts AS
SELECT eventlog.ingest('tap.log', '[
  {"event_id": "00000000-0000-4000-8000-0000000f0001", "tenant_id": "tf", "event_type": "e", "payload": {"n": 1}},
  {"event_id": "00000000-0000-4000-8000-0000000F0001", "tenant_id": "tf", "event_type": "e", "payload": {"n": 2}},
  {"event_id": "{00000000-0000-4000-8000-0000000f0001}", "tenant_id": "tf", "event_type": "e", "payload": {"n": 3}},
  {"event_id": "00000000-0000-4000-8000-0000000f0001", "tenant_id": "tg", "event_type": "e", "payload": {"n": 4}}]') AS n;
SELECT is((SELECT n FROM firsts), 2::bigint, 'a batch with an id three times for one tenant and once for another writes 2');
SELECT results_eq($$SELECT tenant_id, payload FROM tap.log WHERE event_id = '00000000-0000-4000-8000-0000000f0001' ORDER BY tenant_id$$,
				  $$VALUES ('tf'::text, '{"n": 1}'::jsonb), ('tg', '{"n": 4}')$$,
				  'the first of the repeats is the one stored, whatever the spelling of the id');

-- Events are written in batch order: ids the database stamps rise with it.
SELECT is(eventlog.ingest('tap.log', (SELECT jsonb_agg(jsonb_build_object('tenant_id', 'to', 'event_type', 'ord',
		  'subject', 's' || i, 'payload', jsonb_build_object('i', i)) ORDER BY i) FROM generate_series(1, 300) i)),
		  300::bigint, '300 events without ids are written');
SELECT is((SELECT array_agg((payload->>'i')::int ORDER BY event_id) FROM tap.log WHERE tenant_id = 'to'),
		  (SELECT array_agg(i ORDER BY i) FROM generate_series(1, 300) i),
		  'their stamped ids rise in batch order');
SELECT is((SELECT count(*)::int FROM tap.log WHERE tenant_id = 'to' AND subject = 's' || (payload->>'i')
			 AND schema_version = 1 AND received_at = now() AND metadata IS NULL), 300,
		  'each event got its own subject and payload, schema_version 1, received_at now(), no metadata');

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
SELECT is((SELECT count(*)::int FROM tap.log), 1700 + 2 + 300 + 100 + 1 + 50, 'the log holds every id once');

-- The dedup lookup probes each leaf's (event_id) index, whatever the planner
-- knows: on a new log, without statistics, a batch of events with ids reads
-- none of the (tenant_id, received_at) indexes (a plan that took them read
-- every row of the tenant in the window for each new event).
SELECT eventlog.create_log('tap.big', '1 day', 2, NULL, 1) IS NOT NULL AS created \gset
SELECT is(eventlog.ingest('tap.big', jsonb_agg(jsonb_build_object('event_id', format('00000000-0000-4000-8001-%s', lpad(i::text, 12, '0')),
		  'tenant_id', 'tenant' || (i % 2), 'event_type', 'e', 'payload', jsonb_build_object('i', i, 'pad', repeat('x', 100))))), 5000::bigint,
		  '5,000 events with ids in one call')
  FROM generate_series(1, 5000) i;
CREATE TEMP TABLE scans_before AS
SELECT i.indexrelid, pg_get_indexdef(i.indexrelid) LIKE '%(event_id)' AS on_event_id,
	   pg_get_indexdef(i.indexrelid) LIKE '%(tenant_id, received_at)' AS on_tenant,
	   pg_stat_get_xact_numscans(i.indexrelid) AS scans
  FROM pg_index i JOIN pg_partition_tree('tap.big') t ON t.relid = i.indrelid WHERE t.isleaf;
SELECT is(eventlog.ingest('tap.big', jsonb_agg(jsonb_build_object('event_id', format('00000000-0000-4000-8001-%s', lpad(i::text, 12, '0')),
		  'tenant_id', 'tenant' || (i % 2), 'event_type', 'e', 'payload', '{}'::jsonb))), 1000::bigint,
		  'of 1,000 stored and 1,000 new events, the new ones are written')
  FROM generate_series(4001, 6000) i;
SELECT is((SELECT sum(pg_stat_get_xact_numscans(indexrelid) - scans)::int FROM scans_before WHERE on_tenant), 0,
		  'the lookup read no (tenant_id, received_at) index');
SELECT cmp_ok((SELECT sum(pg_stat_get_xact_numscans(indexrelid) - scans)::int FROM scans_before WHERE on_event_id), '>=', 2000,
			  'the lookup probed the (event_id) indexes for each of the 2,000 events');

-- A load of history (received_at set, three days ago) is deduped around
-- its own times: the same load again writes nothing.
CREATE TEMP TABLE history AS
SELECT jsonb_agg(jsonb_build_object('event_id', format('00000000-0000-4000-8002-%s', lpad(i::text, 12, '0')),
		 'tenant_id', 'tenant' || (i % 2), 'event_type', 'old', 'payload', '{}'::jsonb,
		 'received_at', now() - interval '3 days' + i * interval '1 minute')) AS events
  FROM generate_series(1, 100) i;
SELECT is(eventlog.ingest('tap.big', events), 100::bigint, 'a load of history writes its 100 events') FROM history;
SELECT is(eventlog.ingest('tap.big', events), 0::bigint, 'the same load again writes nothing') FROM history;

-- Without the (event_id) index (an owner dropped it), the lookup reads the
-- leaves instead: slower, and still right.
DO $$
DECLARE
	i regclass;
BEGIN
	SELECT indexrelid::regclass INTO i FROM pg_index
	 WHERE indrelid = 'tap.big'::regclass AND pg_get_indexdef(indexrelid) LIKE '%(event_id)';
	EXECUTE format('DROP INDEX %s', i);
END $$;
SELECT is((SELECT count(*)::int FROM pg_index i JOIN pg_partition_tree('tap.big') t ON t.relid = i.indrelid
			WHERE pg_get_indexdef(i.indexrelid) LIKE '%(event_id)'), 0, 'no leaf of tap.big has an (event_id) index');
SELECT is(eventlog.ingest('tap.big', jsonb_agg(jsonb_build_object('event_id', format('00000000-0000-4000-8001-%s', lpad(i::text, 12, '0')),
		  'tenant_id', 'tenant' || (i % 2), 'event_type', 'e', 'payload', '{}'::jsonb))), 10::bigint,
		  'without the index, of 10 stored and 10 new events the new ones are written')
  FROM generate_series(5991, 6010) i;

SELECT * FROM finish();
ROLLBACK;
