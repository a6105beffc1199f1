-- ingest: a JSON array of envelopes in one call; dedup by event_id (per
-- tenant, inside the log's dedup window, and inside the batch); received_at
-- for bulk loads of history by eventlog_admin; every bad input, and a failing
-- batch writes nothing.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'

SELECT eventlog.create_log('ing', '1 day', 2, NULL, 1);

-- Every field, then only the required ones.
BEGIN;
SELECT eventlog.ingest('ing', '[
 {"event_id": "00000000-0000-4000-8000-000000000001", "tenant_id": "acme", "event_type": "user.login",
  "subject": "alice", "occurred_at": "2024-05-01T08:00:00.5Z", "schema_version": 2,
  "payload": {"ip": "10.0.0.1", "big": 12345678901234567890, "nested": {"a": [1, null, "x"]}},
  "metadata": {"trace_id": "t-1"}},
 {"tenant_id": "acme", "event_type": "user.logout", "payload": [1, 2, 3]}]') AS written;
-- Defaults: a UUIDv7 event_id, received_at = the transaction's time, schema_version 1.
SELECT event_id = '00000000-0000-4000-8000-000000000001' AS fixed_id, tenant_id, event_type, subject, occurred_at,
	   received_at = now() AS received_now, schema_version, payload, metadata,
	   substr(event_id::text, 15, 1) AS id_version
  FROM ing ORDER BY event_type;
COMMIT;

-- Dedup: the same event_ids again write nothing; a new one in the batch is written.
SELECT eventlog.ingest('ing', '[{"event_id": "00000000-0000-4000-8000-000000000001", "tenant_id": "acme",
								  "event_type": "user.login", "payload": {"again": true}}]') AS written;
SELECT eventlog.ingest('ing', '[
 {"event_id": "00000000-0000-4000-8000-000000000001", "tenant_id": "acme", "event_type": "user.login", "payload": {}},
 {"event_id": "00000000-0000-4000-8000-000000000002", "tenant_id": "acme", "event_type": "user.login", "payload": {"n": 2}}]') AS written;
-- A repeat inside one batch: the first one wins.
SELECT eventlog.ingest('ing', '[
 {"event_id": "00000000-0000-4000-8000-000000000003", "tenant_id": "acme", "event_type": "x.first", "payload": {"n": 1}},
 {"event_id": "00000000-0000-4000-8000-000000000003", "tenant_id": "acme", "event_type": "x.second", "payload": {"n": 2}}]') AS written;
SELECT event_id, event_type, payload FROM ing WHERE event_id = '00000000-0000-4000-8000-000000000003';
-- Dedup is per tenant: another tenant's event with the same id is its own.
SELECT eventlog.ingest('ing', '[{"event_id": "00000000-0000-4000-8000-000000000002", "tenant_id": "globex",
								  "event_type": "user.login", "payload": {}}]') AS written;
SELECT count(*) AS events, count(DISTINCT event_id) AS ids FROM ing;
-- The limits themselves are accepted: 128-byte tenant, 200-byte type, 1024-byte subject.
SELECT eventlog.ingest('ing', jsonb_build_array(jsonb_build_object(
		 'tenant_id', repeat('t', 128), 'event_type', repeat('é', 100), 'subject', repeat('s', 1024), 'payload', '{}'::jsonb))) AS written;
SELECT octet_length(tenant_id) AS tenant_bytes, octet_length(event_type) AS type_bytes, octet_length(subject) AS subject_bytes
  FROM ing WHERE tenant_id = repeat('t', 128);
-- An empty array writes nothing.
SELECT eventlog.ingest('ing', '[]') AS written;

-- History: eventlog_admin may set received_at; the partitions for those
-- days are made on demand and no row stays in a default partition.
SELECT eventlog.ingest('ing', '[
 {"event_id": "00000000-0000-4000-8000-000000000101", "tenant_id": "acme", "event_type": "old.event", "payload": {"n": 1},
  "received_at": "2024-05-01 08:00:00+00"},
 {"event_id": "00000000-0000-4000-8000-000000000102", "tenant_id": "globex", "event_type": "old.event", "payload": {"n": 2},
  "received_at": "2024-05-03 09:30:00+00"},
 {"event_id": "00000000-0000-4000-8000-000000000103", "tenant_id": "acme", "event_type": "old.event", "payload": {"n": 3},
  "received_at": "2024-05-03 23:59:59.999999+00"}]') AS written;
SELECT partition, bucket, range_from, range_to, rows
  FROM eventlog.partitions('ing') WHERE range_from < '2025-01-01' ORDER BY partition::text;
SELECT sum(rows) AS rows_in_defaults FROM eventlog.partitions('ing') WHERE is_default;
SELECT event_id, tenant_id, received_at, tableoid::regclass AS stored_in
  FROM ing WHERE event_type = 'old.event' ORDER BY event_id;
-- ... also for a member of eventlog_admin that is not a superuser.
SET ROLE regress_eventlog_admin;
SELECT eventlog.ingest('ing', '[{"event_id": "00000000-0000-4000-8000-000000000104", "tenant_id": "globex",
								  "event_type": "old.event", "payload": {"n": 4}, "received_at": "2024-05-03 10:00:00+00"}]') AS written;
RESET ROLE;
SELECT event_id, received_at, tableoid::regclass AS stored_in FROM ing WHERE event_id = '00000000-0000-4000-8000-000000000104';
SELECT sum(rows) AS rows_in_defaults FROM eventlog.partitions('ing') WHERE is_default;

-- Bad input. Each error names the event's position and the field; the
-- batch of three below has two good events before the bad one.
CREATE TEMP TABLE before_errors AS SELECT count(*) AS n FROM ing;
SELECT eventlog.ingest('ing', '[
 {"event_id": "00000000-0000-4000-8000-000000000201", "tenant_id": "acme", "event_type": "ok", "payload": {}},
 {"event_id": "00000000-0000-4000-8000-000000000202", "tenant_id": "acme", "event_type": "ok", "payload": {}},
 {"event_id": "00000000-0000-4000-8000-000000000203", "event_type": "no.tenant", "payload": {}}]');
:sqlstate
-- tenant_id
SELECT eventlog.ingest('ing', '[{"tenant_id": "", "event_type": "x", "payload": {}}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": null, "event_type": "x", "payload": {}}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": 42, "event_type": "x", "payload": {}}]');
:sqlstate
SELECT eventlog.ingest('ing', jsonb_build_array(jsonb_build_object('tenant_id', repeat('t', 129), 'event_type', 'x', 'payload', '{}'::jsonb)));
:sqlstate
-- event_type
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "payload": {}}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "", "payload": {}}]');
:sqlstate
SELECT eventlog.ingest('ing', jsonb_build_array(jsonb_build_object('tenant_id', 'acme', 'event_type', repeat('e', 201), 'payload', '{}'::jsonb)));
:sqlstate
-- payload
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x"}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": null}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": 1}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": "a string"}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": true}]');
:sqlstate
-- subject, metadata, schema_version
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}, "subject": ""}]');
:sqlstate
SELECT eventlog.ingest('ing', jsonb_build_array(jsonb_build_object('tenant_id', 'acme', 'event_type', 'x', 'payload', '{}'::jsonb, 'subject', repeat('s', 1025))));
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}, "metadata": ["not", "an", "object"]}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}, "schema_version": 0}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}, "schema_version": 1.5}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}, "schema_version": "2"}]');
:sqlstate
-- an unknown top-level field is an error, not dropped
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}, "colour": "red"}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}, "Payload": {}}]');
:sqlstate
-- event_id
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}, "event_id": "not-a-uuid"}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}, "event_id": "00000000-0000-4000-8000-00000000001"}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}, "event_id": 7}]');
:sqlstate
-- timestamps
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}, "occurred_at": "yesterday-ish"}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}, "occurred_at": 1714550400}]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}, "received_at": "2024-13-01"}]');
:sqlstate
-- not an array, not objects
SELECT eventlog.ingest('ing', '{"tenant_id": "acme", "event_type": "x", "payload": {}}');
:sqlstate
SELECT eventlog.ingest('ing', '"events"');
:sqlstate
SELECT eventlog.ingest('ing', '[1]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}}, [{"tenant_id": "acme"}]]');
:sqlstate
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}}, null]');
:sqlstate
-- \u0000: PostgreSQL's jsonb refuses it before ingest runs; invalid UTF-8
-- cannot reach a jsonb value at all (see copy_in's ndjson for raw bytes).
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {"s": "a\u0000b"}}]');
:sqlstate
-- NULLs, not a log, too many events
SELECT eventlog.ingest('ing', NULL);
:sqlstate
SELECT eventlog.ingest(NULL, '[]');
:sqlstate
CREATE TABLE not_a_log (id int);
SELECT eventlog.ingest('not_a_log', '[{"tenant_id": "acme", "event_type": "x", "payload": {}}]');
:sqlstate
DROP TABLE not_a_log;
SET eventlog.max_batch_events = 2;
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}},
								{"tenant_id": "acme", "event_type": "x", "payload": {}},
								{"tenant_id": "acme", "event_type": "x", "payload": {}}]');
:sqlstate
RESET eventlog.max_batch_events;
-- received_at by a writer that is not eventlog_admin
SET ROLE regress_eventlog_writer;
SELECT eventlog.ingest('ing', '[{"tenant_id": "acme", "event_type": "x", "payload": {}},
								{"tenant_id": "acme", "event_type": "x", "payload": {}, "received_at": "2024-05-01 08:00:00+00"}]');
:sqlstate
-- ... which writes without it.
SELECT eventlog.ingest('ing', '[{"event_id": "00000000-0000-4000-8000-000000000301", "tenant_id": "acme",
								  "event_type": "by.writer", "payload": {}}]') AS written;
RESET ROLE;

-- Nothing of any failing batch was written (the one row added is the writer's).
SELECT (SELECT count(*) FROM ing) - n AS rows_added_since_errors FROM before_errors;
SELECT count(*) AS failed_batch_rows FROM ing
 WHERE event_id IN ('00000000-0000-4000-8000-000000000201', '00000000-0000-4000-8000-000000000202',
					'00000000-0000-4000-8000-000000000203');
SELECT count(*) AS rows_with_bad_values FROM ing WHERE event_type IN ('x', 'no.tenant');

SELECT eventlog.drop_log('ing');
