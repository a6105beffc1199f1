-- Stream logs across sessions (dblink): two writers race for one stream and
-- one gets LG002; read_all() never returns a position while an older one may
-- still commit; a transaction older than a stream's last writer gets 40001;
-- a projection runner terminated mid-run resumes with exactly-once effects.
--
-- The other sessions see only committed data, so nothing here runs inside
-- BEGIN ... ROLLBACK: each statement commits (the harness gives each file a
-- fresh database) and the file cleans up after itself.
SELECT plan(25);
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
GRANT CREATE, USAGE ON SCHEMA public TO eventlog_admin;
SELECT eventlog.create_stream_log('tap_race', '1 month', 2, NULL, 1) \g /dev/null

-- Runs one statement and returns 'ok <first column>' or '<SQLSTATE>: <message>':
-- the other sessions call it, so that their errors come back as values.
CREATE FUNCTION public.tap_try(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r text;
BEGIN
	EXECUTE p_sql INTO r;
	RETURN 'ok ' || coalesce(r, '');
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE FUNCTION pg_temp.append_sql(p_stream text, p_expected bigint) RETURNS text LANGUAGE sql AS $$
	SELECT format('SELECT version::text FROM eventlog.append_to_stream(%L, %L, %L, %L, %s)', 'tap_race', 'acme', p_stream,
				  '[{"event_type": "e", "payload": {}}]', coalesce(p_expected::text, 'NULL'))
$$;
-- Opens a named connection to this database as this user.
CREATE FUNCTION pg_temp.open(p_name text) RETURNS void LANGUAGE sql AS $$
	SELECT dblink_connect(p_name, format('host=%s port=%s dbname=%s user=%s',
		   coalesce(nullif(split_part(current_setting('unix_socket_directories'), ',', 1), ''), 'localhost'),
		   current_setting('port'), current_database(), current_user))
$$;
-- Runs a statement in a session and returns its outcome (tap_try).
CREATE FUNCTION pg_temp.run(p_conn text, p_sql text) RETURNS text LANGUAGE sql AS $$
	SELECT v FROM dblink(p_conn, format('SELECT public.tap_try(%L)', p_sql)) AS t(v text)
$$;
-- Sends a statement without waiting for it.
CREATE FUNCTION pg_temp.send(p_conn text, p_sql text) RETURNS int LANGUAGE sql AS $$
	SELECT dblink_send_query(p_conn, format('SELECT public.tap_try(%L)', p_sql))
$$;
-- Waits for the outcome of a sent statement.
CREATE FUNCTION pg_temp.outcome(p_conn text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	v text;
BEGIN
	SELECT t.v INTO v FROM dblink_get_result(p_conn) AS t(v text);
	PERFORM * FROM dblink_get_result(p_conn) AS t(v text);	-- the end of the results
	RETURN v;
END
$$;
-- Whether some backend waits for a heavyweight lock while running p_like (up to 10 s).
-- pg_stat_activity is read once per transaction unless the snapshot is
-- cleared: without it, a backend that starts waiting after the first look is
-- never seen (the test ran in one transaction and failed on a busy machine).
CREATE FUNCTION pg_temp.waits(p_like text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1 .. 200 LOOP
		PERFORM pg_stat_clear_snapshot();
		IF EXISTS (SELECT FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE p_like) THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN false;
END
$$;
-- Streams of the events read_all() returns after a position, in order.
CREATE FUNCTION pg_temp.read_all_streams(p_after bigint) RETURNS text[] LANGUAGE sql AS $$
	SELECT coalesce(array_agg(stream ORDER BY position), '{}') FROM eventlog.read_all('tap_race', p_after, 1000)
$$;
SELECT pg_temp.open('a') \g /dev/null
SELECT pg_temp.open('b') \g /dev/null

-------------------------------------------------------------------------------
-- Two writers, one stream: one wins, one gets LG002
-------------------------------------------------------------------------------
-- Both create the stream (expected -1). A appends and keeps its transaction
-- open; B queues on the stream; A commits; B finds version 1.
SELECT dblink_exec('a', 'BEGIN') \g /dev/null
SELECT is(pg_temp.run('a', pg_temp.append_sql('race-1', -1)), 'ok 1', 'A appends version 1 of a new stream');
SELECT pg_temp.send('b', pg_temp.append_sql('race-1', -1)) \g /dev/null
SELECT ok(pg_temp.waits('%race-1%'), 'B waits for A''s stream lock');
SELECT dblink_exec('a', 'COMMIT') \g /dev/null
SELECT is(pg_temp.outcome('b'),
		  'LG002: version conflict on stream "race-1": expected no stream, actual version 1',
		  'B gets LG002 with the actual version');
-- Both read version 1 and append expecting it.
SELECT dblink_exec('a', 'BEGIN') \g /dev/null
SELECT dblink_exec('b', 'BEGIN') \g /dev/null
SELECT is(ARRAY[pg_temp.run('a', $$SELECT eventlog.stream_version('tap_race', 'acme', 'race-1')::text$$),
				pg_temp.run('b', $$SELECT eventlog.stream_version('tap_race', 'acme', 'race-1')::text$$)],
		  ARRAY['ok 1', 'ok 1'], 'both sessions read version 1');
-- B appends first this time (and keeps its transaction open): A queues behind it.
SELECT is(pg_temp.run('b', pg_temp.append_sql('race-1', 1)), 'ok 2', 'B appends version 2');
SELECT pg_temp.send('a', pg_temp.append_sql('race-1', 1)) \g /dev/null
SELECT ok(pg_temp.waits('%race-1%'), 'A waits for B');
SELECT dblink_exec('b', 'COMMIT') \g /dev/null
SELECT is(pg_temp.outcome('a'), 'LG002: version conflict on stream "race-1": expected version 1, actual version 2',
		  'A gets LG002');
SELECT dblink_exec('a', 'ROLLBACK') \g /dev/null
SELECT is((SELECT array_agg(version ORDER BY version) FROM tap_race WHERE stream = 'race-1'), ARRAY[1, 2]::bigint[],
		  'the stream holds versions 1 and 2, once each');
-- With expected_version NULL both append, one after the other.
SELECT dblink_exec('a', 'BEGIN') \g /dev/null
SELECT is(pg_temp.run('a', pg_temp.append_sql('race-1', NULL)), 'ok 3', 'A appends version 3 (any version)');
SELECT pg_temp.send('b', pg_temp.append_sql('race-1', NULL)) \g /dev/null
SELECT pg_temp.waits('%race-1%') \g /dev/null
SELECT dblink_exec('a', 'COMMIT') \g /dev/null
SELECT is(pg_temp.outcome('b'), 'ok 4', 'B appends version 4 after A commits');
SELECT ok((SELECT bool_and(version = rn) FROM (SELECT version, row_number() OVER (ORDER BY position) AS rn
												 FROM tap_race WHERE stream = 'race-1') s),
		  'the stream''s positions follow its versions');

-------------------------------------------------------------------------------
-- read_all and the snapshot horizon
-------------------------------------------------------------------------------
SELECT max(position) AS start FROM tap_race \gset
-- A's append is in flight; B appends later and commits first.
SELECT dblink_exec('a', 'BEGIN') \g /dev/null
SELECT pg_temp.run('a', pg_temp.append_sql('flight-a', NULL)) \g /dev/null
SELECT pg_temp.run('b', pg_temp.append_sql('flight-b', NULL)) \g /dev/null
SELECT is((SELECT count(*) FROM tap_race WHERE stream = 'flight-b'), 1::bigint, 'B''s event is committed and visible');
SELECT is(pg_temp.read_all_streams(:start), '{}'::text[], 'read_all holds it back while A, older, is in flight');
SELECT dblink_exec('a', 'COMMIT') \g /dev/null
SELECT is(pg_temp.read_all_streams(:start), ARRAY['flight-a', 'flight-b'], 'once A commits: A''s event, then B''s');
SELECT max(position) AS start FROM tap_race \gset
-- A has an xid (it wrote before) but appends only after B appended and committed.
SELECT dblink_exec('a', 'BEGIN') \g /dev/null
SELECT pg_temp.run('a', 'SELECT pg_current_xact_id()::text') \g /dev/null
SELECT pg_temp.run('b', pg_temp.append_sql('late-b', NULL)) \g /dev/null
SELECT is(pg_temp.read_all_streams(:start), '{}'::text[], 'B''s committed event waits behind A''s open transaction');
SELECT pg_temp.run('a', pg_temp.append_sql('late-a', NULL)) \g /dev/null
SELECT dblink_exec('a', 'COMMIT') \g /dev/null
SELECT is(pg_temp.read_all_streams(:start), ARRAY['late-a', 'late-b'],
		  'A''s event, committed last, comes first: a reader that took B''s would have skipped it');
-- The same with a rollback: the held-back event comes out alone.
SELECT max(position) AS start FROM tap_race \gset
SELECT dblink_exec('a', 'BEGIN') \g /dev/null
SELECT pg_temp.run('a', pg_temp.append_sql('rolled-back', NULL)) \g /dev/null
SELECT pg_temp.run('b', pg_temp.append_sql('kept', NULL)) \g /dev/null
SELECT is(pg_temp.read_all_streams(:start), '{}'::text[], 'held back behind a transaction that will roll back');
SELECT dblink_exec('a', 'ROLLBACK') \g /dev/null
SELECT is(pg_temp.read_all_streams(:start), ARRAY['kept'], 'after the rollback, only the committed event');

-------------------------------------------------------------------------------
-- 40001: a transaction older than the stream's last writer
-------------------------------------------------------------------------------
SELECT dblink_exec('a', 'BEGIN') \g /dev/null
SELECT pg_temp.run('a', 'SELECT pg_current_xact_id()::text') \g /dev/null
SELECT pg_temp.run('b', pg_temp.append_sql('race-1', NULL)) \g /dev/null
SELECT is(pg_temp.run('a', pg_temp.append_sql('race-1', NULL)),
		  '40001: could not serialize append to stream "race-1"', 'the older transaction gets 40001');
SELECT dblink_exec('a', 'ROLLBACK') \g /dev/null
SELECT is(pg_temp.run('a', pg_temp.append_sql('race-1', NULL)), 'ok 6', 'its retry, a new transaction, appends');

-------------------------------------------------------------------------------
-- A projection runner terminated mid-run
-------------------------------------------------------------------------------
SELECT eventlog.append_to_stream('tap_race', 'acme', 'bulk-' || (g % 5),
		   (SELECT jsonb_agg(jsonb_build_object('event_type', 'e', 'payload', jsonb_build_object('g', g, 'i', i)))
			  FROM generate_series(1, 10) i)) FROM generate_series(1, 10) g \g /dev/null
CREATE TABLE public.tap_applied (position bigint NOT NULL);
CREATE FUNCTION public.tap_slow(e eventlog.stream_event) RETURNS void LANGUAGE sql
BEGIN ATOMIC
	SELECT pg_catalog.pg_sleep(0.01);
	INSERT INTO public.tap_applied VALUES (e.position);
END;
SELECT eventlog.create_projection('tap_slow', 'tap_race', 'public.tap_slow(eventlog.stream_event)') \g /dev/null
CREATE PROCEDURE public.tap_project_all(p_batch int) LANGUAGE plpgsql AS $$
BEGIN
	WHILE eventlog.run_projection('tap_slow', p_batch) > 0 LOOP
		COMMIT;
	END LOOP;
END
$$;
SELECT pg_temp.open('p') \g /dev/null
SELECT pid AS projector FROM dblink('p', 'SELECT pg_backend_pid()') AS t(pid int) \gset
SELECT dblink_send_query('p', 'CALL public.tap_project_all(10)') \g /dev/null
-- terminate it once two batches are committed (it is then inside the third or later)
DO $$
BEGIN
	FOR i IN 1 .. 400 LOOP
		EXIT WHEN (SELECT events_applied FROM eventlog.projections WHERE name = 'tap_slow') >= 20;
		PERFORM pg_sleep(0.025);
	END LOOP;
END
$$;
SELECT ok(pg_terminate_backend(:projector, 10000), 'the projector''s backend is terminated');
SELECT dblink_disconnect('p') \g /dev/null
SELECT cmp_ok((SELECT events_applied FROM eventlog.projections WHERE name = 'tap_slow'), '<',
			  (SELECT count(*) FROM tap_race), 'it stopped before the end of the log');
SELECT ok((SELECT count(*) FROM public.tap_applied) = p.events_applied
		  AND (SELECT count(*) FROM public.tap_applied) = (SELECT count(*) FROM tap_race WHERE position <= p.position)
		  AND NOT EXISTS (SELECT FROM public.tap_applied a WHERE a.position > p.position),
		  'the handler''s rows are exactly the events up to the committed checkpoint')
  FROM eventlog.projections p WHERE p.name = 'tap_slow';
CALL public.tap_project_all(1000);
SELECT is((SELECT count(*) FROM public.tap_applied), (SELECT count(*) FROM tap_race), 'resumed: every event applied');
SELECT is((SELECT count(DISTINCT position) FROM public.tap_applied), (SELECT count(*) FROM tap_race),
		  'each exactly once');

SELECT * FROM finish();

SELECT dblink_disconnect('a') \g /dev/null
SELECT dblink_disconnect('b') \g /dev/null
SELECT eventlog.drop_log('tap_race') \g /dev/null
DROP PROCEDURE public.tap_project_all(int);
DROP FUNCTION public.tap_slow(eventlog.stream_event), public.tap_try(text);
DROP TABLE public.tap_applied;
