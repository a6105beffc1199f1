-- abuse (issue 7): an unprivileged writer tries to change history through every
-- path a role might think of, to hijack the SECURITY DEFINER functions through
-- its search_path, and to inject SQL through log names, tenant ids, event types
-- and subjects. Every attempt is refused (the SQLSTATE is shown) or harmless
-- (the text is stored as data), and nothing stored changes. UPDATE, DELETE,
-- TRUNCATE, MERGE, DROP and DETACH by superuser and owner are in append_only.sql;
-- tenant isolation (RLS) is in rls.sql.
SET timezone = 'UTC';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
SELECT eventlog.create_log('abuse_log', '1 day', 2, NULL, 1);
-- (received_at in the past: partitions of fixed names, made on demand)
SELECT eventlog.ingest('abuse_log', '[
 {"event_id": "00000000-0000-4000-8000-00000000ab01", "tenant_id": "acme", "event_type": "t", "subject": "alice", "payload": {"n": 1}, "received_at": "2024-02-01T10:00:00Z"},
 {"event_id": "00000000-0000-4000-8000-00000000ab02", "tenant_id": "globex", "event_type": "t", "subject": "bob", "payload": {"n": 2}, "received_at": "2024-02-01T11:00:00Z"}]') AS written;
CREATE TABLE abuse_before AS SELECT * FROM abuse_log;
-- one leaf partition, to aim at
SELECT relid::regclass AS leaf FROM pg_partition_tree('abuse_log') t
 WHERE t.isleaf AND EXISTS (SELECT FROM abuse_log WHERE tableoid = t.relid AND tenant_id = 'acme') \gset
CREATE SCHEMA hijack;
GRANT CREATE, USAGE ON SCHEMA hijack TO regress_eventlog_writer;

\c - regress_eventlog_writer
SET timezone = 'UTC';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
-- 1. Changing history, as a writer (INSERT only), on the log and on a leaf.
UPDATE abuse_log SET payload = '{}';
:sqlstate
DELETE FROM abuse_log;
:sqlstate
TRUNCATE abuse_log;
:sqlstate
MERGE INTO abuse_log t USING (SELECT 1) s ON true WHEN MATCHED THEN DELETE;
:sqlstate
UPDATE :leaf SET payload = '{}';
:sqlstate
TRUNCATE :leaf;
:sqlstate
ALTER TABLE abuse_log DETACH PARTITION abuse_log_b0;
:sqlstate
DROP TABLE :leaf;
:sqlstate
ALTER TABLE abuse_log DISABLE TRIGGER ALL;
:sqlstate
-- COPY FREEZE tricks (rows that would skip visibility checks): refused on the
-- log, and the TRUNCATE that FREEZE needs first is refused on a leaf.
-- (\copy from /dev/null: COPY ... FROM STDIN with no rows.)
\copy abuse_log (tenant_id, event_type, payload) FROM '/dev/null' WITH (FREEZE)
:sqlstate
BEGIN;
TRUNCATE :leaf;
:sqlstate
ROLLBACK;
COPY abuse_log (tenant_id, event_type, payload) FROM PROGRAM 'true';
:sqlstate
-- The writer's own table cannot become a partition of a log either.
CREATE TABLE hijack.fake (x int);
ALTER TABLE abuse_log ATTACH PARTITION hijack.fake FOR VALUES WITH (MODULUS 2, REMAINDER 0);
:sqlstate
DROP TABLE hijack.fake;

-- 2. search_path hijacking: objects that shadow what the SECURITY DEFINER
-- functions use (a temp schema first, then a schema of the writer's own, then
-- pg_catalog), each of which would fail loudly if it ever ran.
CREATE FUNCTION hijack.raise_hijacked() RETURNS boolean LANGUAGE plpgsql AS
  $$BEGIN RAISE EXCEPTION 'hijacked: % ran as %', 'shadow object', current_user; END$$;
CREATE FUNCTION hijack.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql AS $$SELECT hijack.raise_hijacked()::text$$;
CREATE FUNCTION hijack.format(text, VARIADIC text[]) RETURNS text LANGUAGE sql AS $$SELECT hijack.raise_hijacked()::text$$;
CREATE FUNCTION hijack.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT CASE WHEN hijack.raise_hijacked() THEN now() END$$;
CREATE FUNCTION hijack.text_eq(text, text) RETURNS boolean LANGUAGE sql AS $$SELECT hijack.raise_hijacked()$$;
CREATE OPERATOR hijack.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hijack.text_eq);
CREATE TABLE hijack.logs (log regclass, name text);
CREATE TEMP TABLE log_config (x int);
CREATE TEMP TABLE ingest_ledger (x int);
CREATE TEMP VIEW pg_class AS SELECT 1 AS oid;
SET search_path = pg_temp, hijack, pg_catalog, public;
-- the shadows are live for the writer's own statements ...
SELECT now() IS NOT NULL AS shadowed;
SELECT 'a'::text = 'b'::text AS shadowed;
-- ... but each eventlog call works as usual, and no shadow object runs in it
SELECT eventlog.append('abuse_log', 'acme', 'after.hijack', '{"n": 3}', event_id => '00000000-0000-4000-8000-00000000ab03');
SELECT eventlog.ingest('abuse_log', '[{"event_id": "00000000-0000-4000-8000-00000000ab04", "tenant_id": "acme", "event_type": "after.hijack", "payload": {"n": 4}}]') AS written;
SELECT eventlog.copy_in('abuse_log', convert_to('{"event_id": "00000000-0000-4000-8000-00000000ab05", "tenant_id": "acme", "event_type": "after.hijack", "payload": {"n": 5}}' || E'\n', 'UTF8'), 'ndjson') AS copied;
RESET search_path;

-- 3. SQL injection through log names (refused as names), and through tenant
-- ids, event types and subjects (stored as the very text that was sent).
SELECT eventlog.append('abuse_log; DROP TABLE abuse_log; --', 'acme', 't', '{}');
:sqlstate
SELECT eventlog.append('abuse_log"; DROP TABLE abuse_log; --', 'acme', 't', '{}');
:sqlstate
SELECT eventlog.ingest('abuse_log WHERE false; DROP TABLE abuse_log', '[]');
:sqlstate
SELECT eventlog.append('abuse_log', $$acme'); DROP TABLE abuse_log; --$$, $$t' || pg_sleep(5) || '$$, '{}',
	subject => $$x"; DELETE FROM abuse_log; --\$$, event_id => '00000000-0000-4000-8000-00000000ab06');

\c - regress_eventlog_reader
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
-- A reader cannot write, and its read functions take injection text as data.
SELECT eventlog.append('abuse_log', 'acme', 't', '{}');
:sqlstate
SELECT count(*) AS rows_for_injected_tenant FROM eventlog.events('abuse_log', $$acme' OR '1'='1$$, '-infinity', 'infinity');
SELECT count(*) AS rows_for_injected_type FROM eventlog.events('abuse_log', 'acme', '-infinity', 'infinity', event_type => $$t' OR true --$$);
SELECT count(*) AS rows_for_injected_subject FROM eventlog.history('abuse_log', 'acme', $$alice' OR subject IS NOT NULL --$$);
SELECT count(*) FROM eventlog.events('abuse_log''; SELECT 1; --', 'acme', '-infinity', 'infinity');
:sqlstate

\c - postgres
-- Nothing stored before changed, and only the accepted appends were added.
SELECT count(*) AS changed_or_missing FROM abuse_before b
 WHERE NOT EXISTS (SELECT FROM abuse_log a WHERE a.event_id = b.event_id AND a.payload = b.payload
					 AND a.tenant_id = b.tenant_id AND a.subject IS NOT DISTINCT FROM b.subject);
SELECT event_id, tenant_id, event_type, subject, payload FROM abuse_log ORDER BY event_id;
DROP TABLE abuse_before;
SET client_min_messages = warning;
DROP SCHEMA hijack CASCADE;
RESET client_min_messages;
SELECT eventlog.drop_log('abuse_log');
