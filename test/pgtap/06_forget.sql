-- Forgetting and ageing as properties: whatever the partition an event lives
-- in (closed and sealed, current, default, or one made after the request),
-- a forgotten subject's events are hidden at once and, after maintenance,
-- hold no payload or metadata; every other event is untouched; seals verify;
-- retention drops whole partitions and never deletes a row.
BEGIN;
SELECT plan(15);

CREATE SCHEMA tap;
GRANT CREATE, USAGE ON SCHEMA tap TO eventlog_admin;
SELECT eventlog.create_log('tap.f', '1 day', 4, NULL, 2) IS NOT NULL AS created \gset

-- 40 days of history (sealed by maintenance), and a row that plain INSERT
-- leaves in a default partition (far future), moved out by maintenance.
INSERT INTO tap.f (tenant_id, event_type, subject, received_at, payload, metadata)
SELECT 't' || (i % 5), 'e', 's' || (i % 11), now() - interval '40 days' + i * interval '1 hour',
	   jsonb_build_object('secret', md5(i::text)), jsonb_build_object('ip', i)
  FROM generate_series(1, 40 * 24) i;
INSERT INTO tap.f (tenant_id, event_type, subject, received_at, payload, metadata)
SELECT 't1', 'e', 's3', now() + interval '10 years', '{"secret": "future"}', '{"ip": 0}';
-- The first run moves the rows into partitions made for them, the next seals
-- those (sealing hashes every row: not under the lock that holds ingest).
SELECT count(*) > 0 AS moved FROM eventlog.run_maintenance('tap.f') \gset
SELECT count(*) > 0 AS sealed FROM eventlog.run_maintenance('tap.f') \gset
SELECT ok((SELECT count(*) FROM eventlog.seals WHERE log = 'tap.f'::regclass) > 40, 'closed partitions are sealed');

CREATE TEMP TABLE before AS SELECT event_id, tenant_id, subject, payload, metadata FROM tap.f;
SELECT is(eventlog.forget('tap.f', 't1', 's3', 'request 1'),
		  (SELECT count(*) FROM before WHERE tenant_id = 't1' AND subject = 's3'), 'forget counts every event of the subject');
SELECT is((SELECT count(*)::int FROM eventlog.events('tap.f', 't1', '-infinity', 'infinity', max_rows => 100000)
			WHERE subject = 's3' AND event_type <> 'eventlog.forgotten'), 0, 'events() hides them at once');
SELECT is((SELECT count(*)::int FROM before b, LATERAL eventlog.get_event('tap.f', b.event_id) g
			WHERE b.tenant_id = 't1' AND b.subject = 's3'), 0, 'get_event() hides each of them');
-- A late arrival into a partition made after the request.
SELECT eventlog.ingest('tap.f', jsonb_build_array(jsonb_build_object('tenant_id', 't1', 'event_type', 'late', 'subject', 's3',
		'payload', '{"secret": "late"}'::jsonb, 'metadata', '{"ip": 1}'::jsonb, 'received_at', now() - interval '60 days'))) AS late \gset
SELECT is((SELECT count(*)::int FROM eventlog.history('tap.f', 't1', 's3') WHERE event_type <> 'eventlog.forgotten'), 0,
		  'history() hides a late arrival too');
SELECT count(*) > 0 AS ran FROM eventlog.run_maintenance('tap.f') \gset
SELECT is((SELECT count(*)::int FROM tap.f WHERE tenant_id = 't1' AND subject = 's3' AND event_type <> 'eventlog.forgotten'
			AND (payload ? 'secret' OR metadata IS NOT NULL)), 0,
		  'after maintenance no event of the subject holds payload or metadata, in any partition');
SELECT is((SELECT count(DISTINCT tableoid)::int FROM tap.f WHERE tenant_id = 't1' AND subject = 's3'
			AND payload ? 'redacted'), (SELECT count(DISTINCT tableoid)::int FROM tap.f WHERE tenant_id = 't1' AND subject = 's3'
			AND event_type <> 'eventlog.forgotten'), 'redacted in every partition it was in');
SELECT ok(EXISTS (SELECT FROM tap.f WHERE tenant_id = 't1' AND subject = 's3' AND received_at > now() + interval '9 years'
				   AND payload ? 'redacted'),
		  'the row that plain INSERT left for a far-future time was redacted where maintenance moved it');
SELECT is((SELECT count(*)::int FROM before b JOIN tap.f x USING (event_id)
			WHERE NOT (b.tenant_id = 't1' AND b.subject = 's3')
			  AND (x.payload IS DISTINCT FROM b.payload OR x.metadata IS DISTINCT FROM b.metadata)), 0,
		  'every other event is untouched');
SELECT is((SELECT count(*)::int FROM eventlog.verify('tap.f') WHERE NOT ok), 0, 're-sealed partitions verify');
SELECT ok((SELECT count(*) FROM eventlog.seals WHERE log = 'tap.f'::regclass AND cause = 'forget') > 0,
		  'the redacted sealed partitions were re-sealed with the tombstone');

-- Retention: whole partitions go, no row is deleted.
SELECT eventlog.set_retention('tap.f', '10 days');
SELECT is((SELECT next_drop_at IS NOT NULL FROM eventlog.logs WHERE log = 'tap.f'::regclass), true,
		  'logs shows when the oldest partition goes');
CREATE TEMP TABLE leaves_before AS SELECT relid FROM pg_partition_tree('tap.f') WHERE isleaf;
SELECT coalesce(sum(n_tup_del), 0) AS deleted_before FROM pg_stat_xact_user_tables
 WHERE relid IN (SELECT relid FROM leaves_before) \gset
SELECT count(*) > 0 AS ran FROM eventlog.run_maintenance('tap.f') \gset
SELECT is((SELECT count(*)::int FROM tap.f WHERE received_at < now() - interval '11 days'), 0,
		  'no event older than the retention (and its partition) is left');
SELECT ok((SELECT count(*) FROM leaves_before b WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = b.relid)) > 0,
		  'retention dropped the old partitions');
SELECT is((SELECT coalesce(sum(n_tup_del), 0) FROM pg_stat_xact_user_tables
			WHERE relid IN (SELECT relid FROM leaves_before))::bigint, :deleted_before::bigint,
		  'and deleted no row from the partitions that stay');

SELECT * FROM finish();
ROLLBACK;
