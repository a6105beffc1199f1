-- rls: row-level security by tenant. A reader that sets eventlog.tenant sees
-- only that tenant, through SELECT and through every read function; a writer
-- that sets it may only write that tenant, through every write path.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'

SELECT eventlog.create_log('sec', '1 day', 2, NULL, 1);
SELECT eventlog.ingest('sec', '[
 {"event_id": "00000000-0000-4000-8000-0000000000a1", "tenant_id": "acme", "event_type": "user.login", "subject": "alice", "payload": {"n": 1}},
 {"event_id": "00000000-0000-4000-8000-0000000000a2", "tenant_id": "acme", "event_type": "user.login", "subject": "alice", "payload": {"n": 2}},
 {"event_id": "00000000-0000-4000-8000-0000000000a3", "tenant_id": "acme", "event_type": "user.logout", "subject": "bob", "payload": {"n": 3}},
 {"event_id": "00000000-0000-4000-8000-0000000000b1", "tenant_id": "globex", "event_type": "user.login", "subject": "alice", "payload": {"n": 4}},
 {"event_id": "00000000-0000-4000-8000-0000000000b2", "tenant_id": "globex", "event_type": "user.login", "subject": "hank", "payload": {"n": 5}}]') AS written;

-- A reader (a LOGIN role in eventlog_reader).
\c - regress_eventlog_reader
SET timezone = 'UTC';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user;
-- Without eventlog.tenant: every tenant.
SELECT tenant_id, count(*) FROM sec GROUP BY 1 ORDER BY 1;
-- Bound to acme: only acme, through SELECT ...
SET eventlog.tenant = 'acme';
SELECT tenant_id, count(*) FROM sec GROUP BY 1 ORDER BY 1;
SELECT count(*) AS globex_rows FROM sec WHERE tenant_id = 'globex';
-- (Partitions are not granted to readers: the log is the way in.)
SELECT count(*) FROM sec_b0;
:sqlstate
-- ... and through events(), get_event() and history().
SELECT event_id, payload FROM eventlog.events('sec', 'acme', '-infinity', 'infinity');
SELECT count(*) AS globex_events FROM eventlog.events('sec', 'globex', '-infinity', 'infinity');
SELECT count(*) AS globex_event FROM eventlog.get_event('sec', '00000000-0000-4000-8000-0000000000b1');
SELECT event_id FROM eventlog.get_event('sec', '00000000-0000-4000-8000-0000000000a3');
SELECT event_id FROM eventlog.history('sec', 'acme', 'alice');
SELECT count(*) AS globex_alice FROM eventlog.history('sec', 'globex', 'alice');
-- Bound to globex: only globex.
SET eventlog.tenant = 'globex';
SELECT tenant_id, count(*) FROM sec GROUP BY 1 ORDER BY 1;
SELECT event_id, payload FROM eventlog.events('sec', 'globex', '-infinity', 'infinity');
SELECT count(*) AS acme_events FROM eventlog.events('sec', 'acme', '-infinity', 'infinity');
SELECT count(*) AS acme_event FROM eventlog.get_event('sec', '00000000-0000-4000-8000-0000000000a1');
-- A tenant with no events sees nothing.
SET eventlog.tenant = 'initech';
SELECT count(*) AS rows FROM sec;
-- Clearing the setting is seeing every tenant again: eventlog.tenant is the
-- application's declaration, not a boundary against the session itself.
RESET eventlog.tenant;
SELECT count(*) AS rows FROM sec;
-- A reader writes nothing and runs no admin function, bound or not.
SET eventlog.tenant = 'acme';
INSERT INTO sec (tenant_id, event_type, payload) VALUES ('acme', 'x', '{}');
:sqlstate
UPDATE sec SET subject = 'x';
:sqlstate
DELETE FROM sec;
:sqlstate
SELECT eventlog.append('sec', 'acme', 'x', '{}');
:sqlstate
SELECT eventlog.ingest('sec', '[]');
:sqlstate
SELECT eventlog.copy_in('sec', '\x', 'text');
:sqlstate
SELECT eventlog.create_log('reader_log');
:sqlstate
SELECT eventlog.drop_log('sec');
:sqlstate
SELECT eventlog.run_maintenance('sec');
:sqlstate
SELECT eventlog.set_retention('sec', '1 day');
:sqlstate
SELECT eventlog.set_dedup_window('sec', '1 hour');
:sqlstate

-- A writer (a LOGIN role in eventlog_writer) bound to acme.
\c - regress_eventlog_writer
SET timezone = 'UTC';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
SET eventlog.tenant = 'acme';
-- Its own tenant, through every path.
SELECT eventlog.ingest('sec', '[{"event_id": "00000000-0000-4000-8000-0000000000a4", "tenant_id": "acme", "event_type": "w.ingest", "payload": {}}]') AS written;
SELECT eventlog.append('sec', 'acme', 'w.append', '{}', event_id => '00000000-0000-4000-8000-0000000000a5');
SELECT eventlog.copy_in('sec', convert_to(E'{"event_id": "00000000-0000-4000-8000-0000000000a6", "tenant_id": "acme", "event_type": "w.ndjson", "payload": {}}\n', 'UTF8'), 'ndjson') AS copied;
SELECT eventlog.copy_in('sec', convert_to(E'event_id,tenant_id,event_type,payload\n00000000-0000-4000-8000-0000000000a7,acme,w.csv,{}\n', 'UTF8'), 'csv') AS copied;
INSERT INTO sec (event_id, tenant_id, event_type, payload) VALUES ('00000000-0000-4000-8000-0000000000a8', 'acme', 'w.insert', '{}');
-- Another tenant, through every path: refused, nothing written.
SELECT eventlog.ingest('sec', '[{"tenant_id": "globex", "event_type": "w.ingest", "payload": {}}]');
:sqlstate
SELECT eventlog.ingest('sec', '[{"tenant_id": "acme", "event_type": "w.ingest", "payload": {}},
								{"tenant_id": "globex", "event_type": "w.ingest", "payload": {}}]');
:sqlstate
SELECT eventlog.append('sec', 'globex', 'w.append', '{}');
:sqlstate
INSERT INTO sec (tenant_id, event_type, payload) VALUES ('globex', 'w.insert', '{}');
:sqlstate
-- copy_in runs COPY as the log's owner, which row-level security does not
-- bind: the tenant check must hold there too, in every format.
SELECT regress.outcome($$SELECT eventlog.copy_in('sec', convert_to(E'{"tenant_id": "globex", "event_type": "w.ndjson", "payload": {}}\n', 'UTF8'), 'ndjson')$$) ~ '^42501' AS ndjson_refused;
SELECT regress.outcome($$SELECT eventlog.copy_in('sec', convert_to(E'tenant_id,event_type,payload\nglobex,w.csv,{}\n', 'UTF8'), 'csv')$$) ~ '^42501' AS csv_refused;
SELECT regress.outcome($$SELECT eventlog.copy_in('sec', convert_to(E'00000000-0000-4000-8000-0000000000b9\tglobex\tw.text\t\\N\t\\N\t2024-01-01 00:00:00+00\t1\t{}\t\\N\n', 'UTF8'), 'text')$$) ~ '^42501' AS text_refused;
SELECT regress.outcome(format('SELECT eventlog.copy_in(%L, %L::bytea, %L)', 'sec', regress.copy_binary(ARRAY[
	ROW('00000000-0000-4000-8000-0000000000ba', 'globex', 'w.binary', NULL, NULL, '2024-01-01 00:00:00+00', 1, '{}', NULL)::eventlog.event]),
	'binary')) ~ '^42501' AS binary_refused;
-- ndjson is validated like ingest(): received_at is eventlog_admin's.
SELECT regress.outcome($$SELECT eventlog.copy_in('sec', convert_to(E'{"tenant_id": "acme", "event_type": "w.ndjson", "payload": {}, "received_at": "2024-01-01 00:00:00+00"}\n', 'UTF8'), 'ndjson')$$) ~ '^42501' AS ndjson_received_at_refused;
-- A writer reads nothing.
SELECT count(*) FROM sec;
:sqlstate
SELECT count(*) FROM eventlog.events('sec', 'acme', '-infinity', 'infinity');
:sqlstate
-- Unbound, a writer may write any tenant.
RESET eventlog.tenant;
SELECT eventlog.append('sec', 'globex', 'w.unbound', '{}', event_id => '00000000-0000-4000-8000-0000000000b3');

\c - postgres
SET timezone = 'UTC';
-- What the writer stored: acme's five, and globex's one from the unbound session.
SELECT tenant_id, event_type, count(*) FROM sec WHERE event_type LIKE 'w.%' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS historic_rows FROM sec WHERE received_at < '2025-01-01';

-- eventlog_admin is not bound by eventlog.tenant (it owns the logs).
SET ROLE regress_eventlog_admin;
SET eventlog.tenant = 'acme';
SELECT tenant_id, count(*) FROM sec GROUP BY 1 ORDER BY 1;
SELECT eventlog.append('sec', 'globex', 'admin.append', '{}', event_id => '00000000-0000-4000-8000-0000000000b4');
RESET eventlog.tenant;
RESET ROLE;

SELECT eventlog.drop_log('sec');
