-- Stream logs in one session: catalog shape and privileges, appends and
-- LG002, snapshots and folds against a full replay, upcasters on every read
-- path, and a projection that sees forget()'s tombstones. (The concurrent
-- cases are in streams_concurrency.sql.)
--
-- No BEGIN ... ROLLBACK around the file: read_all() only returns events of
-- transactions older than every transaction in flight, and so never those of
-- the reading transaction itself. The statements commit one by one (the
-- harness gives each file a fresh database) and the file cleans up after itself.
SELECT plan(50);
SET client_min_messages = warning;
GRANT CREATE, USAGE ON SCHEMA public TO eventlog_admin;

-------------------------------------------------------------------------------
-- Catalog shape
-------------------------------------------------------------------------------
SELECT has_type('eventlog', 'stream_event', 'type eventlog.stream_event exists');
SELECT has_table('eventlog', t, 'table eventlog.' || t || ' exists')
  FROM unnest(ARRAY['stream_heads', 'snapshots', 'projections', 'consumer_positions', 'upcasters']) t;
SELECT col_is_pk('eventlog', 'stream_heads', ARRAY['log', 'tenant_id', 'stream'], 'a stream head per (log, tenant, stream)');
SELECT ok((SELECT relowner = 'eventlog_admin'::regrole FROM pg_class WHERE oid = 'eventlog.stream_heads'::regclass),
		  'eventlog_admin owns the stream heads, as it owns the logs');
SELECT ok((SELECT count(*) = 5 FROM pg_extension e, unnest(e.extconfig) c
			WHERE e.extname = 'pg_eventlog' AND c::regclass::text IN ('eventlog.stream_heads', 'eventlog.snapshots',
			'eventlog.projections', 'eventlog.consumer_positions', 'eventlog.upcasters')),
		  'the stream tables are dumped with the data (pg_extension_config_dump)');

-------------------------------------------------------------------------------
-- Privileges: writer appends, reader reads, admin creates
-------------------------------------------------------------------------------
SELECT function_privs_are('eventlog', 'append_to_stream', ARRAY['regclass', 'text', 'text', 'jsonb', 'bigint'],
						  'eventlog_writer', ARRAY['EXECUTE'], 'writers may append to streams');
SELECT function_privs_are('eventlog', 'append_to_stream', ARRAY['regclass', 'text', 'text', 'jsonb', 'bigint'],
						  'eventlog_reader', ARRAY[]::text[], 'readers may not append to streams');
SELECT function_privs_are('eventlog', 'read_all', ARRAY['regclass', 'bigint', 'integer', 'integer', 'integer'],
						  'eventlog_reader', ARRAY['EXECUTE'], 'readers may subscribe');
SELECT function_privs_are('eventlog', 'read_all', ARRAY['regclass', 'bigint', 'integer', 'integer', 'integer'],
						  'eventlog_writer', ARRAY[]::text[], 'writers may not subscribe');
SELECT function_privs_are('eventlog', 'create_stream_log', ARRAY['text', 'interval', 'integer', 'interval', 'integer'],
						  'eventlog_admin', ARRAY['EXECUTE'], 'admins create stream logs');
SELECT function_privs_are('eventlog', 'create_stream_log', ARRAY['text', 'interval', 'integer', 'interval', 'integer'],
						  'eventlog_writer', ARRAY[]::text[], 'writers do not create stream logs');
SELECT function_privs_are('eventlog', 'run_projection', ARRAY['text', 'integer'],
						  'eventlog_reader', ARRAY[]::text[], 'readers do not run projections');
SELECT ok(NOT EXISTS (
		SELECT FROM pg_proc p
		 WHERE p.pronamespace = 'eventlog'::regnamespace
		   AND p.proname IN ('append_to_stream', 'save_snapshot', 'read_stream', 'read_all', 'read_category',
							 'load_stream', 'fold_stream', 'commit_position', 'consumer_position', 'create_stream_log',
							 'create_projection', 'run_projection', 'rebuild_projection', 'drop_projection',
							 'register_upcaster', 'drop_upcaster', '_make_stream_log', '_run_projection', '_apply', '_upcast')
		   AND has_function_privilege('public', p.oid, 'EXECUTE')),
		  'PUBLIC executes none of the stream functions that read or change data');
SELECT ok(NOT EXISTS (
		SELECT FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
		 WHERE p.pronamespace = 'eventlog'::regnamespace AND l.lanname <> 'c'
		   AND p.oid::regprocedure::text ~ 'stream|projection|upcaster|position|_apply|_check_group|group_member'
		   AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)),
		  'every SQL function of the stream API pins search_path');
SELECT ok((SELECT p.prosecdef AND p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']
			 FROM pg_proc p WHERE p.oid = 'eventlog._streams_dropped()'::regprocedure),
		  'the only SECURITY DEFINER function of the stream API pins search_path');

-------------------------------------------------------------------------------
-- Appends
-------------------------------------------------------------------------------
SELECT is(eventlog.create_stream_log('tap_ledger', '1 month', 2, NULL, 1)::text, 'tap_ledger', 'create_stream_log');
SELECT is((SELECT kind FROM eventlog.logs WHERE log = 'tap_ledger'::regclass), 'stream', 'registered with kind stream');
SELECT is((SELECT version FROM eventlog.append_to_stream('tap_ledger', 'acme', 'account-1',
			'[{"event_type": "opened", "payload": {}}, {"event_type": "credited", "payload": {"amount": 10}}]', -1)),
		  2::bigint, 'a new stream gets versions 1 and 2');
SELECT throws_ok($$SELECT * FROM eventlog.append_to_stream('tap_ledger', 'acme', 'account-1',
					'[{"event_type": "credited", "payload": {"amount": 1}}]', 1)$$,
				 'LG002', 'version conflict on stream "account-1": expected version 1, actual version 2',
				 'a stale expected_version fails with LG002 and the actual version');
SELECT throws_ok($$SELECT * FROM eventlog.append_to_stream('tap_ledger', 'acme', 'account-1',
					'[{"event_type": "opened", "payload": {}}]', -1)$$,
				 'LG002', 'version conflict on stream "account-1": expected no stream, actual version 2',
				 'expected_version -1 fails with LG002 on an existing stream');
SELECT is(eventlog.stream_version('tap_ledger', 'acme', 'account-1'), 2::bigint, 'nothing of a refused append is written');
SELECT throws_ok($$INSERT INTO tap_ledger (tenant_id, event_type, payload, stream, version)
					VALUES ('acme', 'forged', '{}', 'account-1', 3)$$,
				 '428C9', NULL, 'only append_to_stream sets stream and version');

-------------------------------------------------------------------------------
-- Snapshots and folds give the state of a full replay
-------------------------------------------------------------------------------
CREATE FUNCTION public.tap_balance(state jsonb, e eventlog.stream_event) RETURNS jsonb
LANGUAGE sql IMMUTABLE
RETURN jsonb_build_object(
	'balance', coalesce((state->>'balance')::numeric, 0)
			   + CASE e.event_type WHEN 'credited' THEN (e.payload->>'amount')::numeric
								   WHEN 'debited' THEN -(e.payload->>'amount')::numeric ELSE 0 END,
	'n', coalesce((state->>'n')::int, 0) + 1,
	'last', e.version);
-- 300 more events with pseudo-random amounts, in 3 appends of 100.
SELECT setseed(0.42) \g /dev/null
SELECT eventlog.append_to_stream('tap_ledger', 'acme', 'account-1',
		   (SELECT jsonb_agg(jsonb_build_object('event_type', CASE WHEN random() < 0.6 THEN 'credited' ELSE 'debited' END,
												'payload', jsonb_build_object('amount', round((random() * 100)::numeric, 2))))
			  FROM generate_series(1, 100) i WHERE g.g > 0))
  FROM generate_series(1, 3) g \g /dev/null
-- The replay, as plain SQL over the stored rows (no fold machinery).
CREATE TEMP TABLE replay AS
SELECT version, sum(CASE event_type WHEN 'credited' THEN (payload->>'amount')::numeric
									WHEN 'debited' THEN -(payload->>'amount')::numeric ELSE 0 END)
					OVER (ORDER BY version) AS balance
  FROM tap_ledger WHERE tenant_id = 'acme' AND stream = 'account-1';
SELECT is((eventlog.fold_stream('tap_ledger', 'acme', 'account-1', 'public.tap_balance(jsonb, eventlog.stream_event)')->>'balance')::numeric,
		  (SELECT balance FROM replay WHERE version = 302), 'fold_stream equals a replay of every event');
SELECT is((eventlog.fold_stream('tap_ledger', 'acme', 'account-1', 'public.tap_balance(jsonb, eventlog.stream_event)', '{}', 137)->>'balance')::numeric,
		  (SELECT balance FROM replay WHERE version = 137), 'fold_stream as of version 137 equals the replay up to 137');
SELECT eventlog.save_snapshot('tap_ledger', 'acme', 'account-1', 137,
	eventlog.fold_stream('tap_ledger', 'acme', 'account-1', 'public.tap_balance(jsonb, eventlog.stream_event)', '{}', 137)) \g /dev/null
SELECT is(eventlog.fold_stream('tap_ledger', 'acme', 'account-1', 'public.tap_balance(jsonb, eventlog.stream_event)', use_snapshot => true),
		  eventlog.fold_stream('tap_ledger', 'acme', 'account-1', 'public.tap_balance(jsonb, eventlog.stream_event)'),
		  'a fold from the snapshot equals the full fold');
SELECT is(eventlog.fold_stream('tap_ledger', 'acme', 'account-1', 'public.tap_balance(jsonb, eventlog.stream_event)', '{}', 100, use_snapshot => true),
		  eventlog.fold_stream('tap_ledger', 'acme', 'account-1', 'public.tap_balance(jsonb, eventlog.stream_event)', '{}', 100),
		  'a fold to a version before the snapshot ignores the snapshot');
-- load_stream = the snapshot (an eventlog.snapshot event) + the events after
-- it; folding those gives the full state too.
SELECT is((SELECT ARRAY[count(*) FILTER (WHERE event_type = 'eventlog.snapshot' AND position IS NULL),
						min(version) FILTER (WHERE event_type = 'eventlog.snapshot'),
						count(*) FILTER (WHERE position IS NOT NULL),
						min(version) FILTER (WHERE position IS NOT NULL), max(version)]
			 FROM eventlog.load_stream('tap_ledger', 'acme', 'account-1')),
		  ARRAY[1, 137, 165, 138, 302]::bigint[], 'load_stream returns the snapshot at 137 and versions 138..302');
WITH RECURSIVE l AS (SELECT row_number() OVER () AS i, e FROM eventlog.load_stream('tap_ledger', 'acme', 'account-1') e),
	 f(i, state) AS (SELECT 1::bigint, (SELECT (e).payload FROM l WHERE i = 1)
					 UNION ALL
					 SELECT f.i + 1, public.tap_balance(f.state, (SELECT e FROM l WHERE l.i = f.i + 1))
					   FROM f WHERE f.i < (SELECT count(*) FROM l))
SELECT is((SELECT (state->>'balance')::numeric FROM f ORDER BY i DESC LIMIT 1),
		  (SELECT balance FROM replay WHERE version = 302), 'the snapshot + events of load_stream fold to the replayed state');
SELECT is(eventlog.fold_stream('tap_ledger', 'acme', 'account-1', 'public.tap_balance(jsonb, eventlog.stream_event)',
							   '{"start": true}', as_of_time => '-infinity'),
		  '{"start": true}'::jsonb, 'a fold as of a time before the first event is the initial state');

-------------------------------------------------------------------------------
-- Upcasters apply on every read path
-------------------------------------------------------------------------------
CREATE FUNCTION public.tap_opened_v2(p jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE
RETURN p || '{"currency": "EUR"}';
SELECT eventlog.register_upcaster('tap_ledger', 'opened', 1, 'public.tap_opened_v2(jsonb)') \g /dev/null
SELECT is((SELECT payload FROM eventlog.read_stream('tap_ledger', 'acme', 'account-1', 1, 1)),
		  '{"currency": "EUR"}'::jsonb, 'read_stream upcasts');
SELECT is((SELECT schema_version FROM eventlog.read_stream('tap_ledger', 'acme', 'account-1', 1, 1)),
		  2, 'the upcast event carries the new schema_version');
SELECT is((SELECT payload FROM eventlog.read_all('tap_ledger', 0, 1)), '{"currency": "EUR"}'::jsonb, 'read_all upcasts');
SELECT is((SELECT payload FROM eventlog.read_category('tap_ledger', 'account', 0, 1)), '{"currency": "EUR"}'::jsonb,
		  'read_category upcasts');
SELECT eventlog.save_snapshot('tap_ledger', 'acme', 'account-1', 302, '{}') \g /dev/null
SELECT eventlog.append_to_stream('tap_ledger', 'acme', 'account-1', '[{"event_type": "opened", "payload": {"again": 1}}]') \g /dev/null
SELECT is((SELECT payload FROM eventlog.load_stream('tap_ledger', 'acme', 'account-1') WHERE version = 303),
		  '{"again": 1, "currency": "EUR"}'::jsonb, 'load_stream upcasts');
CREATE FUNCTION public.tap_last_payload(state jsonb, e eventlog.stream_event) RETURNS jsonb LANGUAGE sql IMMUTABLE
RETURN e.payload;
SELECT is(eventlog.fold_stream('tap_ledger', 'acme', 'account-1', 'public.tap_last_payload(jsonb, eventlog.stream_event)'),
		  '{"again": 1, "currency": "EUR"}'::jsonb, 'fold_stream folds upcast events');
SELECT is((SELECT payload FROM tap_ledger WHERE stream = 'account-1' AND version = 1), '{}'::jsonb,
		  'the stored event keeps its original payload');

-------------------------------------------------------------------------------
-- Projections: position order, checkpoint, tombstones, rebuild
-------------------------------------------------------------------------------
CREATE TABLE public.tap_seen (position bigint, event_type text, payload jsonb);
CREATE FUNCTION public.tap_project(e eventlog.stream_event) RETURNS void LANGUAGE sql
BEGIN ATOMIC
	INSERT INTO public.tap_seen VALUES (e.position, e.event_type, e.payload);
END;
CREATE FUNCTION public.tap_reset() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM public.tap_seen; END;
SELECT eventlog.create_projection('tap', 'tap_ledger', 'public.tap_project(eventlog.stream_event)', 'public.tap_reset()') \g /dev/null
SELECT is(eventlog.run_projection('tap', 250) + eventlog.run_projection('tap', 250) + eventlog.run_projection('tap', 250),
		  (SELECT count(*) FROM tap_ledger), 'the runner applies every event, batch after batch');
SELECT is(eventlog.run_projection('tap'), 0::bigint, 'and then none');
SELECT ok((SELECT bool_and(position > prev) FROM (SELECT position, lag(position) OVER (ORDER BY ctid) AS prev FROM public.tap_seen) s),
		  'in position order');
SELECT is((SELECT position FROM eventlog.projections WHERE name = 'tap'), (SELECT max(position) FROM tap_ledger),
		  'the checkpoint is the last position applied');
SELECT is((SELECT payload FROM public.tap_seen WHERE event_type = 'opened' ORDER BY position LIMIT 1),
		  '{"currency": "EUR"}'::jsonb, 'the handler sees upcast events');
-- forget() appends its tombstone as an ordinary event of the log.
SELECT eventlog.append('tap_ledger', 'acme', 'eventlog.forgotten', '{"subject": "ann", "events": 3}') \g /dev/null
SELECT is(eventlog.run_projection('tap'), 1::bigint, 'the tombstone is applied');
SELECT is((SELECT payload FROM public.tap_seen WHERE event_type = 'eventlog.forgotten'), '{"subject": "ann", "events": 3}'::jsonb,
		  'the handler sees the tombstone');
SELECT is(eventlog.rebuild_projection('tap'), (SELECT count(*) FROM tap_ledger), 'rebuild replays the whole log');
SELECT is((SELECT count(*) FROM public.tap_seen), (SELECT count(*) FROM tap_ledger), 'exactly once after a rebuild');
SELECT throws_ok($$SELECT eventlog.run_projection('no such projection')$$, '42704', NULL, 'unknown projection');

SELECT * FROM finish();

SELECT eventlog.drop_log('tap_ledger') \g /dev/null
DROP FUNCTION public.tap_balance(jsonb, eventlog.stream_event), public.tap_opened_v2(jsonb),
	public.tap_last_payload(jsonb, eventlog.stream_event), public.tap_project(eventlog.stream_event), public.tap_reset();
DROP TABLE public.tap_seen;
