-- Row-level security between two tenants: a reader bound by eventlog.tenant
-- sees only its tenant through SELECT and every read function; a writer
-- bound by it writes only its tenant through every write path.
BEGIN;
SELECT plan(36);

CREATE SCHEMA tap;
GRANT CREATE, USAGE ON SCHEMA tap TO eventlog_admin;
GRANT USAGE ON SCHEMA tap TO eventlog_reader, eventlog_writer;
CREATE ROLE tap_reader IN ROLE eventlog_reader;
CREATE ROLE tap_writer IN ROLE eventlog_writer;
SELECT eventlog.create_log('tap.log', '1 day', 4, NULL, 1) IS NOT NULL AS created \gset
SELECT eventlog.ingest('tap.log', (SELECT jsonb_agg(jsonb_build_object(
		'event_id', format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0')),
		'tenant_id', CASE WHEN i <= 30 THEN 'acme' ELSE 'globex' END,
		'event_type', 'e', 'subject', 'user' || (i % 3), 'payload', jsonb_build_object('i', i)))
	  FROM generate_series(1, 50) i)) AS ingested \gset
SELECT is(:ingested::int, 50, 'two tenants: acme 30 events, globex 20');

-- The reader, bound to acme.
SET LOCAL ROLE tap_reader;
SET LOCAL eventlog.tenant = 'acme';
SELECT results_eq('SELECT tenant_id, count(*)::int FROM tap.log GROUP BY 1', $$VALUES ('acme', 30)$$,
				  'reader bound to acme: SELECT sees acme''s 30 events only');
SELECT is_empty($$SELECT 1 FROM tap.log WHERE tenant_id = 'globex'$$, 'reader bound to acme: no globex row by SELECT');
SELECT is((SELECT count(*)::int FROM eventlog.events('tap.log', 'acme', '-infinity', 'infinity')), 30,
		  'reader bound to acme: events(acme) returns 30');
SELECT is_empty($$SELECT * FROM eventlog.events('tap.log', 'globex', '-infinity', 'infinity')$$,
				'reader bound to acme: events(globex) returns nothing');
SELECT is_empty($$SELECT * FROM eventlog.get_event('tap.log', '00000000-0000-4000-8000-000000000040')$$,
				'reader bound to acme: get_event of a globex event returns nothing');
SELECT isnt_empty($$SELECT * FROM eventlog.get_event('tap.log', '00000000-0000-4000-8000-000000000010')$$,
				  'reader bound to acme: get_event of an acme event finds it');
SELECT is_empty($$SELECT * FROM eventlog.history('tap.log', 'globex', 'user1')$$,
				'reader bound to acme: history of a globex subject returns nothing');
SELECT is((SELECT count(*)::int FROM eventlog.history('tap.log', 'acme', 'user1')), 10,
		  'reader bound to acme: history of an acme subject returns its 10 events');
-- ... then to globex.
SET LOCAL eventlog.tenant = 'globex';
SELECT results_eq('SELECT tenant_id, count(*)::int FROM tap.log GROUP BY 1', $$VALUES ('globex', 20)$$,
				  'reader bound to globex: SELECT sees globex''s 20 events only');
SELECT is_empty($$SELECT * FROM eventlog.events('tap.log', 'acme', '-infinity', 'infinity')$$,
				'reader bound to globex: events(acme) returns nothing');
SELECT is((SELECT count(*)::int FROM eventlog.events('tap.log', 'globex', '-infinity', 'infinity')), 20,
		  'reader bound to globex: events(globex) returns 20');
SELECT is_empty($$SELECT * FROM eventlog.get_event('tap.log', '00000000-0000-4000-8000-000000000010')$$,
				'reader bound to globex: get_event of an acme event returns nothing');
-- A reader writes nothing and runs no admin function.
SELECT throws_ok($$INSERT INTO tap.log (tenant_id, event_type, payload) VALUES ('globex', 'x', '{}')$$, '42501', NULL,
				 'reader: INSERT is refused');
SELECT throws_ok($$SELECT eventlog.ingest('tap.log', '[]')$$, '42501', NULL, 'reader: ingest is refused');
SELECT throws_ok($$SELECT eventlog.append('tap.log', 'globex', 'x', '{}')$$, '42501', NULL, 'reader: append is refused');
SELECT throws_ok($$SELECT eventlog.copy_in('tap.log', '', 'text')$$, '42501', NULL, 'reader: copy_in is refused');
SELECT throws_ok($$SELECT eventlog.create_log('tap.other')$$, '42501', NULL, 'reader: create_log is refused');
SELECT throws_ok($$SELECT * FROM eventlog.run_maintenance()$$, '42501', NULL, 'reader: run_maintenance is refused');
SELECT throws_ok($$SELECT eventlog.drop_log('tap.log')$$, '42501', NULL, 'reader: drop_log is refused');
RESET eventlog.tenant;
RESET ROLE;

-- The writer, bound to acme.
SET LOCAL ROLE tap_writer;
SET LOCAL eventlog.tenant = 'acme';
SELECT is(eventlog.ingest('tap.log', '[{"tenant_id": "acme", "event_type": "w", "payload": {}}]'), 1::bigint,
		  'writer bound to acme: ingest of acme writes');
SELECT throws_ok($$SELECT eventlog.ingest('tap.log', '[{"tenant_id": "globex", "event_type": "w", "payload": {}}]')$$,
				 '42501', NULL, 'writer bound to acme: ingest of globex is refused');
SELECT throws_ok($$SELECT eventlog.ingest('tap.log', '[{"tenant_id": "acme", "event_type": "w", "payload": {}},
													 {"tenant_id": "globex", "event_type": "w", "payload": {}}]')$$,
				 '42501', NULL, 'writer bound to acme: a batch with one globex event is refused');
SELECT throws_ok($$SELECT eventlog.append('tap.log', 'globex', 'w', '{}')$$, '42501', NULL,
				 'writer bound to acme: append of globex is refused');
SELECT throws_ok($$INSERT INTO tap.log (tenant_id, event_type, payload) VALUES ('globex', 'w', '{}')$$, '42501', NULL,
				 'writer bound to acme: INSERT of globex is refused');
SELECT throws_ok($$SELECT count(*) FROM tap.log$$, '42501', NULL, 'writer: SELECT is refused');
SELECT throws_ok($$SELECT * FROM eventlog.events('tap.log', 'acme', '-infinity', 'infinity')$$, '42501', NULL,
				 'writer: events is refused');
SELECT throws_ok($$SELECT eventlog.copy_in('tap.log', convert_to('{"tenant_id": "globex", "event_type": "w", "payload": {}}', 'UTF8'), 'ndjson')$$,
				 '42501', NULL, 'writer bound to acme: copy_in ndjson of globex is refused');
SELECT throws_ok($$SELECT eventlog.copy_in('tap.log', convert_to(E'tenant_id,event_type,payload\nglobex,w,{}\n', 'UTF8'), 'csv')$$,
				 '42501', NULL, 'writer bound to acme: copy_in csv of globex is refused');
SELECT throws_ok($$SELECT eventlog.copy_in('tap.log', convert_to(E'00000000-0000-4000-8000-0000000000f1\tglobex\tw\t\\N\t\\N\t2024-01-01 00:00:00+00\t1\t{}\t\\N\n', 'UTF8'), 'text')$$,
				 '42501', NULL, 'writer bound to acme: copy_in text of globex is refused');
SELECT throws_ok($$SELECT eventlog.copy_in('tap.log',
	'\x5047434f50590aff0d0a00'::bytea || int4send(0) || int4send(0) || int2send(9::int2)
	|| int4send(16) || uuid_send('00000000-0000-4000-8000-0000000000f2') || int4send(6) || convert_to('globex', 'UTF8')
	|| int4send(1) || convert_to('w', 'UTF8') || int4send(-1) || int4send(-1)
	|| int4send(8) || timestamptz_send(now()) || int4send(4) || int4send(1)
	|| int4send(3) || jsonb_send('{}') || int4send(-1) || int2send((-1)::int2), 'binary')$$,
				 '42501', NULL, 'writer bound to acme: copy_in binary of globex is refused');
SELECT throws_ok($$SELECT eventlog.copy_in('tap.log', convert_to('{"tenant_id": "acme", "event_type": "w", "payload": {}, "received_at": "2024-01-01 00:00:00+00"}', 'UTF8'), 'ndjson')$$,
				 '42501', NULL, 'writer (not eventlog_admin): copy_in ndjson with received_at is refused');
SELECT is((SELECT eventlog.copy_in('tap.log', convert_to(E'tenant_id,event_type,payload\nacme,w,{}\n', 'UTF8'), 'csv')),
		  1::bigint, 'writer bound to acme: copy_in csv of acme is written');
RESET eventlog.tenant;
RESET ROLE;

-- What is stored: acme has its 30 and the writer's two; globex is untouched.
SELECT is((SELECT count(*)::int FROM tap.log WHERE tenant_id = 'acme' AND received_at >= '2025-01-01'), 32,
		  'acme: its 30 events and the writer''s two');
SELECT is((SELECT count(*)::int FROM tap.log WHERE tenant_id = 'globex'), 20, 'globex: nothing written by the acme writer');
SELECT is((SELECT count(*)::int FROM tap.log WHERE event_type = 'x'), 0, 'nothing written by the reader');

SELECT * FROM finish();
ROLLBACK;
