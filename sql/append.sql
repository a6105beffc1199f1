-- append: one event per call (stage 1); the defaults it stamps, the
-- idempotent event_id, and each error.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'

SELECT eventlog.create_log('app', '1 day', 2, NULL, 1);

-- Only the required arguments: a new UUIDv7 is returned and stored, with
-- received_at = the transaction's time and the other fields' defaults.
BEGIN;
SELECT eventlog.append('app', 'acme', 'user.login', '{"ip": "10.0.0.1"}') AS id \gset
SELECT substr(:'id', 15, 1) AS id_version,
	   eventlog.uuidv7_time(:'id') BETWEEN now() - interval '1 minute' AND clock_timestamp() AS id_time_is_now;
SELECT tenant_id, event_type, subject, occurred_at, received_at = now() AS received_now, schema_version, payload, metadata
  FROM app WHERE event_id = :'id';
COMMIT;

-- Every argument, by name.
SELECT eventlog.append(log => 'app', tenant_id => 'acme', event_type => 'user.logout', payload => '[1, {"a": null}]',
					   subject => 'alice', occurred_at => '2024-05-01 08:00:00.25+00',
					   event_id => '00000000-0000-4000-8000-0000000000a1', metadata => '{"trace_id": "t-1"}');
SELECT event_id, tenant_id, event_type, subject, occurred_at, schema_version, payload, metadata
  FROM app WHERE event_id = '00000000-0000-4000-8000-0000000000a1';

-- The caller's event_id is an idempotency key: a retry returns the same id
-- and stores nothing (the first payload stays).
SELECT eventlog.append('app', 'acme', 'user.logout', '{"retry": true}', event_id => '00000000-0000-4000-8000-0000000000a1');
SELECT count(*) AS stored, min(payload::text) AS payload FROM app WHERE event_id = '00000000-0000-4000-8000-0000000000a1';
-- ... per tenant.
SELECT eventlog.append('app', 'globex', 'user.logout', '{}', event_id => '00000000-0000-4000-8000-0000000000a1');
SELECT tenant_id, count(*) FROM app WHERE event_id = '00000000-0000-4000-8000-0000000000a1' GROUP BY 1 ORDER BY 1;
-- Ids made by append sort in call order.
WITH ids AS (SELECT i, eventlog.append('app', 'acme', 'seq', jsonb_build_object('i', i)) AS id
			   FROM generate_series(1, 40) i)
SELECT count(*) AS pairs, bool_and(id > prev) AS increasing
  FROM (SELECT id, lag(id) OVER (ORDER BY i) AS prev FROM ids) s WHERE prev IS NOT NULL;
-- A member of eventlog_writer (not a superuser).
SET ROLE regress_eventlog_writer;
SELECT eventlog.append('app', 'acme', 'by.writer', '{}', event_id => '00000000-0000-4000-8000-0000000000a2');
RESET ROLE;
SELECT count(*) AS events FROM app;

-- Errors.
SELECT eventlog.append(NULL, 'acme', 'x', '{}');
:sqlstate
SELECT eventlog.append('app', NULL, 'x', '{}');
:sqlstate
SELECT eventlog.append('app', 'acme', NULL, '{}');
:sqlstate
SELECT eventlog.append('app', 'acme', 'x', NULL);
:sqlstate
SELECT eventlog.append('app', '', 'x', '{}');
:sqlstate
SELECT eventlog.append('app', 'acme', '', '{}');
:sqlstate
SELECT eventlog.append('app', repeat('t', 129), 'x', '{}');
:sqlstate
SELECT eventlog.append('app', 'acme', repeat('e', 201), '{}');
:sqlstate
SELECT eventlog.append('app', 'acme', 'x', '{}', subject => '');
:sqlstate
SELECT eventlog.append('app', 'acme', 'x', '{}', subject => repeat('s', 1025));
:sqlstate
SELECT eventlog.append('app', 'acme', 'x', '42');
:sqlstate
SELECT eventlog.append('app', 'acme', 'x', '"a string"');
:sqlstate
SELECT eventlog.append('app', 'acme', 'x', 'null');
:sqlstate
SELECT eventlog.append('app', 'acme', 'x', '{}', metadata => '["not", "an", "object"]');
:sqlstate
SELECT eventlog.append('app', 'acme', 'x', '{}', metadata => '"trace"');
:sqlstate
CREATE TABLE not_a_log (id int);
SELECT eventlog.append('not_a_log', 'acme', 'x', '{}');
:sqlstate
DROP TABLE not_a_log;
SET ROLE regress_eventlog_reader;
SELECT eventlog.append('app', 'acme', 'x', '{}');
:sqlstate
RESET ROLE;
-- None of them wrote anything.
SELECT count(*) AS events, count(*) FILTER (WHERE event_type = 'x') AS bad_events FROM app;

SELECT eventlog.drop_log('app');
