-- forget: forget() and forget_tenant() append a tombstone, hide the events from
-- events(), get_event() and history() at once, redact payload and metadata in
-- every partition (in batches, the rest by run_maintenance()), stay idempotent,
-- hide and redact late arrivals; then each documented error.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'

SELECT eventlog.create_log('fgt', '1 day', 2, NULL, 1);
-- 30 events over three days (each day its own partition per bucket, made by
-- maintenance for the history load), subjects alice, bob and carol of acme,
-- and dave of globex; metadata holds an ip address.
SELECT eventlog.ingest('fgt', jsonb_agg(jsonb_build_object(
		'event_id', format('00000000-0000-4000-8000-%s', lpad(i::text, 12, '0')),
		'tenant_id', CASE WHEN i % 4 = 3 THEN 'globex' ELSE 'acme' END,
		'event_type', 'profile.updated',
		'subject', CASE i % 4 WHEN 0 THEN 'alice' WHEN 1 THEN 'bob' WHEN 2 THEN 'carol' ELSE 'dave' END,
		'payload', jsonb_build_object('email', 'person' || (i % 4) || '@example.com', 'i', i),
		'metadata', jsonb_build_object('ip', '10.0.0.' || i),
		'received_at', timestamptz '2024-03-01 00:00:00+00' + i * interval '2 hours 20 minutes') ORDER BY i)) AS written
  FROM generate_series(1, 30) i;
SELECT count(DISTINCT tableoid) AS leaves_with_alice FROM fgt WHERE subject = 'alice';

-- forget(): the count of events erased; alice's events are gone from the read
-- functions at once, her tombstone is there, other subjects are untouched.
SET eventlog.redact_batch = 3;
SELECT eventlog.forget('fgt', 'acme', 'alice', 'GDPR art. 17 request #1') AS erased;
SELECT event_type, subject, payload - 'session_user' AS payload
  FROM eventlog.history('fgt', 'acme', 'alice');
SELECT count(*) AS alice_in_events
  FROM eventlog.events('fgt', 'acme', '2024-03-01', '2024-03-05', subject => 'alice')
 WHERE event_type <> 'eventlog.forgotten';
SELECT count(*) AS acme_events, count(*) FILTER (WHERE subject = 'bob') AS bob
  FROM eventlog.events('fgt', 'acme', '2024-03-01', '2024-03-05');
SELECT count(*) AS get_event_of_alice FROM eventlog.get_event('fgt', '00000000-0000-4000-8000-000000000004');
SELECT subject, payload->>'email' AS email FROM eventlog.get_event('fgt', '00000000-0000-4000-8000-000000000005');
-- The request as recorded, and the tombstone as stored.
SELECT log, tenant_id, subject, reason, requested_by, events_erased, redacted, redacted_at IS NULL AS pending
  FROM eventlog.forgotten;
SELECT f.tombstone_id = e.event_id AS tombstone_is_an_event, e.event_type, e.subject,
	   e.payload->>'requested_by' AS requested_by, e.payload->>'events_erased' AS events_erased
  FROM eventlog.forgotten f JOIN fgt e ON e.event_id = f.tombstone_id;

-- Redaction in batches: 3 rows redacted by forget() itself, then 3 a run.
SELECT count(*) FILTER (WHERE payload ? 'email') AS alice_unredacted,
	   count(*) FILTER (WHERE payload ? 'redacted' AND metadata IS NULL) AS alice_redacted
  FROM fgt WHERE tenant_id = 'acme' AND subject = 'alice' AND event_type <> 'eventlog.forgotten';
SELECT count(*) FROM eventlog.run_maintenance('fgt');
SELECT details FROM eventlog.maintenance_runs WHERE log = 'fgt'::regclass ORDER BY id DESC LIMIT 1;
SELECT count(*) FROM eventlog.run_maintenance('fgt');
SELECT details FROM eventlog.maintenance_runs WHERE log = 'fgt'::regclass ORDER BY id DESC LIMIT 1;
SELECT count(*) FILTER (WHERE payload ? 'email') AS alice_unredacted,
	   count(*) FILTER (WHERE payload = eventlog._redacted_payload(
		   (SELECT tombstone_id FROM eventlog.forgotten WHERE subject = 'alice'))) AS alice_redacted
  FROM fgt WHERE tenant_id = 'acme' AND subject = 'alice' AND event_type <> 'eventlog.forgotten';
SELECT redacted, redacted_at IS NOT NULL AS complete FROM eventlog.forgotten WHERE subject = 'alice';
-- Envelopes stay: ids, times and types of the erased events are intact.
SELECT count(*) AS alice_rows, min(received_at) AS first, max(received_at) AS last
  FROM fgt WHERE subject = 'alice' AND event_type = 'profile.updated';
RESET eventlog.redact_batch;

-- Idempotent: a second request erases nothing and appends no second tombstone.
SELECT eventlog.forget('fgt', 'acme', 'alice', 'again') AS erased_again;
SELECT count(*) AS tombstones FROM fgt WHERE event_type = 'eventlog.forgotten';

-- A late arrival for a forgotten subject is hidden at once and redacted by
-- the next maintenance run.
SELECT eventlog.append('fgt', 'acme', 'profile.updated', '{"email": "alice@new.example"}', 'alice',
					   event_id => '00000000-0000-4000-8000-000000000999') IS NOT NULL AS appended;
SELECT count(*) AS late_visible FROM eventlog.get_event('fgt', '00000000-0000-4000-8000-000000000999');
SELECT count(*) FROM eventlog.run_maintenance('fgt');
SELECT payload ? 'email' AS late_still_has_email, metadata FROM fgt
 WHERE event_id = '00000000-0000-4000-8000-000000000999';

-- forget_tenant(): every event of globex, hidden and redacted; its tombstone
-- is the only thing events() returns for it.
SELECT eventlog.forget_tenant('fgt', 'globex', 'tenant closed its account') AS erased;
SELECT event_type, subject, payload->>'scope' AS scope, payload->>'events_erased' AS events_erased
  FROM eventlog.events('fgt', 'globex', '-infinity', 'infinity');
SELECT count(*) AS dave_in_history FROM eventlog.history('fgt', 'globex', 'dave');
SELECT count(*) FILTER (WHERE payload ? 'email' OR metadata IS NOT NULL) AS globex_unredacted
  FROM fgt WHERE tenant_id = 'globex' AND event_type <> 'eventlog.forgotten';
SELECT eventlog.forget('fgt', 'globex', 'dave', 'after the tenant') AS erased_after_tenant;

-- The append-only rule still refuses everyone else, a superuser too.
UPDATE fgt SET payload = '{}' WHERE subject = 'bob';
:sqlstate
DELETE FROM fgt WHERE subject = 'bob';
:sqlstate

-- Errors.
SELECT eventlog.forget('fgt', 'acme', NULL, 'x');
:sqlstate
SELECT eventlog.forget('fgt', 'acme', 'bob', NULL);
:sqlstate
SELECT eventlog.forget('fgt', 'acme', 'bob', '   ');
:sqlstate
SELECT eventlog.forget('fgt', repeat('t', 129), 'bob', 'too long');
:sqlstate
SELECT eventlog.forget('pg_class', 'acme', 'bob', 'not a log');
:sqlstate
SELECT eventlog.forget_tenant('fgt', NULL, 'x');
:sqlstate
SELECT eventlog.create_stream_log('fgt_stream') IS NOT NULL AS stream_created;
SELECT eventlog.forget('fgt_stream', 'acme', 'bob', 'streams');
:sqlstate
-- Writers and readers may not forget; nor read the register of requests.
SET ROLE regress_eventlog_writer;
SELECT eventlog.forget('fgt', 'acme', 'bob', 'writer');
:sqlstate
SET ROLE regress_eventlog_reader;
SELECT eventlog.forget_tenant('fgt', 'acme', 'reader');
:sqlstate
SELECT count(*) FROM eventlog.forgotten;
:sqlstate
-- A reader still sees bob, and only alice's tombstone of alice.
SELECT count(*) FILTER (WHERE subject = 'bob') AS bob,
	   count(*) FILTER (WHERE subject = 'alice') AS alice
  FROM eventlog.events('fgt', 'acme', '2024-03-01', 'infinity');
RESET ROLE;
SELECT eventlog.drop_log('fgt_stream');
SELECT eventlog.drop_log('fgt');
SELECT count(*) AS requests_left FROM eventlog.forgotten;
